"""HTTP routes of loans and repayments: /api/v1/loans/...

The gateway checks the shape of bodies and query strings. It rejects unknown
fields, such as owner_id, status or balance, with a 422 naming them. The
loans and repayments services check the values. Amounts travel as strings
in both directions.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

import marshmallow
from marshmallow import fields

from loansyncro.errors import NotFound
from loansyncro.service_kit import rpc_proxy
from services.gateway import response_schemas as out
from services.gateway.http import Reply, RequestContext, route

log = logging.getLogger(__name__)

TIME_ZONE_CACHE_SECONDS = 60.0
TIME_ZONE_CACHE_SIZE = 10_000
# User id -> (IANA time zone or None, monotonic expiry). One dict per gateway process.
_time_zones: dict[str, tuple[str | None, float]] = {}


LOAN_TYPE_DESCRIPTION = "mortgage, auto (car loans), student, personal, business, credit_line or other (default)"


class LoanInput(marshmallow.Schema):
    name = fields.String(required=True)
    loan_type = fields.String(metadata={"description": LOAN_TYPE_DESCRIPTION})
    lender = fields.String(allow_none=True)
    currency = fields.String(required=True)
    principal = fields.String(required=True, metadata={"description": "Decimal string, such as '320000.00'"})
    annual_rate = fields.String(required=True, metadata={"description": "Nominal annual rate in percent, such as '6.5'"})
    day_count = fields.String(metadata={"description": "30/360 (default), actual/365, actual/360 or actual/actual"})
    method = fields.String(metadata={"description": "annuity (default), equal_principal, interest_only or zero_interest"})
    frequency = fields.String(metadata={"description": "monthly (default), weekly, biweekly, semi_monthly, quarterly, semi_annual, annual"})
    start_date = fields.String(required=True)
    first_payment_date = fields.String(allow_none=True)
    installments = fields.Integer(strict=True, allow_none=True)
    end_date = fields.String(allow_none=True)
    notes = fields.String(allow_none=True)


class LoanDetailsInput(marshmallow.Schema):
    name = fields.String()
    loan_type = fields.String(metadata={"description": LOAN_TYPE_DESCRIPTION})
    lender = fields.String(allow_none=True)
    notes = fields.String(allow_none=True)


class TermChangeInput(marshmallow.Schema):
    effective_date = fields.String(required=True)
    annual_rate = fields.String(allow_none=True)
    remaining_installments = fields.Integer(strict=True, allow_none=True)
    end_date = fields.String(allow_none=True)


class CloseInput(marshmallow.Schema):
    closed_on = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)


class LoanListQuery(marshmallow.Schema):
    status = fields.String(metadata={"description": "active (default), closed or all"})
    type = fields.String()
    lender = fields.String()
    sort = fields.String(metadata={"description": "created_at, name, start_date or principal; prefix '-' for descending"})
    limit = fields.String()
    offset = fields.String()


class RepaymentInput(marshmallow.Schema):
    amount = fields.String(required=True)
    currency = fields.String()
    paid_on = fields.String(required=True)
    method = fields.String(metadata={"description": "bank_transfer (default), card, cash, direct_debit or other"})
    reference = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    extra_mode = fields.String(metadata={"description": "What an extra payment does: shorten_term (default) or lower_installment"})


class ReverseInput(marshmallow.Schema):
    reason = fields.String(allow_none=True)


class RepaymentListQuery(marshmallow.Schema):
    limit = fields.String()
    offset = fields.String()
    include_reversed = fields.String()


class HistoryQuery(marshmallow.Schema):
    as_of = fields.String(metadata={"description": "Return the loan's state on this date instead of the event list"})
    position = fields.String(metadata={"description": "List only events up to this event-store position"})


def _plain(loaded: dict[str, Any] | None) -> dict[str, Any]:
    return dict(loaded or {})


class LoansApi:
    loans_rpc = rpc_proxy("loans")
    repayments_rpc = rpc_proxy("repayments")
    ledger_rpc = rpc_proxy("ledger")

    def user_time_zone(self, ctx: RequestContext) -> str | None:
        """Return the user's IANA time zone from their profile, cached per process; None means UTC.

        A changed time zone takes effect within TIME_ZONE_CACHE_SECONDS.
        """
        user_id = str(ctx.user_id)
        now = time.monotonic()
        cached = _time_zones.get(user_id)
        if cached is not None and cached[1] > now:
            return cached[0]
        try:
            profile = ctx.call(self.accounts_rpc.get_profile, user_id)  # type: ignore[attr-defined]
        except Exception as error:  # noqa: BLE001 - "today" in UTC is the documented fallback
            log.warning("time zone unavailable; using UTC", extra={"user_id": user_id, "error": repr(error)})
            return None
        zone = profile.get("time_zone") if isinstance(profile, dict) else None
        if len(_time_zones) >= TIME_ZONE_CACHE_SIZE:
            _time_zones.clear()
        _time_zones[user_id] = (zone, now + TIME_ZONE_CACHE_SECONDS)
        return zone

    def _wait_for_ledger(self, ctx: RequestContext, stream_id: str, version: int) -> None:
        """Let the ledger apply a write before the 201, so the user's next read shows it."""
        try:
            ctx.call(self.ledger_rpc.catch_up_streams, {stream_id: version})
        except Exception as error:  # noqa: BLE001 - the write succeeded; the ledger's catch-up applies it later
            log.warning("ledger did not apply the write before the reply", extra={"stream_id": stream_id, "error": repr(error)})

    @route("POST", "/api/v1/loans", body=LoanInput, response=out.Loan, status=201, summary="Create a loan", tag="loans")
    def create_loan(self, ctx: RequestContext) -> Reply:
        loan = ctx.call(self.loans_rpc.create_loan, ctx.user_id, _plain(ctx.body), ctx.command_id)
        self._wait_for_ledger(ctx, f"loan-{loan['id']}", loan["version"])
        return Reply(201, loan, {"Location": f"/api/v1/loans/{loan['id']}"})

    @route("GET", "/api/v1/loans", query=LoanListQuery, response=out.LoanPage, summary="List loans (filters, sort, pages)", tag="loans")
    def list_loans(self, ctx: RequestContext) -> Reply:
        return Reply(200, ctx.call(self.loans_rpc.list_loans, ctx.user_id, _plain(ctx.query)))

    @route("GET", "/api/v1/loans/<uuid:loan_id>", response=out.Loan, summary="Read a loan with its balance", tag="loans")
    def get_loan(self, ctx: RequestContext, loan_id: uuid.UUID) -> Reply:
        loan = ctx.call(self.loans_rpc.get_loan, ctx.user_id, str(loan_id))
        try:
            loan["balance"] = ctx.call(self.ledger_rpc.loan_summary, ctx.user_id, str(loan_id), self.user_time_zone(ctx))
        except NotFound:
            # The loans service has the loan but the ledger has not applied it yet.
            log.warning("loan not in the ledger yet; answering without balance", extra={"loan_id": str(loan_id)})
            loan["balance"] = None
        return Reply(200, loan)

    @route("PATCH", "/api/v1/loans/<uuid:loan_id>", body=LoanDetailsInput, response=out.Loan, summary="Change a loan's name, type, lender or notes", tag="loans")
    def change_loan_details(self, ctx: RequestContext, loan_id: uuid.UUID) -> Reply:
        return Reply(200, ctx.call(self.loans_rpc.change_details, ctx.user_id, str(loan_id), _plain(ctx.body)))

    @route("DELETE", "/api/v1/loans/<uuid:loan_id>", status=204, summary="Delete a loan from the user's views", tag="loans")
    def delete_loan(self, ctx: RequestContext, loan_id: uuid.UUID) -> Reply:
        ctx.call(self.loans_rpc.delete_loan, ctx.user_id, str(loan_id))
        return Reply(204, None)

    @route("POST", "/api/v1/loans/<uuid:loan_id>/terms", body=TermChangeInput, response=out.Loan, status=201, summary="Change the rate or term from a date", tag="loans")
    def change_loan_terms(self, ctx: RequestContext, loan_id: uuid.UUID) -> Reply:
        return Reply(201, ctx.call(self.loans_rpc.change_terms, ctx.user_id, str(loan_id), _plain(ctx.body), ctx.command_id))

    @route("POST", "/api/v1/loans/<uuid:loan_id>/close", body=CloseInput, response=out.Loan, summary="Close a loan", tag="loans")
    def close_loan(self, ctx: RequestContext, loan_id: uuid.UUID) -> Reply:
        return Reply(
            200, ctx.call(self.loans_rpc.close_loan, ctx.user_id, str(loan_id), _plain(ctx.body), self.user_time_zone(ctx))
        )

    @route("GET", "/api/v1/loans/<uuid:loan_id>/schedule", response=out.Schedule, summary="Installments with their status today", tag="loans")
    def loan_schedule(self, ctx: RequestContext, loan_id: uuid.UUID) -> Reply:
        return Reply(200, ctx.call(self.ledger_rpc.schedule, ctx.user_id, str(loan_id), self.user_time_zone(ctx)))

    @route("GET", "/api/v1/loans/<uuid:loan_id>/history", query=HistoryQuery, summary="Events of a loan with the balance after each", tag="loans")
    def loan_history(self, ctx: RequestContext, loan_id: uuid.UUID) -> Reply:
        return Reply(200, ctx.call(self.ledger_rpc.history, ctx.user_id, str(loan_id), _plain(ctx.query)))

    @route("POST", "/api/v1/loans/<uuid:loan_id>/repayments", body=RepaymentInput, response=out.Repayment, status=201, summary="Log a repayment", tag="repayments")
    def log_repayment(self, ctx: RequestContext, loan_id: uuid.UUID) -> Reply:
        repayment = ctx.call(
            self.repayments_rpc.log_repayment,
            ctx.user_id,
            str(loan_id),
            _plain(ctx.body),
            ctx.command_id,
            self.user_time_zone(ctx),
        )
        return Reply(201, repayment, {"Location": f"/api/v1/loans/{loan_id}/repayments/{repayment['id']}"})

    @route("GET", "/api/v1/loans/<uuid:loan_id>/repayments", query=RepaymentListQuery, response=out.RepaymentPage, summary="A loan's repayments, newest first", tag="repayments")
    def list_repayments(self, ctx: RequestContext, loan_id: uuid.UUID) -> Reply:
        return Reply(200, ctx.call(self.repayments_rpc.list_repayments, ctx.user_id, str(loan_id), _plain(ctx.query)))

    @route(
        "GET",
        "/api/v1/loans/<uuid:loan_id>/repayments/<uuid:repayment_id>",
        response=out.Repayment,
        summary="Read one repayment",
        tag="repayments",
    )
    def get_repayment(self, ctx: RequestContext, loan_id: uuid.UUID, repayment_id: uuid.UUID) -> Reply:
        return Reply(200, ctx.call(self.repayments_rpc.get_repayment, ctx.user_id, str(loan_id), str(repayment_id)))

    @route(
        "POST",
        "/api/v1/loans/<uuid:loan_id>/repayments/<uuid:repayment_id>/reverse",
        body=ReverseInput,
        response=out.Repayment,
        summary="Reverse a repayment logged by mistake",
        tag="repayments",
    )
    def reverse_repayment(self, ctx: RequestContext, loan_id: uuid.UUID, repayment_id: uuid.UUID) -> Reply:
        reason = _plain(ctx.body).get("reason")
        return Reply(200, ctx.call(self.repayments_rpc.reverse_repayment, ctx.user_id, str(loan_id), str(repayment_id), reason))

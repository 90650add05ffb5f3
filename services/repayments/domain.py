"""Repayment decisions: checks of a new payment against its loan, and reversals.

Pure code: the caller loads the loan (see `loansyncro.loan_stream.fold_loan`)
and the loan's repayments stream (`loansyncro.repayment_stream`), and passes
"today" in the user's time zone.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final

from loansyncro.command_input import parse_date
from loansyncro.errors import Conflict, NotFound, ValidationFailed
from loansyncro.loan_stream import LoanRecord, check_owned, term_changes_of, terms_of
from loansyncro.money import MoneyValidationError, exact_amount, format_amount
from loansyncro.repayment_stream import RepaymentLog
from loansyncro.schedule import LoanValidationError, Repayment, RepaymentExceedsPayoffError, loan_state

METHODS: Final = ("bank_transfer", "card", "cash", "direct_debit", "other")
EXTRA_MODES: Final = ("shorten_term", "lower_installment")
LOG_FIELDS: Final = frozenset({"amount", "currency", "paid_on", "method", "reference", "note", "extra_mode"})
SERVER_FIELDS: Final = frozenset({"id", "repayment_id", "loan_id", "owner_id", "user_id", "status", "reversed", "balance"})
MAX_TEXT_LENGTH: Final = 500


def check_loan_accepts_repayments(record: LoanRecord | None, user_id: uuid.UUID, loan_id: uuid.UUID) -> LoanRecord:
    """Unknown, deleted and other users' loans are NotFound; a closed loan is a 422 on loan_id."""
    checked = check_owned(record, user_id, loan_id)
    if checked.status == "closed":
        raise ValidationFailed(
            "loan_id",
            str(loan_id),
            f"loan {loan_id} was closed on {checked.closed_on}; repayments cannot be logged on a closed loan",
        )
    return checked


def _check_fields(payload: Mapping[str, Any]) -> None:
    if not isinstance(payload, Mapping):
        raise ValidationFailed("body", None, "the request body must be a JSON object")
    for key in sorted(payload):
        if key in SERVER_FIELDS:
            raise ValidationFailed(key, payload[key], f"{key} is set by the server; leave it out of the request")
        if key not in LOG_FIELDS:
            raise ValidationFailed(key, payload[key], f"{key} is not a known field; use only {', '.join(sorted(LOG_FIELDS))}")


def _optional_text(payload: Mapping[str, Any], key: str) -> str | None:
    value = payload.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationFailed(key, value, f"{key} must be a string")
    value = value.strip()
    if len(value) > MAX_TEXT_LENGTH:
        raise ValidationFailed(key, value[:40], f"{key} is longer than {MAX_TEXT_LENGTH} characters; shorten it")
    return value or None


def _choice(payload: Mapping[str, Any], key: str, choices: tuple[str, ...], default: str) -> str:
    value = payload.get(key, default)
    if value not in choices:
        raise ValidationFailed(key, value, f"{key} {value!r} is not supported; use one of {', '.join(choices)}")
    return str(value)


def parse_amount(payload: Mapping[str, Any], currency: str) -> Decimal:
    value = payload.get("amount")
    if value is None:
        raise ValidationFailed("amount", None, "amount is missing; pass it as a decimal string such as '150.00'")
    if not isinstance(value, (str, Decimal)):
        raise ValidationFailed("amount", value, "amount must be a decimal string such as '150.00', not a JSON number")
    try:
        amount = exact_amount(value, currency, "amount")
    except MoneyValidationError as error:
        raise ValidationFailed("amount", value, str(error)) from error
    if amount <= 0:
        raise ValidationFailed("amount", value, f"amount {value} must be greater than zero")
    return amount


def decide_log(
    loan: LoanRecord,
    log: RepaymentLog,
    payload: Mapping[str, Any],
    repayment_id: uuid.UUID,
    today: dt.date,
) -> dict[str, Any]:
    """Validate a repayment against the loan and its other repayments; return RepaymentLogged data.

    The payoff check replays every active repayment with the new one, so a
    backdated payment cannot make a later one exceed what was owed on its date.
    """
    _check_fields(payload)
    currency = payload.get("currency", loan.currency)
    if currency != loan.currency:
        raise ValidationFailed(
            "currency", currency, f"currency {currency!r} differs from the loan's {loan.currency}; pay in {loan.currency}"
        )
    amount = parse_amount(payload, loan.currency)
    paid_on = parse_date(payload, "paid_on", required=True)
    assert paid_on is not None
    if paid_on < loan.start_date:
        raise ValidationFailed(
            "paid_on", paid_on.isoformat(),
            f"paid_on {paid_on.isoformat()} is before the loan started on {loan.start_date.isoformat()}",
        )
    if paid_on > today:
        raise ValidationFailed(
            "paid_on", paid_on.isoformat(),
            f"paid_on {paid_on.isoformat()} is in the future (today is {today.isoformat()} in your time zone)",
        )
    data = {
        "repayment_id": repayment_id,
        "loan_id": loan.loan_id,
        "owner_id": loan.owner_id,
        "amount": amount,
        "currency": loan.currency,
        "paid_on": paid_on,
        "method": _choice(payload, "method", METHODS, "bank_transfer"),
        "reference": _optional_text(payload, "reference"),
        "note": _optional_text(payload, "note"),
        "extra_mode": _choice(payload, "extra_mode", EXTRA_MODES, "shorten_term"),
    }
    check_within_payoff(loan, log, data)
    return data


def check_within_payoff(loan: LoanRecord, log: RepaymentLog, data: Mapping[str, Any]) -> None:
    new = Repayment(id=str(data["repayment_id"]), amount=data["amount"], paid_on=data["paid_on"], extra_mode=data["extra_mode"])
    repayments = [repayment.as_schedule_input() for repayment in log.active()] + [new]
    last_date = max(repayment.paid_on for repayment in repayments)
    try:
        loan_state(terms_of(loan), repayments, last_date, term_changes_of(loan))
    except RepaymentExceedsPayoffError as error:
        # The other repayments passed this check when they were logged, so the
        # failing one is the new payment unless the error names another date or amount.
        if error.paid_on == new.paid_on and error.value == new.amount:
            raise ValidationFailed(
                "amount",
                format_amount(new.amount),
                f"amount {format_amount(new.amount)} is more than the payoff amount "
                f"{format_amount(error.payoff_amount)} {loan.currency} on {error.paid_on.isoformat()}; "
                f"pay at most {format_amount(error.payoff_amount)}",
            ) from error
        raise ValidationFailed(
            "paid_on",
            data["paid_on"].isoformat(),
            f"with this repayment a later repayment on {error.paid_on.isoformat()} would exceed the payoff amount "
            f"{format_amount(error.payoff_amount)} {loan.currency}; lower the amount",
        ) from error
    except LoanValidationError as error:
        raise ValidationFailed(error.field, error.value, error.message) from error


def decide_reverse(log: RepaymentLog, loan: LoanRecord, repayment_id: object, reason: object) -> dict[str, Any]:
    try:
        rid = uuid.UUID(str(repayment_id))
    except ValueError:
        raise NotFound("repayment", str(repayment_id)) from None
    logged = log.repayments.get(rid)
    if logged is None:
        raise NotFound("repayment", str(rid))
    if logged.reversed:
        raise Conflict(f"repayment {rid} was already reversed")
    if reason is not None and (not isinstance(reason, str) or len(reason) > MAX_TEXT_LENGTH):
        raise ValidationFailed("reason", str(reason)[:40], f"reason must be a string of at most {MAX_TEXT_LENGTH} characters")
    return {"repayment_id": rid, "loan_id": loan.loan_id, "owner_id": loan.owner_id, "reason": reason or None}

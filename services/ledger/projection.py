"""Event handlers of the ledger and the computation of each loan's state.

Every event first records its facts (the loan's terms, a repayment, a
reversal), then recomputes the loan from all of its facts with
`loansyncro.schedule.loan_state`. The result does not depend on the order in
which different streams arrive: a repayment applied before its loan is
stored and counted once the loan arrives.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Connection, Engine, Row

from loansyncro.consumer import Follower
from loansyncro.events import decode, encode, get_contract
from loansyncro.eventstore import RecordedEvent
from loansyncro.schedule import LoanValidationError, Repayment, build_schedule, local_today, loan_state
from services.ledger import tables
from loansyncro.loan_stream import LoanRecord, term_changes_of, terms_of

log = logging.getLogger(__name__)

CONSUMER: Final = "ledger"
EVENT_TYPES: Final = (
    "LoanCreated",
    "LoanDetailsChanged",
    "LoanTermsChanged",
    "LoanClosed",
    "LoanDeleted",
    "RepaymentLogged",
    "RepaymentReversed",
)


def today_in(time_zone: str) -> dt.date:
    return local_today(time_zone, dt.datetime.now(dt.UTC))


def _stored(event_type: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """Encode event data to JSON in the current contract version, for a JSONB column."""
    return encode(event_type, data)[1]


def _loaded(event_type: str, stored: Mapping[str, Any]) -> dict[str, Any]:
    return decode(event_type, get_contract(event_type).version, stored)


# Handlers --------------------------------------------------------------------


def on_loan_created(conn: Connection, event: RecordedEvent) -> None:
    data = event.data
    conn.execute(
        pg_insert(tables.loans)
        .values(
            loan_id=data["loan_id"],
            owner_id=data["owner_id"],
            name=data["name"],
            loan_type=data["loan_type"],
            lender=data.get("lender"),
            currency=data["currency"],
            principal=data["principal"],
            annual_rate=data["annual_rate"],
            start_date=data["start_date"],
            lifecycle="active",
            created_data=_stored("LoanCreated", data),
        )
        .on_conflict_do_nothing()
    )
    recompute(conn, data["loan_id"])


def on_loan_details_changed(conn: Connection, event: RecordedEvent) -> None:
    data = event.data
    values: dict[str, Any] = {key: data[key] for key in ("name", "loan_type") if data.get(key) is not None}
    if data.get("lender") is not None:
        # An empty string clears the lender.
        values["lender"] = data["lender"] or None
    if values:
        conn.execute(sa.update(tables.loans).where(tables.loans.c.loan_id == data["loan_id"]).values(**values))


def on_loan_terms_changed(conn: Connection, event: RecordedEvent) -> None:
    data = event.data
    loans = tables.loans
    change = sa.bindparam("change", [_stored("LoanTermsChanged", data)], type_=JSONB)
    values: dict[str, Any] = {"term_changes": loans.c.term_changes.op("||")(change)}
    if data.get("annual_rate") is not None:
        values["annual_rate"] = data["annual_rate"]
    conn.execute(sa.update(loans).where(loans.c.loan_id == data["loan_id"]).values(**values))
    recompute(conn, data["loan_id"])


def on_loan_closed(conn: Connection, event: RecordedEvent) -> None:
    data = event.data
    conn.execute(
        sa.update(tables.loans)
        .where(tables.loans.c.loan_id == data["loan_id"])
        .values(lifecycle="closed", closed_on=data["closed_on"])
    )
    recompute(conn, data["loan_id"])


def on_loan_deleted(conn: Connection, event: RecordedEvent) -> None:
    data = event.data
    conn.execute(sa.update(tables.loans).where(tables.loans.c.loan_id == data["loan_id"]).values(lifecycle="deleted"))
    refresh_user_totals(conn, data["owner_id"])


def on_repayment_logged(conn: Connection, event: RecordedEvent) -> None:
    data = event.data
    conn.execute(
        pg_insert(tables.repayments)
        .values(
            repayment_id=data["repayment_id"],
            loan_id=data["loan_id"],
            owner_id=data["owner_id"],
            amount=data["amount"],
            currency=data["currency"],
            paid_on=data["paid_on"],
            method=data["method"],
            extra_mode=data["extra_mode"],
        )
        .on_conflict_do_nothing()
    )
    recompute(conn, data["loan_id"])


def on_repayment_reversed(conn: Connection, event: RecordedEvent) -> None:
    data = event.data
    conn.execute(
        sa.update(tables.repayments)
        .where(tables.repayments.c.repayment_id == data["repayment_id"])
        .values(reversed=True, interest=None, principal=None, prepayment=None, balance_after=None)
    )
    recompute(conn, data["loan_id"])


HANDLERS: Final = {
    "LoanCreated": on_loan_created,
    "LoanDetailsChanged": on_loan_details_changed,
    "LoanTermsChanged": on_loan_terms_changed,
    "LoanClosed": on_loan_closed,
    "LoanDeleted": on_loan_deleted,
    "RepaymentLogged": on_repayment_logged,
    "RepaymentReversed": on_repayment_reversed,
}


def build_follower(engine: Engine) -> Follower:
    return Follower(engine, CONSUMER, tables.tracking, HANDLERS)


# Computation -------------------------------------------------------------------


def loan_record(row: Row[Any] | Mapping[str, Any]) -> LoanRecord:
    """Rebuild the loan's terms and term changes from the projection row."""
    values = row._mapping if isinstance(row, Row) else row
    created = _loaded("LoanCreated", values["created_data"])
    changes = tuple(_loaded("LoanTermsChanged", change) for change in values["term_changes"])
    return LoanRecord(
        loan_id=values["loan_id"],
        owner_id=values["owner_id"],
        created=created,
        details={},
        term_changes=changes,
        status=values["lifecycle"],
        closed_on=values["closed_on"],
    )


def active_repayments(conn: Connection, loan_id: uuid.UUID) -> list[Repayment]:
    table = tables.repayments
    rows = conn.execute(
        sa.select(table.c.repayment_id, table.c.amount, table.c.paid_on, table.c.extra_mode).where(
            table.c.loan_id == loan_id, table.c.reversed.is_(False)
        )
    )
    return [Repayment(str(row.repayment_id), row.amount, row.paid_on, row.extra_mode) for row in rows]


def recompute(conn: Connection, loan_id: uuid.UUID, as_of: dt.date | None = None, time_zone: str | None = None) -> None:
    """Compute the loan's state as of `as_of` (default: today in its time zone) and store it.

    Takes the loan row's lock, so a read-side refresh and the follower never
    interleave their writes for one loan.
    """
    loans = tables.loans
    row = conn.execute(sa.select(loans).where(loans.c.loan_id == loan_id).with_for_update()).first()
    if row is None:
        return  # The loan's LoanCreated has not arrived; it recomputes with these facts when it does.
    if row.lifecycle == "deleted":
        refresh_user_totals(conn, row.owner_id)
        return
    zone = time_zone or row.time_zone
    as_of = as_of or today_in(zone)
    if row.lifecycle == "closed" and row.closed_on is not None:
        # A closed loan's figures stay as they were on the day it was closed.
        as_of = min(as_of, row.closed_on)

    record = loan_record(row)
    try:
        terms = terms_of(record)
        state = loan_state(terms, active_repayments(conn, loan_id), as_of, term_changes_of(record))
        planned = {planned_row.number: planned_row for planned_row in build_schedule(terms).rows}
    except LoanValidationError as error:
        # Stored facts the loan maths rejects (for example a term change after a
        # payoff) leave the last good figures in place and say why.
        log.warning(
            "loan state could not be computed",
            extra={"loan_id": str(loan_id), "field": error.field, "error": error.message},
        )
        conn.execute(sa.update(loans).where(loans.c.loan_id == loan_id).values(computation_error=error.message))
        return

    if row.lifecycle == "closed":
        standing = "closed"
    elif state.is_closed:
        standing = "paid_off"
    elif state.arrears > 0:
        standing = "overdue"
    else:
        standing = "on_track"
    conn.execute(
        sa.update(loans)
        .where(loans.c.loan_id == loan_id)
        .values(
            time_zone=zone,
            as_of=as_of,
            annual_rate=state.annual_rate,
            outstanding_principal=state.outstanding_principal,
            accrued_interest=state.accrued_interest,
            principal_paid=state.principal_paid,
            interest_paid=state.interest_paid,
            total_paid=state.total_paid,
            arrears=state.arrears,
            days_past_due=state.days_past_due,
            # A loan paid off or closed has nothing due: the notifier's scan skips it.
            next_due_date=state.next_due_date if standing in ("on_track", "overdue") else None,
            next_due_amount=state.next_due_amount if standing in ("on_track", "overdue") else None,
            payoff_amount=state.payoff_amount,
            paid_off_on=state.closed_on,
            standing=standing,
            computation_error=None,
        )
    )

    installments = tables.installments
    conn.execute(sa.delete(installments).where(installments.c.loan_id == loan_id))
    rows = []
    for item in state.installments:
        plan = planned.get(item.number)
        rows.append(
            {
                "loan_id": loan_id,
                "number": item.number,
                "due_date": item.due_date,
                "amount_due": item.amount_due,
                "paid": item.paid,
                "remaining": item.remaining,
                "status": item.status.value,
                "days_past_due": item.days_past_due,
                "planned_payment": plan.payment if plan else None,
                "planned_interest": plan.interest if plan else None,
                "planned_principal": plan.principal if plan else None,
                "planned_balance": plan.balance if plan else None,
            }
        )
    if rows:
        conn.execute(installments.insert(), rows)

    repayments = tables.repayments
    allocations = [
        {
            "rid": uuid.UUID(allocation.repayment_id),
            "interest": allocation.interest,
            "principal": allocation.principal,
            "prepayment": allocation.prepayment,
            "balance_after": allocation.balance_after,
        }
        for allocation in state.allocations
    ]
    if allocations:
        conn.execute(
            sa.update(repayments)
            .where(repayments.c.repayment_id == sa.bindparam("rid"))
            .values(
                interest=sa.bindparam("interest"),
                principal=sa.bindparam("principal"),
                prepayment=sa.bindparam("prepayment"),
                balance_after=sa.bindparam("balance_after"),
            ),
            allocations,
        )
    refresh_user_totals(conn, row.owner_id)


def refresh_user_totals(conn: Connection, owner_id: uuid.UUID) -> None:
    """Recompute the owner's totals per currency from their loans; one row per currency, never summed across."""
    loans = tables.loans
    totals = tables.user_totals
    conn.execute(sa.delete(totals).where(totals.c.owner_id == owner_id))
    zero = sa.literal(Decimal(0))
    aggregate = (
        sa.select(
            loans.c.owner_id,
            loans.c.currency,
            sa.func.count(),
            sa.func.sum(loans.c.principal),
            sa.func.coalesce(sa.func.sum(loans.c.principal_paid), zero),
            sa.func.coalesce(sa.func.sum(loans.c.interest_paid), zero),
            sa.func.coalesce(sa.func.sum(loans.c.total_paid), zero),
            sa.func.coalesce(sa.func.sum(loans.c.outstanding_principal), zero),
            sa.func.coalesce(sa.func.sum(loans.c.payoff_amount), zero),
            sa.func.coalesce(sa.func.sum(loans.c.arrears), zero),
        )
        .where(loans.c.owner_id == owner_id, loans.c.lifecycle != "deleted")
        .group_by(loans.c.owner_id, loans.c.currency)
    )
    conn.execute(
        totals.insert().from_select(
            [
                "owner_id", "currency", "loans", "borrowed", "principal_paid", "interest_paid",
                "total_paid", "outstanding_principal", "payoff_amount", "arrears",
            ],
            aggregate,
        )
    )

"""Statement data: everything a PDF statement, CSV or JSON export shows, from the ledger's projections.

The selection of loans and the per-currency totals are the dashboard's own
(`queries._selected`, `queries._totals_of` and `Reader._totals`), so an export
shows the same figures as the dashboard for the same filters. The time frame
(`from`, `to`) limits the installments and repayments listed; the loans'
figures and the totals stay those of today, as on the dashboard.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from services.ledger import tables
from services.ledger.queries import (
    DashboardFilter,
    Reader,
    _selected,
    _totals_of,
    installment_json,
    loan_json,
    repayment_json,
)

# Version of the statement data's shape; the JSON export carries it as `format_version`.
FORMAT_VERSION: Final = 1

# LoanCreated fields that are terms, exported so that a loan can be created again from them.
# The loan's own `annual_rate` is the current one, after any term change, so the
# rate it was created with is kept here.
TERM_FIELDS: Final = (
    "principal",
    "annual_rate",
    "day_count",
    "method",
    "frequency",
    "first_payment_date",
    "installments",
    "end_date",
    "semi_monthly_days",
    "rounding",
    "notes",
)


def statement_data(reader: Reader, owner_id: uuid.UUID, time_zone: str, options: DashboardFilter) -> dict[str, Any]:
    """Collect the owner's selected loans with their terms, schedules and repayments; amounts are strings."""
    today = reader.bring_up_to_date(owner_id, time_zone)

    # One REPEATABLE READ snapshot, so the totals and the rows listed under them agree
    # even while the ledger applies new events.
    with reader.engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn, conn.begin():
        loans = tables.loans
        rows = conn.execute(
            sa.select(loans)
            .where(loans.c.owner_id == owner_id, loans.c.lifecycle != "deleted")
            .order_by(loans.c.start_date, loans.c.loan_id)
        ).all()
        selected = [row for row in rows if _selected(row, options)]
        unfiltered = options.loan_ids is None and options.status == "all"
        totals = reader._totals(conn, owner_id) if unfiltered else _totals_of(selected)
        loan_ids = [row.loan_id for row in selected]
        installments = _installments_by_loan(conn, loan_ids, options)
        repayments = _repayments_by_loan(conn, owner_id, loan_ids, options)

    by_name = sorted(selected, key=lambda row: (row.name.lower(), str(row.loan_id)))
    return {
        "format_version": FORMAT_VERSION,
        "as_of": today.isoformat(),
        "time_zone": time_zone,
        "filters": {
            "loan_ids": None if options.loan_ids is None else sorted(str(loan_id) for loan_id in options.loan_ids),
            "status": options.status,
            "from": _iso(options.frame_from),
            "to": _iso(options.frame_to),
        },
        "totals": totals,
        "loans": [
            {
                **loan_json(row),
                "terms": _terms(row.created_data),
                "term_changes": [_term_change(change) for change in row.term_changes],
                "lifecycle": row.lifecycle,
                "installments": installments.get(row.loan_id, []),
                "repayments": repayments.get(row.loan_id, []),
            }
            for row in by_name
        ],
    }


def _installments_by_loan(conn: Connection, loan_ids: list[uuid.UUID], options: DashboardFilter) -> dict[uuid.UUID, list[dict[str, Any]]]:
    if not loan_ids:
        return {}
    installments = tables.installments
    query = sa.select(installments).where(installments.c.loan_id.in_(loan_ids))
    if options.frame_from is not None:
        query = query.where(installments.c.due_date >= options.frame_from)
    if options.frame_to is not None:
        query = query.where(installments.c.due_date <= options.frame_to)
    grouped: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for item in conn.execute(query.order_by(installments.c.loan_id, installments.c.number)):
        grouped.setdefault(item.loan_id, []).append(installment_json(item))
    return grouped


def _repayments_by_loan(
    conn: Connection, owner_id: uuid.UUID, loan_ids: list[uuid.UUID], options: DashboardFilter
) -> dict[uuid.UUID, list[dict[str, Any]]]:
    if not loan_ids:
        return {}
    repayments = tables.repayments
    # The owner condition is redundant with the loan ids, and kept so that a
    # wrong id can never pull in another user's payments.
    query = sa.select(repayments).where(repayments.c.owner_id == owner_id, repayments.c.loan_id.in_(loan_ids))
    if options.frame_from is not None:
        query = query.where(repayments.c.paid_on >= options.frame_from)
    if options.frame_to is not None:
        query = query.where(repayments.c.paid_on <= options.frame_to)
    grouped: dict[uuid.UUID, list[dict[str, Any]]] = {}
    ordered = query.order_by(repayments.c.loan_id, repayments.c.paid_on, repayments.c.repayment_id)
    for item in conn.execute(ordered):
        # extra_mode is needed to log the repayment again on re-import.
        grouped.setdefault(item.loan_id, []).append({**repayment_json(item), "extra_mode": item.extra_mode})
    return grouped


def _terms(created_data: Mapping[str, Any]) -> dict[str, Any]:
    """Return the LoanCreated terms as stored (JSON values: dates and amounts as strings)."""
    return {name: created_data.get(name) for name in TERM_FIELDS}


def _term_change(change: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in change.items() if key not in ("loan_id", "owner_id")}


def _iso(value: dt.date | None) -> str | None:
    return None if value is None else value.isoformat()

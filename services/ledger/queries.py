"""The ledger's reads: one user's loans, brought up to date, then read from the projections.

Before reading, `Reader.bring_up_to_date` compares, for each of the user's
loans, the newest version of its two streams in the event store with the
version the ledger applied, and applies the missing events. That makes a
user's next read reflect their last write, and the work depends on that
user's loans, never on the size of the event log.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from loansyncro.consumer import Follower
from loansyncro.dates import parse_iso_date
from loansyncro.errors import NotFound, ValidationFailed
from loansyncro.eventstore.schema import events as event_table
from loansyncro.loan_stream import fold_loan, term_changes_of, terms_of
from loansyncro.money import format_amount
from loansyncro.repayment_stream import fold_repayments
from loansyncro.schedule import LoanValidationError, Repayment, loan_state
from services.ledger import tables
from services.ledger.projection import CONSUMER, recompute, today_in

STANDINGS: Final = ("on_track", "overdue", "paid_off", "closed")
STATUS_FILTERS: Final = ("all", "active", *STANDINGS)
MAX_UPCOMING_DAYS: Final = 366


def _amount(value: Decimal | None) -> str | None:
    return None if value is None else format_amount(value)


def _iso(value: dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


def parse_date_option(query: Mapping[str, Any], key: str) -> dt.date | None:
    raw = query.get(key)
    if raw in (None, ""):
        return None
    try:
        return parse_iso_date(str(raw))
    except ValueError:
        raise ValidationFailed(key, raw, f"{key} {raw!r} is not a date; pass YYYY-MM-DD") from None


@dataclass(frozen=True)
class DashboardFilter:
    loan_ids: frozenset[uuid.UUID] | None
    status: str
    frame_from: dt.date | None
    frame_to: dt.date | None
    upcoming_days: int
    upcoming_from: dt.date | None
    upcoming_to: dt.date | None


def parse_dashboard_filter(query: Mapping[str, Any]) -> DashboardFilter:
    """Parse dashboard options; raise ValidationFailed naming the option."""
    raw_ids = query.get("loan_ids") or query.get("loans")
    loan_ids = None
    if raw_ids:
        parts = raw_ids if isinstance(raw_ids, list) else str(raw_ids).split(",")
        try:
            loan_ids = frozenset(uuid.UUID(str(part).strip()) for part in parts if str(part).strip())
        except ValueError:
            raise ValidationFailed("loan_ids", raw_ids, "loan_ids must be loan ids separated by commas") from None
    status = query.get("status") or "all"
    if status not in STATUS_FILTERS:
        raise ValidationFailed("status", status, f"status {status!r} is not supported; use one of {', '.join(STATUS_FILTERS)}")
    raw_days = query.get("upcoming_days") or 30
    try:
        days = int(raw_days)
    except (TypeError, ValueError):
        raise ValidationFailed("upcoming_days", raw_days, "upcoming_days must be a whole number such as 30, 60 or 90") from None
    if not 1 <= days <= MAX_UPCOMING_DAYS:
        raise ValidationFailed("upcoming_days", raw_days, f"upcoming_days must be from 1 to {MAX_UPCOMING_DAYS}")
    frame_from, frame_to = parse_date_option(query, "from"), parse_date_option(query, "to")
    if frame_from and frame_to and frame_to < frame_from:
        raise ValidationFailed("to", frame_to.isoformat(), "to is before from; pass a later date")
    upcoming_from, upcoming_to = parse_date_option(query, "upcoming_from"), parse_date_option(query, "upcoming_to")
    if (upcoming_from is None) != (upcoming_to is None):
        raise ValidationFailed("upcoming_to", _iso(upcoming_to), "pass both upcoming_from and upcoming_to, or neither")
    if upcoming_from and upcoming_to and upcoming_to < upcoming_from:
        raise ValidationFailed("upcoming_to", upcoming_to.isoformat(), "upcoming_to is before upcoming_from")
    return DashboardFilter(loan_ids, status, frame_from, frame_to, days, upcoming_from, upcoming_to)


def check_time_zone(time_zone: str | None) -> str:
    zone = time_zone or "UTC"
    try:
        today_in(zone)
    except LoanValidationError as error:
        raise ValidationFailed("time_zone", zone, error.message) from error
    return zone


class Reader:
    def __init__(self, engine: Engine, follower: Follower) -> None:
        self.engine = engine
        self.follower = follower

    # Freshness ----------------------------------------------------------------

    def catch_up_streams(self, stream_versions: Mapping[str, int]) -> None:
        """Apply each named stream up to at least the given version (a write's position)."""
        for stream_id, version in stream_versions.items():
            self.follower.apply_through(stream_id, int(version))

    def bring_up_to_date(self, owner_id: uuid.UUID, time_zone: str) -> dt.date:
        """Apply missing events of the owner's loans and refresh figures computed for another day; return today."""
        loans = tables.loans
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(loans.c.loan_id, loans.c.as_of, loans.c.time_zone, loans.c.lifecycle).where(
                    loans.c.owner_id == owner_id, loans.c.lifecycle != "deleted"
                )
            ).all()
            stream_ids = [f"{prefix}-{row.loan_id}" for row in rows for prefix in ("loan", "repayments")]
            behind = self._streams_behind(conn, stream_ids)
        for stream_id, version in behind.items():
            self.follower.apply_through(stream_id, version)

        today = today_in(time_zone)
        stale = [row.loan_id for row in rows if row.as_of != today or row.time_zone != time_zone]
        if stale:
            with self.engine.begin() as conn:
                for loan_id in stale:
                    recompute(conn, loan_id, today, time_zone)
        return today

    def _streams_behind(self, conn: Connection, stream_ids: list[str]) -> dict[str, int]:
        if not stream_ids:
            return {}
        stored = dict(
            conn.execute(
                sa.select(event_table.c.stream_id, sa.func.max(event_table.c.version))
                .where(event_table.c.stream_id.in_(stream_ids))
                .group_by(event_table.c.stream_id)
            ).all()
        )
        streams = tables.tracking.streams
        applied = dict(
            conn.execute(
                sa.select(streams.c.stream_id, streams.c.version).where(
                    streams.c.consumer == CONSUMER, streams.c.stream_id.in_(stream_ids)
                )
            ).all()
        )
        return {stream_id: version for stream_id, version in stored.items() if version > applied.get(stream_id, 0)}

    # Loans ----------------------------------------------------------------------

    def _owned_loan(self, conn: Connection, owner_id: uuid.UUID, loan_id: uuid.UUID) -> Any:
        loans = tables.loans
        row = conn.execute(sa.select(loans).where(loans.c.loan_id == loan_id)).first()
        if row is None or row.owner_id != owner_id or row.lifecycle == "deleted":
            raise NotFound("loan", str(loan_id))
        return row

    def loan_summary(self, owner_id: uuid.UUID, loan_id: uuid.UUID, time_zone: str) -> dict[str, Any]:
        self.bring_up_to_date(owner_id, time_zone)
        with self.engine.connect() as conn:
            row = self._owned_loan(conn, owner_id, loan_id)
            summary = loan_json(row)
            repayments = tables.repayments
            allocations = conn.execute(
                sa.select(repayments)
                .where(repayments.c.loan_id == loan_id)
                .order_by(repayments.c.paid_on, repayments.c.repayment_id)
            ).all()
        summary["repayments"] = [repayment_json(item) for item in allocations]
        return summary

    def schedule(self, owner_id: uuid.UUID, loan_id: uuid.UUID, time_zone: str) -> dict[str, Any]:
        """Return the loan's installments with their status today and the original plan beside them."""
        self.bring_up_to_date(owner_id, time_zone)
        installments = tables.installments
        with self.engine.connect() as conn:
            row = self._owned_loan(conn, owner_id, loan_id)
            items = conn.execute(
                sa.select(installments).where(installments.c.loan_id == loan_id).order_by(installments.c.number)
            ).all()
        return {
            "loan_id": str(loan_id),
            "currency": row.currency,
            "as_of": _iso(row.as_of),
            "installments": [installment_json(item) for item in items],
        }

    def dashboard(self, owner_id: uuid.UUID, time_zone: str, options: DashboardFilter) -> dict[str, Any]:
        today = self.bring_up_to_date(owner_id, time_zone)
        loans = tables.loans
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(loans)
                .where(loans.c.owner_id == owner_id, loans.c.lifecycle != "deleted")
                .order_by(loans.c.start_date, loans.c.loan_id)
            ).all()
            selected = [row for row in rows if _selected(row, options)]
            loan_ids = [row.loan_id for row in selected]
            unfiltered = options.loan_ids is None and options.status == "all"
            totals = self._totals(conn, owner_id) if unfiltered else _totals_of(selected)
            upcoming_from = options.upcoming_from or today
            upcoming_to = options.upcoming_to or today + dt.timedelta(days=options.upcoming_days)
            upcoming = self._upcoming(conn, selected, upcoming_from, upcoming_to)
            frame_from = options.frame_from or min((row.start_date for row in selected), default=today)
            frame_to = options.frame_to or today + dt.timedelta(days=365)
            charts = self._charts(conn, selected, loan_ids, frame_from, frame_to, today)
        by_name = sorted(selected, key=lambda row: (row.name.lower(), str(row.loan_id)))
        overdue = [
            {
                "loan_id": str(row.loan_id),
                "name": row.name,
                "currency": row.currency,
                "arrears": _amount(row.arrears),
                "days_past_due": row.days_past_due,
            }
            for row in selected
            if row.standing == "overdue"
        ]
        return {
            "as_of": today.isoformat(),
            "time_zone": time_zone,
            "totals": totals,
            "loans": [loan_json(row) for row in by_name],
            "upcoming": {"from": upcoming_from.isoformat(), "to": upcoming_to.isoformat(), "installments": upcoming},
            "overdue": overdue,
            "charts": charts,
        }

    def _totals(self, conn: Connection, owner_id: uuid.UUID) -> list[dict[str, Any]]:
        totals = tables.user_totals
        rows = conn.execute(sa.select(totals).where(totals.c.owner_id == owner_id).order_by(totals.c.currency)).all()
        return [totals_json(row._mapping) for row in rows]

    def _upcoming(self, conn: Connection, selected: list[Any], start: dt.date, end: dt.date) -> list[dict[str, Any]]:
        open_loans = {row.loan_id: row for row in selected if row.standing in ("on_track", "overdue")}
        if not open_loans:
            return []
        installments = tables.installments
        items = conn.execute(
            sa.select(installments)
            .where(
                installments.c.loan_id.in_(list(open_loans)),
                installments.c.due_date >= start,
                installments.c.due_date <= end,
                installments.c.remaining > 0,
            )
            .order_by(installments.c.due_date, installments.c.loan_id)
        ).all()
        return [
            {
                "loan_id": str(item.loan_id),
                "name": open_loans[item.loan_id].name,
                "currency": open_loans[item.loan_id].currency,
                "number": item.number,
                "due_date": item.due_date.isoformat(),
                "amount": _amount(item.remaining),
                "status": item.status,
            }
            for item in items
        ]

    def _charts(
        self, conn: Connection, selected: list[Any], loan_ids: list[uuid.UUID], start: dt.date, end: dt.date, today: dt.date
    ) -> dict[str, Any]:
        installments = tables.installments
        repayments = tables.repayments
        planned: dict[uuid.UUID, list[dict[str, str]]] = defaultdict(list)
        actual: dict[uuid.UUID, list[dict[str, str]]] = defaultdict(list)
        by_month: list[dict[str, Any]] = []
        if loan_ids:
            for item in conn.execute(
                sa.select(installments.c.loan_id, installments.c.due_date, installments.c.planned_balance)
                .where(
                    installments.c.loan_id.in_(loan_ids),
                    installments.c.due_date >= start,
                    installments.c.due_date <= end,
                    installments.c.planned_balance.is_not(None),
                )
                .order_by(installments.c.loan_id, installments.c.number)
            ):
                planned[item.loan_id].append({"date": item.due_date.isoformat(), "balance": format_amount(item.planned_balance)})
            for item in conn.execute(
                sa.select(repayments.c.loan_id, repayments.c.paid_on, repayments.c.balance_after)
                .where(
                    repayments.c.loan_id.in_(loan_ids),
                    repayments.c.reversed.is_(False),
                    repayments.c.balance_after.is_not(None),
                    repayments.c.paid_on >= start,
                    repayments.c.paid_on <= end,
                )
                .order_by(repayments.c.loan_id, repayments.c.paid_on, repayments.c.repayment_id)
            ):
                actual[item.loan_id].append({"date": item.paid_on.isoformat(), "balance": format_amount(item.balance_after)})
            month = sa.func.to_char(repayments.c.paid_on, "YYYY-MM")
            for item in conn.execute(
                sa.select(
                    month.label("month"),
                    repayments.c.currency,
                    sa.func.sum(repayments.c.principal).label("principal"),
                    sa.func.sum(repayments.c.interest).label("interest"),
                    sa.func.sum(repayments.c.amount).label("total"),
                )
                .where(
                    repayments.c.loan_id.in_(loan_ids),
                    repayments.c.reversed.is_(False),
                    repayments.c.paid_on >= start,
                    repayments.c.paid_on <= end,
                )
                .group_by(month, repayments.c.currency)
                .order_by(month, repayments.c.currency)
            ):
                by_month.append(
                    {
                        "month": item.month,
                        "currency": item.currency,
                        "principal": _amount(item.principal or Decimal(0)),
                        "interest": _amount(item.interest or Decimal(0)),
                        "total": _amount(item.total),
                    }
                )
        balance_series = []
        for row in selected:
            points = actual[row.loan_id]
            if start <= row.start_date <= end:
                points = [{"date": row.start_date.isoformat(), "balance": format_amount(row.principal)}, *points]
            if row.as_of is not None and start <= row.as_of <= end and row.outstanding_principal is not None:
                points = [*points, {"date": row.as_of.isoformat(), "balance": format_amount(row.outstanding_principal)}]
            balance_series.append(
                {"loan_id": str(row.loan_id), "name": row.name, "currency": row.currency, "planned": planned[row.loan_id], "actual": points}
            )
        return {
            "from": start.isoformat(),
            "to": end.isoformat(),
            "balance_over_time": balance_series,
            "payments_by_month": by_month,
            "balances_by_loan": [
                {
                    "loan_id": str(row.loan_id),
                    "name": row.name,
                    "currency": row.currency,
                    "principal": format_amount(row.principal),
                    "outstanding_principal": _amount(row.outstanding_principal),
                    "principal_paid": _amount(row.principal_paid),
                }
                for row in selected
            ],
        }

    # Audit ----------------------------------------------------------------------

    def history(self, owner_id: uuid.UUID, loan_id: uuid.UUID, until_position: int | None = None) -> dict[str, Any]:
        """List every event of the loan and its repayments in log order, with the balance after each.

        Reads the two streams from the event store, so it is independent of the projections.
        """
        streams = self.follower.store.read_streams([f"loan-{loan_id}", f"repayments-{loan_id}"])
        events = sorted([*streams[f"loan-{loan_id}"], *streams[f"repayments-{loan_id}"]], key=lambda event: event.position)
        if until_position is not None:
            events = [event for event in events if event.position <= until_position]
        record = fold_loan(streams[f"loan-{loan_id}"])
        if record is None or record.owner_id != owner_id:
            raise NotFound("loan", str(loan_id))

        entries = []
        for index, event in enumerate(events):
            seen = events[: index + 1]
            loan = fold_loan(item for item in seen if item.stream_type == "loan")
            entry: dict[str, Any] = {
                "position": event.position,
                "stream_id": event.stream_id,
                "version": event.version,
                "event_type": event.event_type,
                "recorded_at": event.recorded_at.isoformat(),
            }
            if loan is not None:
                repayments = fold_repayments(item for item in seen if item.stream_type == "repayments")
                inputs = [item.as_schedule_input() for item in repayments.active()]
                as_of = max([loan.start_date, *(item.paid_on for item in inputs), *(c["effective_date"] for c in loan.term_changes)])
                try:
                    state = loan_state(terms_of(loan), inputs, as_of, term_changes_of(loan))
                    entry.update(
                        as_of=as_of.isoformat(),
                        outstanding_principal=format_amount(state.outstanding_principal),
                        payoff_amount=format_amount(state.payoff_amount),
                        principal_paid=format_amount(state.principal_paid),
                        interest_paid=format_amount(state.interest_paid),
                    )
                except LoanValidationError as error:
                    entry["error"] = error.message
            entries.append(entry)
        return {"loan_id": str(loan_id), "currency": record.currency, "events": entries}

    def balance_as_of(self, owner_id: uuid.UUID, loan_id: uuid.UUID, as_of: dt.date) -> dict[str, Any]:
        """Return the loan's state on a past or future date from every repayment logged so far."""
        streams = self.follower.store.read_streams([f"loan-{loan_id}", f"repayments-{loan_id}"])
        record = fold_loan(streams[f"loan-{loan_id}"])
        if record is None or record.owner_id != owner_id or record.status == "deleted":
            raise NotFound("loan", str(loan_id))
        repayments = fold_repayments(streams[f"repayments-{loan_id}"])
        inputs: Iterable[Repayment] = [item.as_schedule_input() for item in repayments.active()]
        try:
            state = loan_state(terms_of(record), inputs, as_of, term_changes_of(record))
        except LoanValidationError as error:
            raise ValidationFailed(error.field, error.value, error.message) from error
        body = state.to_json()
        body.pop("installments", None)
        body.pop("remaining_schedule", None)
        return body


def _selected(row: Any, options: DashboardFilter) -> bool:
    if options.loan_ids is not None and row.loan_id not in options.loan_ids:
        return False
    if options.status == "all":
        return True
    if options.status == "active":
        return row.standing in ("on_track", "overdue")
    return bool(row.standing == options.status)


def _totals_of(rows: list[Any]) -> list[dict[str, Any]]:
    """Sum the selected loans per currency (amounts of different currencies are never added)."""
    fields = ("borrowed", "principal_paid", "interest_paid", "total_paid", "outstanding_principal", "payoff_amount", "arrears")
    sums: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = sums.setdefault(row.currency, {"currency": row.currency, "loans": 0, **{name: Decimal(0) for name in fields}})
        entry["loans"] += 1
        entry["borrowed"] += row.principal
        for name in fields[1:]:
            entry[name] += getattr(row, name) or Decimal(0)
    return [totals_json(sums[currency]) for currency in sorted(sums)]


def totals_json(values: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "currency": values["currency"],
        "loans": values["loans"],
        "borrowed": format_amount(values["borrowed"]),
        "repaid": format_amount(values["total_paid"]),
        "principal_paid": format_amount(values["principal_paid"]),
        "interest_paid": format_amount(values["interest_paid"]),
        "outstanding_principal": format_amount(values["outstanding_principal"]),
        "payoff_amount": format_amount(values["payoff_amount"]),
        "arrears": format_amount(values["arrears"]),
    }


def loan_json(row: Any) -> dict[str, Any]:
    return {
        "id": str(row.loan_id),
        "name": row.name,
        "loan_type": row.loan_type,
        "lender": row.lender,
        "currency": row.currency,
        "principal": format_amount(row.principal),
        "annual_rate": format(row.annual_rate.normalize(), "f"),
        "start_date": row.start_date.isoformat(),
        "status": row.standing,
        "as_of": _iso(row.as_of),
        "outstanding_principal": _amount(row.outstanding_principal),
        "accrued_interest": _amount(row.accrued_interest),
        "principal_paid": _amount(row.principal_paid),
        "interest_paid": _amount(row.interest_paid),
        "total_paid": _amount(row.total_paid),
        "arrears": _amount(row.arrears),
        "days_past_due": row.days_past_due,
        "next_due_date": _iso(row.next_due_date),
        "next_due_amount": _amount(row.next_due_amount),
        "payoff_amount": _amount(row.payoff_amount),
        "paid_off_on": _iso(row.paid_off_on),
        "closed_on": _iso(row.closed_on),
        "computation_error": row.computation_error,
    }


def repayment_json(row: Any) -> dict[str, Any]:
    return {
        "id": str(row.repayment_id),
        "amount": format_amount(row.amount),
        "currency": row.currency,
        "paid_on": row.paid_on.isoformat(),
        "method": row.method,
        "reversed": row.reversed,
        "interest": _amount(row.interest),
        "principal": _amount(row.principal),
        "prepayment": _amount(row.prepayment),
        "balance_after": _amount(row.balance_after),
    }


def installment_json(row: Any) -> dict[str, Any]:
    return {
        "number": row.number,
        "due_date": row.due_date.isoformat(),
        "amount_due": format_amount(row.amount_due),
        "paid": format_amount(row.paid),
        "remaining": format_amount(row.remaining),
        "status": row.status,
        "days_past_due": row.days_past_due,
        "planned_payment": _amount(row.planned_payment),
        "planned_interest": _amount(row.planned_interest),
        "planned_principal": _amount(row.planned_principal),
        "planned_balance": _amount(row.planned_balance),
    }


__all__ = ["DashboardFilter", "Reader", "check_time_zone", "parse_dashboard_filter"]

"""A loan's event stream as every service reads it.

The loans service writes the stream. The repayments and ledger services fold
it with the same code, so all three see the same terms, details and status.
Pure code: no I/O and no clock.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, Final

from loansyncro.errors import NotFound
from loansyncro.eventstore import RecordedEvent
from loansyncro.money import DEFAULT_ROUNDING, ROUNDING_MODES, format_amount
from loansyncro.schedule import LoanTerms, TermChange

DETAIL_FIELDS: Final = frozenset({"name", "loan_type", "lender", "notes"})


def stream_id_of(loan_id: uuid.UUID | str) -> str:
    return f"loan-{loan_id}"


def parse_loan_id(value: object) -> uuid.UUID:
    """Return the loan id as a UUID; an id that is not one cannot exist, so it is NotFound."""
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise NotFound("loan", str(value)) from None


@dataclass(frozen=True)
class LoanRecord:
    """A loan as its events left it: creation data, later details, term changes and status."""

    loan_id: uuid.UUID
    owner_id: uuid.UUID
    created: Mapping[str, Any]
    details: Mapping[str, Any]
    term_changes: tuple[Mapping[str, Any], ...] = ()
    status: str = "active"
    closed_on: dt.date | None = None
    version: int = 0
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None

    @property
    def stream_id(self) -> str:
        return stream_id_of(self.loan_id)

    @property
    def currency(self) -> str:
        return str(self.created["currency"])

    @property
    def start_date(self) -> dt.date:
        return self.created["start_date"]  # type: ignore[no-any-return]

    def to_json(self) -> dict[str, Any]:
        """Return the loan's terms and details with amounts as strings."""
        created = self.created
        return {
            "id": str(self.loan_id),
            "name": self.details["name"],
            "loan_type": self.details["loan_type"],
            "lender": self.details.get("lender"),
            "notes": self.details.get("notes"),
            "currency": created["currency"],
            "principal": format_amount(created["principal"]),
            "annual_rate": format(created["annual_rate"], "f"),
            "current_annual_rate": format(current_rate(self), "f"),
            "day_count": created["day_count"],
            "method": created["method"],
            "frequency": created["frequency"],
            "start_date": created["start_date"].isoformat(),
            "first_payment_date": _iso(created.get("first_payment_date")),
            "installments": created.get("installments"),
            "end_date": _iso(created.get("end_date")),
            "status": self.status,
            "closed_on": _iso(self.closed_on),
            "term_changes": [
                {
                    "effective_date": change["effective_date"].isoformat(),
                    "annual_rate": None if change.get("annual_rate") is None else format(change["annual_rate"], "f"),
                    "remaining_installments": change.get("remaining_installments"),
                    "end_date": _iso(change.get("end_date")),
                }
                for change in self.term_changes
            ],
            "version": self.version,
        }


def _iso(value: dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


def current_rate(record: LoanRecord) -> Decimal:
    rate: Decimal = record.created["annual_rate"]
    for change in record.term_changes:
        if change.get("annual_rate") is not None:
            rate = change["annual_rate"]
    return rate


def fold_loan(events: Iterable[RecordedEvent]) -> LoanRecord | None:
    """Fold a loan stream into its current record; None for an empty stream."""
    record: LoanRecord | None = None
    for event in events:
        data = event.data
        if event.event_type == "LoanCreated":
            record = LoanRecord(
                loan_id=data["loan_id"],
                owner_id=data["owner_id"],
                created=data,
                details={key: data.get(key) for key in DETAIL_FIELDS},
                created_at=event.recorded_at,
            )
        elif record is None:
            continue
        elif event.event_type == "LoanDetailsChanged":
            changed = {key: data[key] for key in DETAIL_FIELDS if data.get(key) is not None}
            # An empty lender or notes string clears the field.
            for key in ("lender", "notes"):
                if changed.get(key) == "":
                    changed[key] = None
            record = replace(record, details={**record.details, **changed})
        elif event.event_type == "LoanTermsChanged":
            record = replace(record, term_changes=(*record.term_changes, data))
        elif event.event_type == "LoanClosed":
            record = replace(record, status="closed", closed_on=data["closed_on"])
        elif event.event_type == "LoanDeleted":
            record = replace(record, status="deleted")
        record = replace(record, version=event.version, updated_at=event.recorded_at)
    return record


def terms_of(record: LoanRecord) -> LoanTerms:
    """Build the schedule terms of a loan from its LoanCreated data."""
    created = record.created
    days = created.get("semi_monthly_days")
    return LoanTerms(
        principal=created["principal"],
        annual_rate=created["annual_rate"],
        currency=created["currency"],
        start_date=created["start_date"],
        first_payment_date=created.get("first_payment_date"),
        installments=created.get("installments"),
        end_date=created.get("end_date"),
        frequency=created["frequency"],
        method=created["method"],
        day_count=created["day_count"],
        # Data written before rounding was stored carries the contract's default, "half_up".
        rounding=created["rounding"] if created.get("rounding") in ROUNDING_MODES else DEFAULT_ROUNDING,
        **({"semi_monthly_days": tuple(days)} if days else {}),
    )


def term_changes_of(record: LoanRecord) -> tuple[TermChange, ...]:
    return tuple(
        TermChange(
            effective_on=change["effective_date"],
            annual_rate=change.get("annual_rate"),
            installments=change.get("remaining_installments"),
            end_date=change.get("end_date"),
        )
        for change in record.term_changes
    )


def check_owned(record: LoanRecord | None, user_id: uuid.UUID, loan_id: uuid.UUID) -> LoanRecord:
    """Return the record if `user_id` owns a loan that was not deleted; otherwise NotFound.

    Other users' loans are NotFound, not forbidden, so ids of other users' loans leak nothing.
    """
    if record is None or record.owner_id != user_id or record.status == "deleted":
        raise NotFound("loan", str(loan_id))
    return record

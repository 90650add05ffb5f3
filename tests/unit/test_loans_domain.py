"""Loan decisions and the fold of a loan's events, without I/O."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest

from loansyncro import loan_stream
from loansyncro.errors import Conflict, NotFound, ValidationFailed
from loansyncro.events import encode
from loansyncro.eventstore import RecordedEvent
from services.loans import domain

OWNER = uuid.UUID("00000000-0000-0000-0000-000000000001")
LOAN = uuid.UUID("00000000-0000-0000-0000-0000000000aa")
NOW = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)

PAYLOAD = {
    "name": "Home",
    "loan_type": "mortgage",
    "currency": "USD",
    "principal": "320000.00",
    "annual_rate": "6.5",
    "start_date": "2024-01-15",
    "installments": 360,
}


def recorded(version: int, event_type: str, data: dict) -> RecordedEvent:
    schema_version, raw = encode(event_type, data)
    return RecordedEvent(
        position=version, transaction_id=1, event_id=uuid.uuid4(), stream_type="loan", stream_id=f"loan-{LOAN}",
        version=version, event_type=event_type, schema_version=schema_version, raw_data=raw, metadata={},
        occurred_at=NOW, recorded_at=NOW,
    )


def created_record() -> loan_stream.LoanRecord:
    data = domain.decide_create(OWNER, LOAN, PAYLOAD)
    record = loan_stream.fold_loan([recorded(1, "LoanCreated", data)])
    assert record is not None
    return record


def test_decide_create_normalises_terms():
    data = domain.decide_create(OWNER, LOAN, PAYLOAD)
    assert data["principal"] == Decimal("320000.00")
    assert data["method"] == "annuity"
    assert data["frequency"] == "monthly"
    assert data["day_count"] == "30/360"
    assert data["lender"] is None


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": "  "}, "name"),
        ({"installments": None}, "installments"),
        ({"end_date": "2030-01-15"}, "installments"),
        ({"annual_rate": "101"}, "annual_rate"),
        ({"method": "zero_interest"}, "annual_rate"),
        ({"frequency": "daily"}, "frequency"),
        ({"first_payment_date": "2024-01-01"}, "first_payment_date"),
        ({"id": "x"}, "id"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_decide_create_names_invalid_field(overrides, field):
    with pytest.raises(ValidationFailed) as caught:
        domain.decide_create(OWNER, LOAN, {**PAYLOAD, **overrides})
    assert caught.value.field == field


def test_fold_applies_details_terms_and_close():
    created = domain.decide_create(OWNER, LOAN, PAYLOAD)
    events = [
        recorded(1, "LoanCreated", created),
        recorded(2, "LoanDetailsChanged", {"loan_id": LOAN, "owner_id": OWNER, "name": "Flat", "lender": "Bank"}),
        recorded(3, "LoanTermsChanged", {"loan_id": LOAN, "owner_id": OWNER, "effective_date": dt.date(2025, 1, 15), "annual_rate": Decimal("5")}),
        recorded(4, "LoanDetailsChanged", {"loan_id": LOAN, "owner_id": OWNER, "lender": ""}),
        recorded(5, "LoanClosed", {"loan_id": LOAN, "owner_id": OWNER, "closed_on": dt.date(2025, 2, 1)}),
    ]
    record = loan_stream.fold_loan(events)
    assert record is not None
    assert record.details["name"] == "Flat"
    assert record.details["lender"] is None
    assert loan_stream.current_rate(record) == Decimal("5")
    assert record.status == "closed"
    assert record.version == 5
    assert loan_stream.term_changes_of(record)[0].effective_on == dt.date(2025, 1, 15)


def test_check_owned_hides_other_users_and_deleted_loans():
    record = created_record()
    with pytest.raises(NotFound):
        loan_stream.check_owned(record, uuid.uuid4(), LOAN)
    with pytest.raises(NotFound):
        loan_stream.check_owned(None, OWNER, LOAN)
    deleted = loan_stream.fold_loan(
        [recorded(1, "LoanCreated", dict(record.created)), recorded(2, "LoanDeleted", {"loan_id": LOAN, "owner_id": OWNER})]
    )
    with pytest.raises(NotFound):
        loan_stream.check_owned(deleted, OWNER, LOAN)
    assert loan_stream.check_owned(record, OWNER, LOAN) is record


def test_term_change_rules():
    record = created_record()
    with pytest.raises(ValidationFailed) as caught:
        domain.decide_change_terms(record, {"effective_date": "2025-01-15"})
    assert caught.value.field == "annual_rate"
    with pytest.raises(ValidationFailed) as caught:
        domain.decide_change_terms(record, {"effective_date": "2025-01-15", "end_date": "2025-01-01"})
    assert caught.value.field == "end_date"
    data = domain.decide_change_terms(record, {"effective_date": "2025-01-15", "remaining_installments": 120})
    assert data["remaining_installments"] == 120


def test_closed_loan_cannot_close_again():
    record = created_record()
    closed = loan_stream.fold_loan(
        [recorded(1, "LoanCreated", dict(record.created)), recorded(2, "LoanClosed", {"loan_id": LOAN, "owner_id": OWNER, "closed_on": dt.date(2024, 6, 1)})]
    )
    assert closed is not None
    with pytest.raises(Conflict, match="closed on 2024-06-01"):
        domain.decide_close(closed, {}, dt.date(2024, 7, 1))
    with pytest.raises(ValidationFailed) as caught:
        domain.decide_close(record, {"closed_on": "2023-01-01"}, dt.date(2024, 7, 1))
    assert caught.value.field == "closed_on"


@pytest.mark.parametrize(
    ("query", "field"),
    [({"status": "open"}, "status"), ({"sort": "rate"}, "sort"), ({"limit": "0"}, "limit"), ({"offset": "x"}, "offset"), ({"type": "yacht"}, "loan_type")],
)
def test_parse_filter_names_invalid_option(query, field):
    with pytest.raises(ValidationFailed) as caught:
        domain.parse_filter(query)
    assert caught.value.field == field


def test_parse_filter_descending_sort():
    options = domain.parse_filter({"sort": "-principal", "limit": "10"})
    assert (options.sort, options.descending, options.limit) == ("principal", True, 10)


@pytest.mark.parametrize("text", ["20240301", "2024-W10-1", "2024-3-1", " 2024-03-01"])
def test_dates_must_be_written_yyyy_mm_dd(text):
    from loansyncro.errors import ValidationFailed
    from loansyncro.command_input import parse_date

    with pytest.raises(ValidationFailed, match="is not a date; pass YYYY-MM-DD"):
        parse_date({"start_date": text}, "start_date", required=True)

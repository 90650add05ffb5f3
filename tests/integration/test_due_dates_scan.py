"""The ledger's due-date scan against the real event store and ledger projections."""

from __future__ import annotations

import datetime as dt
import threading
import uuid

import pytest
import sqlalchemy as sa

from loansyncro.eventstore import EventStore, NewEvent
from services.ledger import tables
from services.ledger.due_dates import DueDateScanner, installment_outstanding
from services.ledger.projection import build_follower
from services.loans.commands import LoanCommands
from services.repayments.commands import RepaymentCommands

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("due_dates")]


@pytest.fixture
def store(engine) -> EventStore:
    return EventStore(engine)


@pytest.fixture
def scanner(engine) -> DueDateScanner:
    return DueDateScanner(engine)


def open_loan(engine, store: EventStore, owner: uuid.UUID) -> tuple[str, dt.date]:
    """Create a monthly loan whose first installment falls due about ten days from today; return its id and that date."""
    start = dt.date.today() - dt.timedelta(days=20)
    loan = LoanCommands(store).create_loan(
        str(owner),
        {
            "name": "Car",
            "loan_type": "auto",
            "currency": "EUR",
            "principal": "6000.00",
            "annual_rate": "5",
            "start_date": start.isoformat(),
            "installments": 12,
        },
    )
    build_follower(engine).catch_up_stream(f"loan-{loan['id']}")
    with engine.connect() as conn:
        first_due = conn.execute(
            sa.select(tables.installments.c.due_date).where(
                tables.installments.c.loan_id == uuid.UUID(loan["id"]), tables.installments.c.number == 1
            )
        ).scalar_one()
    return loan["id"], first_due


def noon_utc(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12, 0), tzinfo=dt.UTC)


def reminder_events(store: EventStore, loan_id: str) -> list:
    return store.read_stream(f"reminders-{loan_id}")


def test_scan_records_due_soon_once(engine, store, scanner):
    loan_id, due = open_loan(engine, store, uuid.uuid4())

    scanner.scan(noon_utc(due - dt.timedelta(days=3)))
    scanner.scan(noon_utc(due - dt.timedelta(days=3)))
    scanner.scan(noon_utc(due - dt.timedelta(days=2)))

    events = reminder_events(store, loan_id)
    assert [event.event_type for event in events] == ["InstallmentDueSoon"]
    assert events[0].data["days_before"] == 3
    assert events[0].data["installment_number"] == 1
    assert events[0].data["due_date"] == due


def test_scan_records_each_offset_then_overdue(engine, store, scanner):
    loan_id, due = open_loan(engine, store, uuid.uuid4())

    for days in (3, 1, -1):
        scanner.scan(noon_utc(due - dt.timedelta(days=days)))

    events = reminder_events(store, loan_id)
    assert [event.event_type for event in events] == ["InstallmentDueSoon", "InstallmentDueSoon", "InstallmentOverdue"]
    assert [event.data.get("days_before") for event in events[:2]] == [3, 1]
    assert events[2].data["days_past_due"] == 1


def test_concurrent_scans_record_once(engine, store):
    loan_id, due = open_loan(engine, store, uuid.uuid4())
    now = noon_utc(due - dt.timedelta(days=1))
    scanners = [DueDateScanner(engine) for _ in range(2)]
    threads = [threading.Thread(target=scanner.scan, args=(now,)) for scanner in scanners]

    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Whichever replica skipped the locked round records nothing new on its next pass.
    DueDateScanner(engine).scan(now)

    assert len(reminder_events(store, loan_id)) == 1


def test_paid_installment_gets_no_reminder(engine, store, scanner):
    owner = uuid.uuid4()
    loan_id, due = open_loan(engine, store, owner)
    RepaymentCommands(store).log_repayment(str(owner), loan_id, {"amount": "600.00", "paid_on": dt.date.today().isoformat()})
    build_follower(engine).catch_up_stream(f"repayments-{loan_id}")

    scanner.scan(noon_utc(due - dt.timedelta(days=1)))

    assert reminder_events(store, loan_id) == []
    with engine.connect() as conn:
        assert installment_outstanding(conn, uuid.UUID(loan_id), 1, due) is False


def test_scan_uses_owner_settings_from_account_events(engine, store, scanner):
    owner = uuid.uuid4()
    loan_id, due = open_loan(engine, store, owner)
    store.append(
        "user",
        f"user-{owner}",
        0,
        [
            NewEvent(
                "UserRegistered",
                {
                    "user_id": owner,
                    "encrypted_email": "ciphertext",
                    "encrypted_password_hash": "ciphertext",
                    "time_zone": "Asia/Tokyo",
                    "currency": "EUR",
                    "locale": "ja_JP",
                },
            ),
            NewEvent(
                "ReminderPreferencesChanged",
                {"user_id": owner, "channels": "email", "days_before": [7], "overdue_alerts": False},
            ),
        ],
    )

    # The scan's own catch-up follows the whole log, so it can lag behind other sessions'
    # open transactions. Applying the user's stream makes the test independent of that.
    scanner.settings_follower.catch_up_stream(f"user-{owner}")

    scanner.scan(noon_utc(due - dt.timedelta(days=5)))
    # 16:00Z on the due date is already the next day in Tokyo, but overdue alerts are off.
    scanner.scan(dt.datetime.combine(due, dt.time(16, 0), tzinfo=dt.UTC))

    events = reminder_events(store, loan_id)
    assert [event.data["days_before"] for event in events] == [7]


def test_quarterly_loan_overdue_beyond_horizon(engine, store, scanner):
    """Its next installment is 70 days away, so only the overdue index makes it a candidate."""
    owner = uuid.uuid4()
    start = dt.date.today() - dt.timedelta(days=200)
    loan = LoanCommands(store).create_loan(
        str(owner),
        {
            "name": "Land",
            "loan_type": "personal",
            "currency": "EUR",
            "principal": "9000.00",
            "annual_rate": "4",
            "start_date": start.isoformat(),
            "frequency": "quarterly",
            "installments": 8,
        },
    )
    build_follower(engine).catch_up_stream(f"loan-{loan['id']}")
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(tables.loans.c.standing, tables.loans.c.next_due_date).where(
                tables.loans.c.loan_id == uuid.UUID(loan["id"])
            )
        ).one()
    assert row.standing == "overdue"
    assert row.next_due_date > dt.date.today() + dt.timedelta(days=61)

    scanner.scan(dt.datetime.now(dt.UTC))

    events = reminder_events(store, loan["id"])
    assert {event.event_type for event in events} == {"InstallmentOverdue"}
    assert sorted(event.data["installment_number"] for event in events) == [1, 2]

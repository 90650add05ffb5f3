"""The notifier against real PostgreSQL, a real SMTP server and a local Twilio API on loopback.

Small in-process classes stand in for the accounts and ledger RPCs. One test
uses the real ledger projection for a payment logged between the scan and the send.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from loansyncro.config import Settings
from loansyncro.errors import NotFound
from loansyncro.eventstore import ANY_VERSION, EventStore, NewEvent
from services.ledger.due_dates import DueDateScanner, installment_outstanding
from services.ledger.projection import build_follower
from services.loans.commands import LoanCommands
from services.notifier import tables
from services.notifier.channels import build_senders
from services.notifier.delivery import Notifier, NotifierConfig
from services.repayments.commands import RepaymentCommands
from tests.fakes.smtp import FakeSmtpServer
from tests.fakes.twilio import FakeTwilioServer

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("notifier")]

NEW_YORK = "America/New_York"


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


class Directory:
    """Stands in for accounts.get_contact."""

    def __init__(self) -> None:
        self.contacts: dict[str, dict[str, Any]] = {}
        self.down = False

    def add(self, channels: str = "both", time_zone: str = "UTC", quiet_hours: dict | None = None, **contact: Any) -> uuid.UUID:
        owner = uuid.uuid4()
        self.contacts[str(owner)] = {
            "email": f"user-{owner.hex[:8]}@example.com",
            "phone": "+15551230000",
            "display_name": "Ana",
            "time_zone": time_zone,
            "locale": "en_US",
            "currency": "USD",
            "reminder_preferences": {
                "channels": channels,
                "days_before": [3, 1],
                "overdue_alerts": True,
                "overdue_repeat_days": 7,
                "quiet_hours": quiet_hours,
            },
            **contact,
        }
        return owner

    def get_contact(self, user_id: str) -> dict[str, Any]:
        if self.down:
            raise TimeoutError("accounts did not answer")
        if user_id not in self.contacts:
            raise NotFound("user", user_id)
        return self.contacts[user_id]


class PaidInstallments:
    """Stands in for ledger.is_installment_outstanding."""

    def __init__(self) -> None:
        self.paid: set[tuple[str, int]] = set()

    def is_installment_outstanding(self, loan_id: str, installment_number: int, due_date: str) -> bool:
        return (loan_id, installment_number) not in self.paid


@pytest.fixture(scope="module")
def smtp() -> Iterator[FakeSmtpServer]:
    server = FakeSmtpServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def twilio() -> Iterator[FakeTwilioServer]:
    server = FakeTwilioServer().start()
    yield server
    server.stop()


@pytest.fixture
def provider_settings(settings: Settings, smtp: FakeSmtpServer, twilio: FakeTwilioServer) -> Settings:
    smtp.reset()
    twilio.reset()
    return dataclasses.replace(
        settings,
        smtp_host=smtp.host,
        smtp_port=smtp.port,
        smtp_security="none",
        smtp_timeout_seconds=2.0,
        twilio_account_sid=twilio.account_sid,
        twilio_auth_token=twilio.auth_token,
        twilio_from_number=twilio.from_number,
        twilio_base_url=twilio.base_url,
    )


@pytest.fixture
def directory() -> Directory:
    return Directory()


@pytest.fixture
def ledger() -> PaidInstallments:
    return PaidInstallments()


@pytest.fixture
def clock() -> Clock:
    return Clock(utc("2025-01-12T05:00"))


CONFIG = NotifierConfig(
    max_attempts=3,
    retry_base_seconds=30.0,
    lease_seconds=60.0,
    earliest_local_time=dt.time(9, 0),
    latest_local_time=dt.time(21, 0),
    sms_cap_per_recipient=5,
    sms_cap_global=1000,
)


def make_notifier(engine, provider_settings, directory, ledger, clock, config: NotifierConfig = CONFIG) -> Notifier:
    return Notifier(
        engine, build_senders(provider_settings), directory, ledger, config, clock=clock, uniform=lambda low, high: high
    )


@pytest.fixture
def notifier(engine, provider_settings, directory, ledger, clock) -> Notifier:
    return make_notifier(engine, provider_settings, directory, ledger, clock)


def record_due_soon(
    engine, owner: uuid.UUID, days_before: int = 3, number: int = 1, due_date: dt.date = dt.date(2025, 1, 15)
) -> str:
    """Append an InstallmentDueSoon as the ledger's scan does; return its stream id."""
    loan_id = uuid.uuid4()
    data = {
        "loan_id": loan_id,
        "owner_id": owner,
        "loan_name": "Car",
        "installment_number": number,
        "due_date": due_date,
        "amount_due": Decimal("250.00"),
        "currency": "USD",
        "days_before": days_before,
    }
    EventStore(engine).append("reminders", f"reminders-{loan_id}", ANY_VERSION, [NewEvent("InstallmentDueSoon", data)])
    return f"reminders-{loan_id}"


def record_overdue(engine, owner: uuid.UUID, loan_id: uuid.UUID, repeat: int) -> str:
    data = {
        "loan_id": loan_id,
        "owner_id": owner,
        "loan_name": "Car",
        "installment_number": 1,
        "due_date": dt.date(2025, 1, 15),
        "amount_overdue": Decimal("250.00"),
        "currency": "USD",
        "days_past_due": 1 + 7 * repeat,
        "repeat": repeat,
    }
    EventStore(engine).append("reminders", f"reminders-{loan_id}", ANY_VERSION, [NewEvent("InstallmentOverdue", data)])
    return f"reminders-{loan_id}"


def deliver(notifier: Notifier, stream_id: str) -> None:
    notifier.follower.catch_up_stream(stream_id)
    notifier.plan_due()


def log_of(engine, owner: uuid.UUID) -> list[Any]:
    table = tables.notifications
    with engine.connect() as conn:
        return conn.execute(sa.select(table).where(table.c.owner_id == owner).order_by(table.c.created_at, table.c.channel)).all()


def emails_to(smtp: FakeSmtpServer, directory: Directory, owner: uuid.UUID) -> list:
    address = directory.contacts[str(owner)]["email"]
    return [item for item in smtp.received if address in item.recipients]


def test_reminder_sent_at_local_morning(engine, notifier, directory, clock, smtp, twilio):
    owner = directory.add(channels="both", time_zone=NEW_YORK)
    deliver(notifier, record_due_soon(engine, owner))  # planned at 00:00 in New York

    clock.now = utc("2025-01-12T13:59")
    assert notifier.send_due() == 0
    clock.now = utc("2025-01-12T14:00")  # 09:00 EST
    assert notifier.send_due() == 2
    assert notifier.send_due() == 0

    rows = log_of(engine, owner)
    assert [(row.channel, row.status) for row in rows] == [("email", "sent"), ("sms", "sent")]
    assert rows[1].provider_id.startswith("SM")
    [received] = emails_to(smtp, directory, owner)
    assert "$250.00" in received.text
    assert "January 15, 2025" in received.text
    assert received.message["Message-ID"] == f"<{rows[0].notification_id}@loansyncro.invalid>"
    assert [sms.body for sms in twilio.messages] == ["LoanSyncro: $250.00 for Car due 1/15/25."]
    sent_events = EventStore(engine).read_stream(f"notifications-{owner}")
    assert [event.data["channel"] for event in sent_events] == ["email", "sms"]


def test_spring_forward_sends_at_0700z(engine, notifier, directory, clock, twilio):
    owner = directory.add(channels="sms", time_zone=NEW_YORK, quiet_hours={"start": "22:00", "end": "02:30"})
    clock.now = utc("2025-03-09T03:30")  # 22:30 EST on March 8
    notifier.config = dataclasses.replace(CONFIG, earliest_local_time=dt.time(0, 0), latest_local_time=None)
    deliver(notifier, record_due_soon(engine, owner, due_date=dt.date(2025, 3, 10)))

    sent_per_minute = []
    for minute in range(0, 120, 15):
        clock.now = utc("2025-03-09T06:00") + dt.timedelta(minutes=minute)
        sent_per_minute.append((clock.now.strftime("%H:%M"), notifier.send_due()))

    assert [time for time, sent in sent_per_minute if sent] == ["07:00"]
    assert len(twilio.messages) == 1


def test_fall_back_sends_at_first_0130(engine, notifier, directory, clock, twilio):
    owner = directory.add(channels="sms", time_zone=NEW_YORK, quiet_hours={"start": "22:00", "end": "01:30"})
    clock.now = utc("2025-11-02T03:00")  # 23:00 EDT on November 1
    notifier.config = dataclasses.replace(CONFIG, earliest_local_time=dt.time(0, 0), latest_local_time=None)
    deliver(notifier, record_due_soon(engine, owner, due_date=dt.date(2025, 11, 3)))

    sent_at = []
    for minute in range(0, 180, 30):
        clock.now = utc("2025-11-02T04:30") + dt.timedelta(minutes=minute)
        if notifier.send_due():
            sent_at.append(clock.now)

    assert sent_at == [utc("2025-11-02T05:30")]
    assert len(twilio.messages) == 1


def test_duplicate_event_delivery_sends_once(engine, notifier, directory, clock, smtp):
    owner = directory.add(channels="email")
    stream_id = record_due_soon(engine, owner)
    [event] = EventStore(engine).read_stream(stream_id)

    notifier.follower.handle_message(event.to_message())
    notifier.follower.handle_message(event.to_message())
    notifier.follower.catch_up_stream(stream_id)
    notifier.plan_due()
    notifier.plan_due()
    clock.now = utc("2025-01-12T14:00")
    notifier.send_due()
    notifier.send_due()

    assert len(log_of(engine, owner)) == 1
    assert len(emails_to(smtp, directory, owner)) == 1


def test_smtp_down_then_up(engine, notifier, directory, clock, smtp):
    owner = directory.add(channels="email")
    deliver(notifier, record_due_soon(engine, owner))
    clock.now = utc("2025-01-12T14:00")

    smtp.stop()
    try:
        notifier.send_due()
    finally:
        smtp.start()
    [row] = log_of(engine, owner)
    assert row.status == "queued"
    assert row.error_code == "smtp-unavailable"
    assert row.due_at == clock.now + dt.timedelta(seconds=30)

    clock.advance(seconds=29)
    assert notifier.send_due() == 0
    clock.advance(seconds=1)
    assert notifier.send_due() == 1
    [row] = log_of(engine, owner)
    assert (row.status, row.attempts) == ("sent", 2)
    assert len(emails_to(smtp, directory, owner)) == 1


def test_smtp_temporary_reply_retries(engine, notifier, directory, clock, smtp):
    owner = directory.add(channels="email")
    deliver(notifier, record_due_soon(engine, owner))
    clock.now = utc("2025-01-12T14:00")
    smtp.fail_next(1)

    notifier.send_due()
    clock.advance(seconds=30)
    notifier.send_due()

    [row] = log_of(engine, owner)
    assert (row.status, row.attempts, row.error_code) == ("sent", 2, "smtp-451")


def test_twilio_5xx_then_success(engine, notifier, directory, clock, twilio):
    owner = directory.add(channels="sms")
    deliver(notifier, record_due_soon(engine, owner))
    clock.now = utc("2025-01-12T14:00")
    twilio.fail_next(503)
    twilio.fail_next(429)

    notifier.send_due()
    clock.advance(seconds=30)
    notifier.send_due()
    [row] = log_of(engine, owner)
    assert (row.status, row.attempts) == ("queued", 2)
    assert row.due_at == clock.now + dt.timedelta(seconds=60)

    clock.advance(seconds=60)
    notifier.send_due()
    [row] = log_of(engine, owner)
    assert (row.status, row.attempts) == ("sent", 3)
    assert len(twilio.messages) == 1


def test_twilio_retries_are_bounded(engine, notifier, directory, clock, twilio):
    owner = directory.add(channels="sms", email=None)
    deliver(notifier, record_due_soon(engine, owner))
    clock.now = utc("2025-01-12T14:00")
    twilio.fail_next(500, count=10)

    for _ in range(6):
        notifier.send_due()
        clock.advance(hours=1)

    [row] = log_of(engine, owner)
    assert (row.status, row.attempts) == ("failed", CONFIG.max_attempts)
    assert twilio.state.requests == CONFIG.max_attempts


def test_twilio_21211_falls_back_to_email(engine, notifier, directory, clock, smtp, twilio):
    owner = directory.add(channels="sms", phone="555-0100")
    deliver(notifier, record_due_soon(engine, owner))
    clock.now = utc("2025-01-12T14:00")

    notifier.send_due()
    notifier.send_due()

    rows = log_of(engine, owner)
    by_purpose = {row.purpose: row for row in rows}
    assert (by_purpose["reminder"].status, by_purpose["reminder"].attempts) == ("failed", 1)
    assert by_purpose["reminder"].error_code == "twilio-21211"
    assert (by_purpose["channel_failure"].channel, by_purpose["channel_failure"].status) == ("email", "sent")
    [notice] = emails_to(smtp, directory, owner)
    assert "could not deliver your reminders by text message" in notice.text
    assert twilio.state.requests == 1


def test_smtp_550_falls_back_to_sms(engine, notifier, directory, clock, smtp, twilio):
    owner = directory.add(channels="email")
    smtp.reject(directory.contacts[str(owner)]["email"])
    deliver(notifier, record_due_soon(engine, owner))
    clock.now = utc("2025-01-12T14:00")

    notifier.send_due()
    notifier.send_due()

    by_purpose = {row.purpose: row for row in log_of(engine, owner)}
    assert (by_purpose["reminder"].status, by_purpose["reminder"].error_code) == ("failed", "smtp-550")
    assert (by_purpose["channel_failure"].channel, by_purpose["channel_failure"].status) == ("sms", "sent")
    assert "could not reach you by email" in twilio.messages[0].body


def test_channel_failure_notice_once_a_day(engine, notifier, directory, clock, smtp, twilio):
    owner = directory.add(channels="sms", phone="555-0100")
    for number in (1, 2):
        deliver(notifier, record_due_soon(engine, owner, number=number))
    clock.now = utc("2025-01-12T14:00")

    for _ in range(3):
        notifier.send_due()

    rows = log_of(engine, owner)
    assert sorted(row.purpose for row in rows) == ["channel_failure", "reminder", "reminder"]
    assert [row.status for row in rows if row.purpose == "reminder"] == ["failed", "failed"]
    assert len(emails_to(smtp, directory, owner)) == 1


class Crash(BaseException):
    """The process dies: nothing after the send runs."""


def test_interrupted_sms_not_resent(engine, provider_settings, directory, ledger, clock, twilio):
    owner = directory.add(channels="sms")
    senders = build_senders(provider_settings)

    class SendThenCrash:
        provider = "twilio"

        def send(self, address, message, notification_id):
            senders["sms"].send(address, message, notification_id)
            raise Crash()

    crashing = Notifier(engine, {**senders, "sms": SendThenCrash()}, directory, ledger, CONFIG, clock=clock)
    deliver(crashing, record_due_soon(engine, owner))
    clock.now = utc("2025-01-12T14:00")
    with pytest.raises(Crash):
        crashing.send_due()
    [row] = log_of(engine, owner)
    assert row.status == "sending"

    restarted = make_notifier(engine, provider_settings, directory, ledger, clock)
    clock.advance(seconds=CONFIG.lease_seconds - 1)
    assert restarted.send_due() == 0
    clock.advance(seconds=2)
    assert restarted.send_due() == 0

    [row] = log_of(engine, owner)
    assert (row.status, row.attempts, row.error_code) == ("failed", 1, "interrupted")
    # At most once for SMS: the provider accepted the first attempt, and no second one is made.
    assert len(twilio.messages) == 1


def test_interrupted_email_resent_same_id(engine, provider_settings, directory, ledger, clock, smtp):
    owner = directory.add(channels="email")
    senders = build_senders(provider_settings)

    class SendThenCrash:
        provider = "smtp"

        def send(self, address, message, notification_id):
            senders["email"].send(address, message, notification_id)
            raise Crash()

    crashing = Notifier(engine, {**senders, "email": SendThenCrash()}, directory, ledger, CONFIG, clock=clock)
    deliver(crashing, record_due_soon(engine, owner))
    clock.now = utc("2025-01-12T14:00")
    with pytest.raises(Crash):
        crashing.send_due()

    restarted = make_notifier(engine, provider_settings, directory, ledger, clock)
    clock.advance(seconds=CONFIG.lease_seconds + 1)
    assert restarted.send_due() == 1

    [row] = log_of(engine, owner)
    assert (row.status, row.attempts, row.error_code) == ("sent", 2, "interrupted")
    copies = emails_to(smtp, directory, owner)
    assert len(copies) == 2, "email is sent again after an interrupted attempt"
    assert copies[0].message["Message-ID"] == copies[1].message["Message-ID"], "both copies share one Message-ID"


def test_sms_caps_hold_under_concurrent_senders(engine, provider_settings, directory, ledger, clock, twilio):
    config = dataclasses.replace(CONFIG, sms_cap_per_recipient=2)
    owner = directory.add(channels="sms", email=None)
    first = make_notifier(engine, provider_settings, directory, ledger, clock, config)
    for number in range(1, 7):
        deliver(first, record_due_soon(engine, owner, number=number))
    clock.now = utc("2025-01-12T14:00")

    workers = [make_notifier(engine, provider_settings, directory, ledger, clock, config) for _ in range(3)]
    threads = [threading.Thread(target=worker.send_due) for worker in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    statuses = sorted(row.status for row in log_of(engine, owner))
    assert statuses == ["sent", "sent", "skipped", "skipped", "skipped", "skipped"]
    assert len(twilio.messages) == 2
    assert len(EventStore(engine).read_stream(f"notifications-{owner}")) == 2


def test_overdue_repeats_stop_once_paid(engine, notifier, directory, ledger, clock, smtp):
    owner = directory.add(channels="email")
    loan_id = uuid.uuid4()
    clock.now = utc("2025-01-16T14:00")
    deliver(notifier, record_overdue(engine, owner, loan_id, repeat=0))
    notifier.send_due()
    clock.now = utc("2025-01-23T14:00")
    deliver(notifier, record_overdue(engine, owner, loan_id, repeat=1))
    notifier.send_due()
    ledger.paid.add((str(loan_id), 1))
    clock.now = utc("2025-01-30T14:00")
    deliver(notifier, record_overdue(engine, owner, loan_id, repeat=2))
    notifier.send_due()

    assert [(row.status, row.error_code) for row in log_of(engine, owner)] == [
        ("sent", None),
        ("sent", None),
        ("skipped", "installment-paid"),
    ]
    assert len(emails_to(smtp, directory, owner)) == 2


def test_payment_between_scan_and_send_cancels_reminder(engine, provider_settings, directory, clock, smtp):
    """The real ledger: the scan records the occasion, then a payment arrives before the send."""
    owner = directory.add(channels="email")
    store = EventStore(engine)
    due = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=2)
    loan = LoanCommands(store).create_loan(
        str(owner),
        {"name": "Car", "loan_type": "auto", "currency": "USD", "principal": "6000.00", "annual_rate": "5",
         "start_date": (due - dt.timedelta(days=30)).isoformat(), "first_payment_date": due.isoformat(), "installments": 12},
    )
    ledger_follower = build_follower(engine)
    ledger_follower.catch_up_stream(f"loan-{loan['id']}")

    class RealLedger:
        def is_installment_outstanding(self, loan_id: str, installment_number: int, due_date: str) -> bool:
            ledger_follower.catch_up_stream(f"repayments-{loan_id}")
            with engine.connect() as conn:
                return installment_outstanding(conn, uuid.UUID(loan_id), installment_number, dt.date.fromisoformat(due_date))

    any_hour = dataclasses.replace(CONFIG, earliest_local_time=dt.time(0, 0), latest_local_time=None)
    notifier = make_notifier(engine, provider_settings, directory, RealLedger(), clock, any_hour)
    clock.now = dt.datetime.now(dt.UTC)
    DueDateScanner(engine).scan(clock.now)
    deliver(notifier, f"reminders-{loan['id']}")
    assert [row.status for row in log_of(engine, owner)] == ["queued"]

    RepaymentCommands(store).log_repayment(str(owner), loan["id"], {"amount": "600.00", "paid_on": dt.date.today().isoformat()})
    notifier.send_due()

    [row] = log_of(engine, owner)
    assert (row.status, row.error_code) == ("skipped", "installment-paid")
    assert emails_to(smtp, directory, owner) == []


def test_ledger_check_holds_no_row_lock(engine, provider_settings, directory, clock, smtp):
    """A transaction holding the notification's row lock must not wait for the ledger's reply."""
    owner = directory.add(channels="email", time_zone=NEW_YORK)
    table = tables.notifications
    row_locked_during_check: list[bool] = []

    class ProbingLedger:
        def is_installment_outstanding(self, loan_id: str, installment_number: int, due_date: str) -> bool:
            with engine.begin() as conn:
                try:
                    conn.execute(sa.select(table.c.notification_id).where(table.c.owner_id == owner).with_for_update(nowait=True)).all()
                    row_locked_during_check.append(False)
                except sa.exc.OperationalError:  # lock_not_available
                    row_locked_during_check.append(True)
            return True

    notifier = make_notifier(engine, provider_settings, directory, ProbingLedger(), clock)
    deliver(notifier, record_due_soon(engine, owner))
    clock.now = utc("2025-01-12T14:00")  # 09:00 in New York

    assert notifier.send_due() == 1
    assert row_locked_during_check == [False]
    assert [row.status for row in log_of(engine, owner)] == ["sent"]


def test_user_deleted_before_planning_drops_occasion(engine, notifier, directory):
    owner = uuid.uuid4()
    stream_id = record_due_soon(engine, owner)
    deliver(notifier, stream_id)

    with engine.connect() as conn:
        status = conn.execute(sa.select(tables.occasions.c.status).where(tables.occasions.c.owner_id == owner)).scalar_one()
    assert status == "dropped"
    assert log_of(engine, owner) == []


def test_due_soon_after_due_date_dropped(engine, notifier, directory, clock):
    owner = directory.add(channels="email", time_zone="Asia/Tokyo")
    clock.now = utc("2025-01-15T15:00")  # already January 16 in Tokyo

    deliver(notifier, record_due_soon(engine, owner, days_before=1))

    with engine.connect() as conn:
        status = conn.execute(sa.select(tables.occasions.c.status).where(tables.occasions.c.owner_id == owner)).scalar_one()
    assert status == "dropped"
    assert log_of(engine, owner) == []


def test_old_occasion_dropped_after_outage(engine, notifier, directory, clock):
    owner = directory.add(channels="email")
    stream_id = record_due_soon(engine, owner, due_date=dt.date.today() + dt.timedelta(days=30))
    notifier.follower.catch_up_stream(stream_id)
    clock.now = dt.datetime.now(dt.UTC) + dt.timedelta(days=3)

    notifier.plan_due()

    assert log_of(engine, owner) == []


def test_accounts_down_plans_later(engine, notifier, directory, clock):
    owner = directory.add(channels="email")
    directory.down = True
    deliver(notifier, record_due_soon(engine, owner))
    assert log_of(engine, owner) == []

    directory.down = False
    clock.advance(seconds=30)
    notifier.plan_due()
    assert [row.status for row in log_of(engine, owner)] == ["queued"]


def test_test_reminder_and_paginated_log(engine, notifier, directory, clock, smtp, twilio):
    owner = directory.add(channels="both")
    other = directory.add(channels="email")

    queued = notifier.request_test(owner, idempotency_key="k1")
    again = notifier.request_test(owner, idempotency_key="k1")
    notifier.send_due()

    assert [item["id"] for item in queued] == [item["id"] for item in again]
    page = notifier.list_notifications(owner, limit=1, offset=0)
    assert page["total"] == 2
    assert len(page["items"]) == 1
    second = notifier.list_notifications(owner, limit=1, offset=1)
    assert {page["items"][0]["channel"], second["items"][0]["channel"]} == {"email", "sms"}
    assert all(item["status"] == "sent" for item in page["items"] + second["items"])
    assert notifier.list_notifications(other)["total"] == 0
    assert "test reminder" in emails_to(smtp, directory, owner)[0].text

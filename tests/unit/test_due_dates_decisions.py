"""The due-date decision: which occasion of an unpaid installment is due, in the owner's zone."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest

from services.ledger.due_dates import (
    ReminderSettings,
    UnpaidInstallment,
    decide_occasions,
    occasion_event_id,
    scan_horizon,
)

LOAN = uuid.UUID("11111111-1111-4111-8111-111111111111")
OWNER = uuid.UUID("22222222-2222-4222-8222-222222222222")


def installment(due: dt.date, remaining: str = "250.00") -> UnpaidInstallment:
    return UnpaidInstallment(LOAN, OWNER, "Car", "EUR", 3, due, Decimal(remaining))


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def decide(due: dt.date, now: str, **settings: object) -> list:
    return decide_occasions(installment(due), ReminderSettings(**settings), at(now))  # type: ignore[arg-type]


JAN_15 = dt.date(2025, 1, 15)


def test_los_angeles_due_today_at_0130z() -> None:
    [occasion] = decide(JAN_15, "2025-01-16T01:30", time_zone="America/Los_Angeles", days_before=(3, 1, 0))
    assert occasion.event_type == "InstallmentDueSoon"
    assert occasion.data["days_before"] == 0


def test_los_angeles_overdue_one_day_at_0830z() -> None:
    [occasion] = decide(JAN_15, "2025-01-16T08:30", time_zone="America/Los_Angeles")
    assert occasion.event_type == "InstallmentOverdue"
    assert occasion.data["days_past_due"] == 1
    assert occasion.data["repeat"] == 0


def test_tokyo_overdue_one_day_at_1600z() -> None:
    [occasion] = decide(JAN_15, "2025-01-15T16:00", time_zone="Asia/Tokyo")
    assert occasion.event_type == "InstallmentOverdue"
    assert occasion.data["days_past_due"] == 1


def test_utc_not_overdue_on_due_date() -> None:
    [occasion] = decide(JAN_15, "2025-01-15T16:00", time_zone="UTC", days_before=(3, 1))
    assert occasion.event_type == "InstallmentDueSoon"


@pytest.mark.parametrize(
    ("now", "expected_days_before"),
    [
        ("2025-01-11T12:00", None),  # 4 days before: no offset reached yet
        ("2025-01-12T12:00", 3),
        ("2025-01-13T12:00", 3),  # still the 3-day occasion (same event id)
        ("2025-01-14T12:00", 1),
        ("2025-01-15T12:00", 1),  # offset 0 not chosen: the 1-day occasion stays current
    ],
)
def test_due_soon_offsets(now: str, expected_days_before: int | None) -> None:
    occasions = decide(JAN_15, now, days_before=(3, 1))
    if expected_days_before is None:
        assert occasions == []
    else:
        assert [o.data["days_before"] for o in occasions] == [expected_days_before]


def test_after_downtime_only_nearest_offset() -> None:
    [occasion] = decide(JAN_15, "2025-01-14T23:00", days_before=(7, 3, 1))
    assert occasion.data["days_before"] == 1


def test_same_occasion_same_event_id() -> None:
    first = decide(JAN_15, "2025-01-12T01:00", days_before=(3, 1))
    later = decide(JAN_15, "2025-01-13T22:00", days_before=(3, 1))
    assert first[0].event_id == later[0].event_id
    assert first[0].event_id == occasion_event_id(LOAN, 3, JAN_15, "due-soon:3")


@pytest.mark.parametrize(
    ("now", "repeat"),
    [
        ("2025-01-16T12:00", 0),
        ("2025-01-22T12:00", 0),  # 7 days past due: the first repeat is due on day 8
        ("2025-01-23T12:00", 1),
        ("2025-01-30T12:00", 2),
    ],
)
def test_overdue_repeats_every_seven_days(now: str, repeat: int) -> None:
    [occasion] = decide(JAN_15, now, overdue_repeat_days=7)
    assert occasion.data["repeat"] == repeat


def test_overdue_without_repeats_alerts_once() -> None:
    [occasion] = decide(JAN_15, "2025-03-01T12:00", overdue_repeat_days=None)
    assert occasion.data["repeat"] == 0


def test_overdue_repeats_are_capped() -> None:
    occasions = decide_occasions(
        installment(JAN_15), ReminderSettings(overdue_repeat_days=1), at("2026-01-01T00:00"), max_overdue_repeats=4
    )
    assert occasions[0].data["repeat"] == 4


def test_overdue_alerts_off() -> None:
    assert decide(JAN_15, "2025-01-20T12:00", overdue_alerts=False) == []


def test_paid_installment_has_no_occasion() -> None:
    paid = UnpaidInstallment(LOAN, OWNER, "Car", "EUR", 3, JAN_15, Decimal("0.00"))
    assert decide_occasions(paid, ReminderSettings(), at("2025-01-14T12:00")) == []


def test_amount_and_names_in_event_data() -> None:
    [occasion] = decide(JAN_15, "2025-01-14T12:00")
    assert occasion.data["amount_due"] == Decimal("250.00")
    assert occasion.data["loan_name"] == "Car"
    assert occasion.data["currency"] == "EUR"


def test_horizon_covers_every_zone_and_offset() -> None:
    assert scan_horizon(at("2025-01-15T23:59")) == dt.date(2025, 1, 15) + dt.timedelta(days=61)


def test_backdated_loan_alerts_earliest_installments_only():
    from services.ledger.due_dates import Occasion, limit_overdue_alerts

    loan = uuid.uuid4()
    overdue = [
        Occasion("InstallmentOverdue", uuid.uuid4(), {"loan_id": loan, "installment_number": number})
        for number in (7, 3, 5, 4, 6)
    ]
    due_soon = Occasion("InstallmentDueSoon", uuid.uuid4(), {"loan_id": loan, "installment_number": 9})

    limited = limit_overdue_alerts([*overdue, due_soon])

    assert [o.data["installment_number"] for o in limited if o.event_type == "InstallmentOverdue"] == [3, 4, 5]
    assert due_soon in limited

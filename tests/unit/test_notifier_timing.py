"""Pure notifier decisions: local send times across zones and DST, quiet hours, retries, caps, channels."""

from __future__ import annotations

import datetime as dt

import pytest

from services.notifier.domain import (
    MAX_RETRY_DELAY_SECONDS,
    QuietHours,
    after_failure,
    channels_for,
    is_stale,
    local_instant,
    other_channel,
    plan_send_at,
    retry_delay,
    sms_allowed,
)
from services.notifier.render import MAX_SMS_CHARACTERS, render

NEW_YORK = "America/New_York"


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def test_local_instant_plain_day() -> None:
    assert local_instant(dt.date(2025, 1, 15), dt.time(9, 0), NEW_YORK) == utc("2025-01-15T14:00")


def test_local_instant_spring_forward_gap() -> None:
    # 02:30 does not exist on 2025-03-09 in New York: the clocks jump from 02:00 EST to 03:00 EDT.
    assert local_instant(dt.date(2025, 3, 9), dt.time(2, 30), NEW_YORK) == utc("2025-03-09T07:00")


def test_local_instant_fall_back_first_occurrence() -> None:
    # 01:30 happens twice on 2025-11-02 in New York: 05:30Z (EDT), then 06:30Z (EST).
    assert local_instant(dt.date(2025, 11, 2), dt.time(1, 30), NEW_YORK) == utc("2025-11-02T05:30")


def test_local_instant_half_hour_zone_gap() -> None:
    # Lord Howe Island moves by 30 minutes: 02:00 -> 02:30 on 2025-10-05.
    assert local_instant(dt.date(2025, 10, 5), dt.time(2, 15), "Australia/Lord_Howe") == utc("2025-10-04T15:30")


@pytest.mark.parametrize(
    ("zone", "now", "expected"),
    [
        ("America/Los_Angeles", "2025-01-15T05:00", "2025-01-15T17:00"),  # 21:00 the day before: wait for 09:00
        ("America/Los_Angeles", "2025-01-15T04:59", "2025-01-15T04:59"),  # 20:59: still inside the window
        ("Asia/Tokyo", "2025-01-15T05:00", "2025-01-15T05:00"),  # 14:00 local, past 09:00: send now
        ("Asia/Tokyo", "2025-01-14T23:00", "2025-01-15T00:00"),  # 08:00 local: wait one hour
        ("Europe/Berlin", "2025-07-01T06:00", "2025-07-01T07:00"),  # summer time, UTC+2
    ],
)
def test_plan_send_at_earliest_local_time(zone: str, now: str, expected: str) -> None:
    assert plan_send_at(utc(now), zone, dt.time(9, 0), None, dt.time(21, 0)) == utc(expected)


def test_quiet_hours_across_midnight_hold_until_end() -> None:
    quiet = QuietHours.parse("22:00", "07:30")
    assert quiet is not None
    # 23:00 in Berlin (winter, UTC+1) is quiet until 07:30 the next morning.
    assert plan_send_at(utc("2025-01-15T22:00"), "Europe/Berlin", dt.time(0, 0), quiet) == utc("2025-01-16T06:30")


def test_quiet_hours_same_day_window() -> None:
    quiet = QuietHours.parse("12:00", "14:00")
    assert quiet is not None
    assert plan_send_at(utc("2025-01-15T12:30"), "UTC", dt.time(0, 0), quiet) == utc("2025-01-15T14:00")
    assert plan_send_at(utc("2025-01-15T14:00"), "UTC", dt.time(0, 0), quiet) == utc("2025-01-15T14:00")


def test_quiet_hours_ending_in_spring_forward_gap() -> None:
    quiet = QuietHours.parse("22:00", "02:30")
    assert quiet is not None
    # Planned at 22:30 EST on March 8: quiet hours end at a wall time that does not exist.
    assert plan_send_at(utc("2025-03-09T03:30"), NEW_YORK, dt.time(0, 0), quiet) == utc("2025-03-09T07:00")


def test_quiet_hours_ending_in_fall_back_repeat() -> None:
    quiet = QuietHours.parse("22:00", "01:30")
    assert quiet is not None
    assert plan_send_at(utc("2025-11-02T03:00"), NEW_YORK, dt.time(0, 0), quiet) == utc("2025-11-02T05:30")


def test_repeated_hour_quiet_end() -> None:
    quiet = QuietHours.parse("22:00", "01:30")
    assert quiet is not None
    # 06:00Z is 01:00 EST, the repeated hour after the change: still inside 22:00-01:30.
    assert quiet.end_after(utc("2025-11-02T06:00"), NEW_YORK) == utc("2025-11-02T05:30")


def test_quiet_hours_outside_window() -> None:
    quiet = QuietHours.parse("22:00", "07:00")
    assert quiet is not None
    assert quiet.end_after(utc("2025-01-15T12:00"), "UTC") is None


def test_retry_delay_grows_and_is_bounded() -> None:
    def highest(low: float, high: float) -> float:
        return high

    def lowest(low: float, high: float) -> float:
        return low

    assert [retry_delay(attempt, 30.0, highest) for attempt in (1, 2, 3)] == [30.0, 60.0, 120.0]
    assert retry_delay(1, 30.0, lowest) == 15.0
    assert retry_delay(40, 30.0, highest) == MAX_RETRY_DELAY_SECONDS


def test_after_failure_retries_then_gives_up() -> None:
    now = utc("2025-01-15T12:00")
    retry = after_failure(now, 1, 3, permanent=False, base_seconds=10.0, uniform=lambda low, high: high)
    assert retry.status == "queued"
    assert retry.retry_at == now + dt.timedelta(seconds=10)
    assert after_failure(now, 3, 3, permanent=False, base_seconds=10.0).status == "failed"
    assert after_failure(now, 1, 3, permanent=True, base_seconds=10.0).status == "failed"


@pytest.mark.parametrize(
    ("recipient", "overall", "allowed"),
    [(0, 0, True), (1, 9, True), (2, 0, False), (0, 10, False)],
)
def test_sms_caps(recipient: int, overall: int, allowed: bool) -> None:
    assert sms_allowed(recipient, overall, per_recipient_cap=2, global_cap=10) is allowed


def test_channels_need_an_address() -> None:
    assert channels_for("both", "a@example.com", "+15551234567") == ("email", "sms")
    assert channels_for("both", "a@example.com", None) == ("email",)
    assert channels_for("none", "a@example.com", "+15551234567") == ()


def test_other_channel_for_failures() -> None:
    assert other_channel("sms", "a@example.com", "+15551234567") == "email"
    assert other_channel("email", "a@example.com", None) is None


def test_render_formats_amount_for_locale() -> None:
    content = {"kind": "due_soon", "loan_name": "Auto", "amount": "1234.50", "currency": "EUR", "due_date": "2025-01-15", "days_before": 3}
    german = render(content, "de_DE")
    american = render(content, "en_US")
    assert "1.234,50\xa0€" in german.text
    assert "15. Januar 2025" in german.text
    assert "€1,234.50" in american.sms
    assert len(american.sms) <= MAX_SMS_CHARACTERS


def test_render_escapes_html() -> None:
    content = {"kind": "overdue", "loan_name": "<b>x</b>", "amount": "5.00", "currency": "USD", "due_date": "2025-01-15", "days_past_due": 2}
    message = render(content, "en")
    assert "&lt;b&gt;x&lt;/b&gt;" in message.html
    assert "2 days overdue" in message.text


@pytest.mark.parametrize(
    ("kind", "now", "stale"),
    [
        ("due_soon", "2025-01-15T14:00", False),  # due today in UTC
        ("due_soon", "2025-01-16T00:00", True),  # due date passed
        ("overdue", "2025-01-16T00:00", False),
        ("overdue", "2025-01-17T12:01", True),  # recorded more than two days ago
    ],
)
def test_stale_occasions(kind: str, now: str, stale: bool) -> None:
    recorded_at = utc("2025-01-15T12:00")
    assert is_stale(kind, dt.date(2025, 1, 15), recorded_at, utc(now), "UTC") is stale


def test_due_soon_stale_by_local_date() -> None:
    recorded_at = utc("2025-01-15T12:00")
    # 15:00Z on January 15 is January 16 in Tokyo, but still January 15 in New York.
    assert is_stale("due_soon", dt.date(2025, 1, 15), recorded_at, utc("2025-01-15T15:00"), "Asia/Tokyo") is True
    assert is_stale("due_soon", dt.date(2025, 1, 15), recorded_at, utc("2025-01-15T15:00"), NEW_YORK) is False

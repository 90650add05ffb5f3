"""Reminders end to end: every service as its own process, email and SMS on the console channel."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from nameko.standalone.rpc import ClusterRpcProxy

import loansyncro.service_kit  # noqa: F401 - registers the cross-service errors for RPC callers
from loansyncro.config import Settings
from tests.e2e.api_client import ApiClient

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

PASSWORD = "violet tractor sings at dawn"


def wait_for(check: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.3)


# Zones from UTC-10 to UTC+14: at any instant one of them is between 10:00 and 20:00 local,
# inside the notifier's default sending window (09:00 to 21:00).
ZONES = ("Pacific/Honolulu", "America/New_York", "UTC", "Asia/Dubai", "Asia/Tokyo", "Pacific/Kiritimati")


def daytime_zone() -> ZoneInfo:
    now = dt.datetime.now(dt.UTC)
    return next(ZoneInfo(name) for name in ZONES if 10 <= now.astimezone(ZoneInfo(name)).hour < 20)


def signed_in_client(base_url: str, **profile: Any) -> ApiClient:
    client = ApiClient(base_url)
    email = f"user-{uuid.uuid4().hex[:12]}@example.com"
    client.register(email, PASSWORD, **profile)
    client.sign_in(email, PASSWORD)
    return client


def test_test_reminder_is_sent_and_listed(base_url: str) -> None:
    client = signed_in_client(base_url, phone="+15551230000")
    client.change_reminder_preferences(channels="both")

    queued = client.send_test_reminder(key="test-reminder-1")
    again = client.send_test_reminder(key="test-reminder-1")

    assert sorted(item["channel"] for item in queued["items"]) == ["email", "sms"]
    assert [item["id"] for item in again["items"]] == [item["id"] for item in queued["items"]]
    # The two channels are sent independently: wait until both are.
    sent = wait_for(
        lambda: len(items := [item for item in client.notifications()["items"] if item["status"] == "sent"]) == 2 and items
    )
    assert sent, "both test reminders should be sent within the wait"
    assert sorted(item["channel"] for item in sent) == ["email", "sms"]
    assert all(item["provider_id"].startswith("console-") for item in sent)
    assert signed_in_client(base_url).notifications()["total"] == 0


def test_notifications_page_size_is_checked(base_url: str) -> None:
    response = signed_in_client(base_url).request("GET", "/api/v1/notifications", params={"limit": "1000"})

    assert response.status_code == 422
    assert "limit" in response.text


def test_due_date_reminder_reaches_the_log(base_url: str, settings: Settings) -> None:
    """A loan due in two days: the ledger's scan records the occasion and the notifier sends it."""
    zone = daytime_zone()
    client = signed_in_client(base_url, time_zone=zone.key)
    due = dt.datetime.now(zone).date() + dt.timedelta(days=2)
    loan = client.create_loan(
        name="Bike",
        loan_type="personal",
        currency="EUR",
        principal="1200.00",
        annual_rate="0",
        start_date=(due - dt.timedelta(days=30)).isoformat(),
        first_payment_date=due.isoformat(),
        installments=12,
    )

    config = {"AMQP_URI": settings.amqp_uri, "rpc_exchange": "loansyncro-rpc", "serializer": "json"}
    with ClusterRpcProxy(config) as rpc:
        rpc.ledger.scan_due_dates_now()

    def reminder() -> list[dict[str, Any]]:
        items = client.notifications()["items"]
        return [item for item in items if item["loan_id"] == loan["id"] and item["status"] == "sent"]

    [sent] = wait_for(reminder, timeout=30.0)
    assert sent["kind"] == "due_soon"
    assert sent["channel"] == "email"
    assert sent["amount"] == "100.00"
    assert sent["due_date"] == due.isoformat()

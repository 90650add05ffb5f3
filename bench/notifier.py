"""Due-date scan cost and notification throughput, each against a plain baseline in the same run.

Scan: the ledger's projection is filled with synthetic loans with three unpaid
installments each. A given share of them has its next installment due within
two days, and the rest are due 100 to 400 days ahead, beyond the scan's 61-day
horizon. `DueDateScanner.find_occasions` (index range, join, decisions) and a
full `scan` (which appends one event per occasion) are compared with a plain
indexed SELECT of the same due loan rows.

Throughput: `Notifier.send_due` sends notifications queued for "now" (claim
with SKIP LOCKED, cap counters, send, log, ReminderSent event) to a local
aiosmtpd server and a local Twilio fake. The baseline sends the same number
of messages straight through smtplib and the twilio client.

Everything runs against servers on 127.0.0.1 in a throwaway database.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import smtplib
import time
import uuid
from email.message import EmailMessage
from typing import Any

import sqlalchemy as sa
from twilio.rest import Client

import loansyncro.events  # noqa: F401  (registers the contracts)
from bench.common import markdown_table, median_seconds, throwaway_environment
from loansyncro.db import make_engine
from services.ledger.due_dates import DueDateScanner, _candidates_query, scan_horizon
from services.notifier.channels import build_senders
from services.notifier.delivery import Notifier, NotifierConfig
from services.notifier.render import render
from tests.fakes.smtp import FakeSmtpServer
from tests.fakes.twilio import FakeTwilioServer

FILL_LOANS = """
INSERT INTO ledger.loans (loan_id, owner_id, name, loan_type, currency, principal, annual_rate,
                          start_date, lifecycle, created_data, next_due_date, next_due_amount, standing)
SELECT md5('loan' || n)::uuid, md5('owner' || (n % :owners))::uuid, 'Loan ' || n, 'personal', 'EUR', 10000, 5,
       :today - 300, 'active', '{}'::jsonb,
       CASE WHEN n % :every = 0 THEN :today + (n % 3) ELSE :today + 100 + (n % 300) END,
       300, 'on_track'
FROM generate_series(1, :loans) AS n
"""

FILL_INSTALLMENTS = """
INSERT INTO ledger.installments (loan_id, number, due_date, amount_due, paid, remaining, status, days_past_due)
SELECT l.loan_id, k, l.next_due_date + (k - 1) * 30, 300, 0, 300, 'upcoming', 0
FROM ledger.loans l CROSS JOIN generate_series(1, 3) AS k
"""

PLAIN_DUE_SELECT = "SELECT loan_id FROM ledger.loans WHERE next_due_date IS NOT NULL AND next_due_date <= :horizon"


class StaticDirectory:
    def __init__(self) -> None:
        self.contacts: dict[str, dict[str, Any]] = {}

    def get_contact(self, user_id: str) -> dict[str, Any]:
        return self.contacts[user_id]


class AlwaysOutstanding:
    def is_installment_outstanding(self, loan_id: str, installment_number: int, due_date: str) -> bool:
        return True


def bench_scan(admin: sa.Engine, engine: sa.Engine, loans: int, due_share: float, repeat: int) -> list[list[str]]:
    today = dt.date.today()
    every = max(1, round(1 / due_share))
    with admin.begin() as conn:
        conn.execute(sa.text(FILL_LOANS), {"owners": max(1, loans // 3), "every": every, "today": today, "loans": loans})
        conn.execute(sa.text(FILL_INSTALLMENTS))
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("ANALYZE ledger.loans"))
        conn.execute(sa.text("ANALYZE ledger.installments"))

    now = dt.datetime.now(dt.UTC)
    horizon = scan_horizon(now)
    scanner = DueDateScanner(engine)
    with engine.connect() as conn:
        due_rows = len(conn.execute(sa.text(PLAIN_DUE_SELECT), {"horizon": horizon}).all())
        plan = conn.execute(sa.text(f"EXPLAIN {PLAIN_DUE_SELECT}"), {"horizon": horizon}).scalars().all()
        candidates_query = _candidates_query(horizon).compile(conn, compile_kwargs={"literal_binds": True})
        scan_plan = conn.execute(sa.text(f"EXPLAIN {candidates_query}")).scalars().all()
    uses_index = any("next_due_date_idx" in line for line in plan)
    scan_uses_index = any("next_due_date_idx" in line for line in scan_plan)

    def plain() -> None:
        with engine.connect() as conn:
            conn.execute(sa.text(PLAIN_DUE_SELECT), {"horizon": horizon}).all()

    def find() -> None:
        with engine.connect() as conn:
            scanner.find_occasions(conn, now)

    plain_seconds = median_seconds(plain, repeat)
    find_seconds = median_seconds(find, repeat)
    started = time.perf_counter()
    first = scanner.scan(now)
    first_seconds = time.perf_counter() - started
    again_seconds = median_seconds(lambda: scanner.scan(now), repeat)

    def row(name: str, seconds: float, note: str) -> list[str]:
        return [name, f"{seconds * 1000:.1f}", f"{seconds / plain_seconds:.1f}x", note]

    return [
        row("plain indexed SELECT of due loans", plain_seconds, f"{due_rows} of {loans} loans; index used: {uses_index}"),
        row(
            "find_occasions (query + decisions)",
            find_seconds,
            f"{first.candidates} candidate installments; index used: {scan_uses_index}",
        ),
        row("scan, first run", first_seconds, f"{first.recorded} events appended"),
        row("scan, repeated", again_seconds, "0 new events (ids already stored)"),
    ]


def bench_throughput(engine: sa.Engine, settings: Any, messages: int) -> list[list[str]]:
    smtp = FakeSmtpServer().start()
    twilio = FakeTwilioServer().start()
    try:
        provider_settings = dataclasses.replace(
            settings,
            smtp_host=smtp.host,
            smtp_port=smtp.port,
            smtp_security="none",
            twilio_account_sid=twilio.account_sid,
            twilio_auth_token=twilio.auth_token,
            twilio_from_number=twilio.from_number,
            twilio_base_url=twilio.base_url,
        )
        directory = StaticDirectory()
        config = NotifierConfig(sms_cap_per_recipient=messages, sms_cap_global=messages * 2, batch_size=messages * 2)
        notifier = Notifier(engine, build_senders(provider_settings), directory, AlwaysOutstanding(), config)
        owners = []
        for index in range(messages):
            owner = uuid.uuid4()
            directory.contacts[str(owner)] = {
                "email": f"bench-{index}@example.com",
                "phone": "+15551230000",
                "locale": "en_US",
                "time_zone": "UTC",
                "reminder_preferences": {"channels": "both"},
            }
            owners.append(owner)
        for owner in owners:
            notifier.request_test(owner)

        started = time.perf_counter()
        sent = 0
        while sent < 2 * messages:
            attempts = notifier.send_due()
            if attempts == 0:
                break
            sent += attempts
        notifier_seconds = time.perf_counter() - started

        message = render({"kind": "test"}, "en_US")
        client = Client(twilio.account_sid, twilio.auth_token)
        client.api.base_url = twilio.base_url
        started = time.perf_counter()
        for index in range(messages):
            email = EmailMessage()
            email["From"] = "bench@localhost"
            email["To"] = f"bench-{index}@example.com"
            email["Subject"] = message.subject
            email.set_content(message.text)
            with smtplib.SMTP(smtp.host, smtp.port) as connection:
                connection.send_message(email)
            client.messages.create(to="+15551230000", from_=twilio.from_number, body=message.sms)
        direct_seconds = time.perf_counter() - started
    finally:
        smtp.stop()
        twilio.stop()

    return [
        ["Notifier.send_due", str(sent), f"{sent / notifier_seconds:.0f}", f"{notifier_seconds / direct_seconds:.2f}x"],
        ["smtplib + twilio client directly", str(2 * messages), f"{2 * messages / direct_seconds:.0f}", "1.00x"],
    ]


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(prog="python -m bench.notifier", description=__doc__)
    parser.add_argument("--loans", type=int, default=100_000, help="synthetic loans in the ledger (default 100000)")
    parser.add_argument("--due-share", type=float, default=0.01, help="share of loans due within two days (default 0.01)")
    parser.add_argument("--messages", type=int, default=200, help="users sent one email and one SMS each (default 200)")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per measurement; the median is shown (default 5)")
    args = parser.parse_args(argv)
    if not 0 < args.due_share <= 1:
        parser.error(f"--due-share {args.due_share} is out of range: use a fraction above 0 and at most 1, such as 0.01")

    with throwaway_environment("loansyncro_bench_notifier") as settings:
        engine = make_engine(settings, pool_size=4)
        admin = make_engine(settings, role=None, pool_size=2)
        try:
            scan_rows = bench_scan(admin, engine, args.loans, args.due_share, args.repeat)
            throughput_rows = bench_throughput(engine, settings, args.messages)
        finally:
            engine.dispose()
            admin.dispose()

    output = "\n\n".join(
        [
            f"Due-date scan over {args.loans} loans, {args.due_share:.0%} due (median of {args.repeat} runs):",
            markdown_table(["operation", "ms", "vs plain SELECT", "notes"], scan_rows),
            f"Notification throughput, {args.messages} users x (email + SMS) on loopback fakes:",
            markdown_table(["sender", "messages", "messages/s", "time vs direct"], throughput_rows),
        ]
    )
    print(output)
    return output


if __name__ == "__main__":
    main()

"""nameko entrypoints of the ledger: event consumer, catch-up timer and read RPCs.

Read RPCs take the user id first and the user's IANA time zone, which the
gateway passes (UTC when it has none). "Today" for arrears and due dates is
the date in that zone. The ledger keeps the zone per loan for the figures it
recomputes when events arrive.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from datetime import date
from typing import Any

from nameko.timer import timer

from loansyncro.command_input import parse_user_id
from loansyncro.errors import ValidationFailed
from loansyncro.loan_stream import parse_loan_id
from loansyncro.service_kit import Database, event_consumer, rpc
from services.ledger.due_dates import DueDateScanner, installment_outstanding
from services.ledger.projection import build_follower
from services.ledger.queries import Reader, check_time_zone, parse_dashboard_filter, parse_date_option
from services.ledger import statements

log = logging.getLogger(__name__)

# The timer fires every second; the catch-up runs every CATCH_UP_INTERVAL seconds.
TIMER_SECONDS = 1.0
_last_catch_up = 0.0
_last_due_date_scan = 0.0


class LedgerService:
    name = "ledger"

    db = Database()

    def _reader(self) -> Reader:
        return Reader(self.db.engine, build_follower(self.db.engine))

    @event_consumer("ledger")
    def handle_event(self, body: Mapping[str, Any]) -> None:
        build_follower(self.db.engine).handle_message(body)

    @timer(interval=TIMER_SECONDS, eager=True)
    def catch_up(self) -> None:
        global _last_catch_up
        now = time.monotonic()
        if now - _last_catch_up < self.db.settings.catch_up_interval:
            return
        _last_catch_up = now
        scanned = build_follower(self.db.engine).catch_up()
        if scanned:
            log.info("ledger caught up from the event store", extra={"events": scanned})

    @rpc
    def catch_up_streams(self, stream_versions: Mapping[str, int]) -> None:
        """Apply the named streams up to the given versions; the gateway calls it after a write."""
        self._reader().catch_up_streams(stream_versions)

    @rpc
    def dashboard(self, user_id: str, query: Mapping[str, Any] | None = None, time_zone: str | None = None) -> dict[str, Any]:
        owner = parse_user_id(user_id)
        return self._reader().dashboard(owner, check_time_zone(time_zone), parse_dashboard_filter(query or {}))

    @rpc
    def loan_summary(self, user_id: str, loan_id: str, time_zone: str | None = None) -> dict[str, Any]:
        return self._reader().loan_summary(parse_user_id(user_id), parse_loan_id(loan_id), check_time_zone(time_zone))

    @rpc
    def schedule(self, user_id: str, loan_id: str, time_zone: str | None = None) -> dict[str, Any]:
        return self._reader().schedule(parse_user_id(user_id), parse_loan_id(loan_id), check_time_zone(time_zone))

    @rpc
    def history(self, user_id: str, loan_id: str, query: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """List the loan's events with the balance after each; `as_of` (a date) returns the state on that date."""
        owner, loan = parse_user_id(user_id), parse_loan_id(loan_id)
        query = query or {}
        as_of = parse_date_option(query, "as_of")
        reader = self._reader()
        if as_of is not None:
            return reader.balance_as_of(owner, loan, as_of)
        raw_position = query.get("position")
        try:
            position = None if raw_position in (None, "") else int(raw_position)
        except (TypeError, ValueError):
            raise ValidationFailed("position", raw_position, "position must be a whole number (an event position)") from None
        return reader.history(owner, loan, position)

    # Statements and exports (see statements.py) ----------------------------------

    @rpc
    def statement_data(self, user_id: str, query: Mapping[str, Any] | None = None, time_zone: str | None = None) -> dict[str, Any]:
        """Return the loans, schedules and repayments that exports show, with the dashboard's filters and totals."""
        owner = parse_user_id(user_id)
        return statements.statement_data(self._reader(), owner, check_time_zone(time_zone), parse_dashboard_filter(query or {}))

    # Due-date scan (see due_dates.py) -------------------------------------------

    @timer(interval=TIMER_SECONDS, eager=False)
    def scan_due_dates(self) -> None:
        global _last_due_date_scan
        now = time.monotonic()
        if now - _last_due_date_scan < self.db.settings.due_date_scan_interval:
            return
        _last_due_date_scan = now
        DueDateScanner(self.db.engine).scan()

    @rpc
    def scan_due_dates_now(self) -> dict[str, int]:
        """Run the due-date scan at once (operators and end-to-end tests); returns what it found."""
        result = DueDateScanner(self.db.engine).scan()
        return {"candidates": result.candidates, "recorded": result.recorded}

    @rpc
    def is_installment_outstanding(self, loan_id: str, installment_number: int, due_date: str) -> bool:
        """Tell whether the installment is still unpaid; the notifier checks right before sending."""
        loan = parse_loan_id(loan_id)
        # Apply repayments the ledger has not seen yet, so a payment just logged counts.
        build_follower(self.db.engine).catch_up_stream(f"repayments-{loan}")
        with self.db.engine.connect() as conn:
            return installment_outstanding(conn, loan, int(installment_number), date.fromisoformat(due_date))


"""nameko entrypoints of the notifier: the due-date event consumer, the send timer and RPCs.

Contact data (email, phone) is encrypted in account events, so the notifier
fetches it from accounts over RPC (`get_contact`) each time it plans or
sends, and stores no address itself.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

import eventlet
from nameko.extensions import DependencyProvider
from nameko.rpc import RpcProxy
from nameko.timer import timer

from loansyncro.command_input import parse_user_id
from loansyncro.config import load_settings
from loansyncro.service_kit import Database, event_consumer, rpc
from services.notifier.channels import Sender, build_senders
from services.notifier.delivery import Notifier, NotifierConfig, parse_page

log = logging.getLogger(__name__)

TIMER_SECONDS = 1.0
_last_catch_up = 0.0


class Senders(DependencyProvider):
    """One sender per channel for the container, built from the settings at start."""

    def setup(self) -> None:
        self.senders = build_senders(load_settings())
        log.info("notifier channels", extra={channel: sender.provider for channel, sender in self.senders.items()})

    def get_dependency(self, worker_ctx: Any) -> Mapping[str, Sender]:
        return self.senders


class TimedRpc:
    """Accounts and ledger RPCs with the configured timeout, so a silent service cannot stall the timer.

    eventlet.Timeout derives from BaseException, so it is turned into TimeoutError,
    which the notifier treats as a transient failure.
    """

    def __init__(self, accounts: Any, ledger: Any, timeout_seconds: float) -> None:
        self.accounts = accounts
        self.ledger = ledger
        self.timeout_seconds = timeout_seconds

    def _call(self, method: Any, *args: Any) -> Any:
        try:
            with eventlet.Timeout(self.timeout_seconds):
                return method(*args)
        except eventlet.Timeout:
            raise TimeoutError(f"no reply within {self.timeout_seconds} s (RPC_TIMEOUT)") from None

    def get_contact(self, user_id: str) -> dict[str, Any]:
        return self._call(self.accounts.get_contact, user_id)  # type: ignore[no-any-return]

    def is_installment_outstanding(self, loan_id: str, installment_number: int, due_date: str) -> bool:
        return bool(self._call(self.ledger.is_installment_outstanding, loan_id, installment_number, due_date))


class NotifierService:
    name = "notifier"

    db = Database()
    senders = Senders()
    accounts = RpcProxy("accounts")
    ledger = RpcProxy("ledger")

    def _notifier(self) -> Notifier:
        settings = self.db.settings
        rpc = TimedRpc(self.accounts, self.ledger, settings.rpc_timeout)
        return Notifier(self.db.engine, self.senders, rpc, rpc, NotifierConfig.from_settings(settings))

    @event_consumer("notifier")
    def handle_event(self, body: Mapping[str, Any]) -> None:
        self._notifier().follower.handle_message(body)

    @timer(interval=TIMER_SECONDS, eager=True)
    def work(self) -> None:
        """Catch up from the store now and then, plan new occasions and send what is due."""
        global _last_catch_up
        notifier = self._notifier()
        now = time.monotonic()
        if now - _last_catch_up >= self.db.settings.catch_up_interval:
            _last_catch_up = now
            notifier.follower.catch_up()
        notifier.plan_due()
        notifier.send_due()

    @rpc
    def list_notifications(self, user_id: str, query: Mapping[str, Any] | None = None) -> dict[str, Any]:
        limit, offset = parse_page(query or {})
        return self._notifier().list_notifications(parse_user_id(user_id), limit, offset)

    @rpc
    def send_test_reminder(self, user_id: str, idempotency_key: str | None = None) -> dict[str, Any]:
        """Queue a test reminder on the user's channels; the timer sends it within a second or so."""
        items = self._notifier().request_test(parse_user_id(user_id), idempotency_key)
        return {"items": items}

"""The probe consumer as a nameko service, run with `nameko run` by the tests."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from nameko.messaging import consume
from nameko.rpc import rpc
from nameko.timer import timer

from loansyncro.messaging import consumer_queue
from loansyncro.service_kit import Database, Persistence
from tests.integration import probe


class ProbeService:
    name = "probe"

    db: Persistence = Database()

    @consume(consumer_queue(probe.CONSUMER, probe.EVENT_TYPES), requeue_on_error=False)
    def on_event(self, body: dict[str, Any]) -> None:
        probe.follower(self.db.engine).handle_message(body)

    @timer(interval=0.5)
    def catch_up(self) -> None:
        probe.follower(self.db.engine).catch_up()

    @rpc
    def slow_query(self, seconds: float) -> float:
        with self.db.engine.connect() as conn:
            conn.execute(sa.text("SELECT pg_sleep(:s)"), {"s": seconds})
        return seconds

"""Relay committed events from the event store to RabbitMQ.

The event store is the outbox: an event exists once its transaction commits,
and the relay publishes it afterwards, in commit-safe order, with publisher
confirms. Its checkpoint moves only after RabbitMQ confirmed a batch, so a
relay that crashes or loses the broker publishes the unconfirmed tail again.
Delivery is therefore at least once, and consumers apply each event once by
its stream version.

Only one relay publishes at a time: each replica tries to take a PostgreSQL
session advisory lock, and the others wait as standbys. The lock is released
when the leader's connection ends, so a standby takes over after a crash.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
import time
from typing import Final

import sqlalchemy as sa
from kombu import Connection, Producer
from sqlalchemy.engine import Engine

from loansyncro.config import Settings, load_settings
from loansyncro.db import make_engine
from loansyncro.eventstore import Checkpoint, EventStore, RecordedEvent
from loansyncro.eventstore.schema import relay_checkpoints
from loansyncro.logs import configure_logging
from loansyncro.messaging import EVENTS_EXCHANGE

log = logging.getLogger(__name__)

# Arbitrary constant shared by every relay replica: the advisory lock's key.
RELAY_LOCK_KEY: Final = 0x6C6F616E5F72656C  # "loan_rel"


class Relay:
    def __init__(
        self,
        engine: Engine,
        amqp_uri: str,
        *,
        name: str = "main",
        batch_size: int = 500,
        idle_seconds: float = 0.1,
    ) -> None:
        self.engine = engine
        self.store = EventStore(engine)
        self.amqp_uri = amqp_uri
        self.name = name
        self.batch_size = batch_size
        self.idle_seconds = idle_seconds
        self.stopping = threading.Event()

    def load_checkpoint(self) -> Checkpoint:
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(
                    sa.cast(sa.cast(relay_checkpoints.c.transaction_id, sa.Text), sa.BigInteger),
                    relay_checkpoints.c.position,
                ).where(relay_checkpoints.c.relay == self.name)
            ).first()
        return Checkpoint() if row is None else Checkpoint(int(row[0]), int(row[1]))

    def save_checkpoint(self, checkpoint: Checkpoint) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                sa.text(
                    """
                    INSERT INTO eventstore.relay_checkpoints (relay, transaction_id, position)
                    VALUES (:relay, CAST(CAST(:transaction_id AS text) AS xid8), :position)
                    ON CONFLICT (relay) DO UPDATE
                    SET transaction_id = EXCLUDED.transaction_id, position = EXCLUDED.position,
                        updated_at = now()
                    """
                ),
                {"relay": self.name, "transaction_id": checkpoint.transaction_id, "position": checkpoint.position},
            )

    def publish(self, producer: Producer, batch: list[RecordedEvent]) -> None:
        # With confirm_publish on the connection, each publish returns only
        # after the broker confirmed it, and raises if the broker refused it.
        for recorded in batch:
            producer.publish(
                recorded.to_message(),
                exchange=EVENTS_EXCHANGE,
                routing_key=recorded.event_type,
                serializer="json",
                delivery_mode=2,
                message_id=str(recorded.event_id),
                headers={"stream_id": recorded.stream_id, "version": recorded.version},
                retry=False,
            )

    def relay_once(self, producer: Producer) -> int:
        """Publish the next batch after the checkpoint; return how many events went out."""
        checkpoint = self.load_checkpoint()
        batch = self.store.catch_up(checkpoint, limit=self.batch_size)
        if not batch:
            return 0
        self.publish(producer, batch)
        self.save_checkpoint(batch[-1].checkpoint)
        log.debug(
            "relay published",
            extra={"count": len(batch), "first_position": batch[0].position, "last_position": batch[-1].position},
        )
        return len(batch)

    def run(self) -> None:
        """Wait for leadership, then publish until `stop()`; reconnect with backoff on failures."""
        log.info("relay starting", extra={"relay": self.name})
        delay = 0.5
        while not self.stopping.is_set():
            try:
                with self.engine.connect() as lock_conn:
                    if not lock_conn.execute(sa.select(sa.func.pg_try_advisory_lock(RELAY_LOCK_KEY))).scalar_one():
                        lock_conn.rollback()
                        self.stopping.wait(1.0)
                        continue
                    lock_conn.commit()
                    log.info("relay is the leader", extra={"relay": self.name})
                    try:
                        self._publish_while_leader()
                    finally:
                        lock_conn.execute(sa.select(sa.func.pg_advisory_unlock(RELAY_LOCK_KEY)))
                        lock_conn.commit()
                delay = 0.5
            except Exception:
                log.exception("relay failed; retrying", extra={"relay": self.name, "retry_in_seconds": delay})
                self.stopping.wait(delay)
                delay = min(delay * 2, 30.0)
        log.info("relay stopped", extra={"relay": self.name})

    def _publish_while_leader(self) -> None:
        with Connection(self.amqp_uri, transport_options={"confirm_publish": True}, connect_timeout=5) as amqp:
            amqp.ensure_connection(max_retries=1)
            producer = Producer(amqp.channel())
            EVENTS_EXCHANGE(producer.channel).declare()
            while not self.stopping.is_set():
                if self.relay_once(producer) == 0:
                    self.stopping.wait(self.idle_seconds)

    def stop(self) -> None:
        self.stopping.set()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="loansyncro relay",
        description="Publish committed events from the event store to RabbitMQ (DATABASE_URL, AMQP_URI).",
    )
    parser.add_argument("--name", default="main", help="checkpoint name; replicas share it (default: main)")
    parser.add_argument("--idle", type=float, default=0.1, help="seconds to wait when no event is pending")
    args = parser.parse_args(argv)

    settings: Settings = load_settings()
    configure_logging("relay", settings.log_level, settings.log_format)
    relay = Relay(
        # The leader lock's connection, plus one for each step while the lock is held.
        make_engine(settings, pool_size=2),
        settings.amqp_uri,
        name=args.name,
        batch_size=settings.relay_batch_size,
        idle_seconds=args.idle,
    )
    signal.signal(signal.SIGTERM, lambda *_: relay.stop())
    signal.signal(signal.SIGINT, lambda *_: relay.stop())
    relay.run()


if __name__ == "__main__":
    main()

"""Apply events to a projection exactly once, from RabbitMQ or from the store.

Each consumer keeps, in its own schema and in the same transaction as its
effect, the last version it applied of every stream. An event at or below
that version is a duplicate and is skipped; an event further ahead means the
consumer missed some, so it reads the missing versions from the store first.
Messages are only a fast path: `catch_up` follows the whole log from the
consumer's checkpoint, so events whose messages were lost, or that arrived
while the consumer was down, are applied all the same.

A handler that raises is retried with exponential backoff. When the retries
are used up the event is parked in the consumer's dead-letter table with its
reason, the rest of its stream waits behind it, and other streams go on.
`retry_parked` applies it again once the cause is fixed. Failures reaching
the database itself are not parked: the next catch-up applies those events.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final, Literal

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Connection, Engine

from loansyncro.eventstore import Checkpoint, EventStore, RecordedEvent
from loansyncro.logs import correlation_id

log = logging.getLogger(__name__)

Handler = Callable[[Connection, RecordedEvent], None]
Outcome = Literal["applied", "duplicate", "held", "parked", "deferred"]

MAX_BACKOFF_SECONDS: Final = 5.0

_TRY_LOCK: Final = sa.text("SELECT pg_try_advisory_lock(hashtextextended(:key, 0))")
_UNLOCK: Final = sa.text("SELECT pg_advisory_unlock(hashtextextended(:key, 0))")


@dataclass(frozen=True)
class ConsumerTables:
    streams: sa.Table
    checkpoints: sa.Table
    dead_letters: sa.Table


def consumer_tables(metadata: sa.MetaData) -> ConsumerTables:
    """Define the tracking tables in `metadata` (and so in its schema) of the consuming service."""
    return ConsumerTables(
        streams=sa.Table(
            "consumer_streams",
            metadata,
            sa.Column("consumer", sa.Text, primary_key=True),
            sa.Column("stream_id", sa.Text, primary_key=True),
            sa.Column("version", sa.Integer, nullable=False),
        ),
        checkpoints=sa.Table(
            "consumer_checkpoints",
            metadata,
            sa.Column("consumer", sa.Text, primary_key=True),
            sa.Column("transaction_id", sa.BigInteger, nullable=False),
            sa.Column("position", sa.BigInteger, nullable=False),
        ),
        dead_letters=sa.Table(
            "dead_letters",
            metadata,
            sa.Column("consumer", sa.Text, primary_key=True),
            sa.Column("event_id", sa.Uuid, primary_key=True),
            sa.Column("stream_id", sa.Text, nullable=False),
            sa.Column("version", sa.Integer, nullable=False),
            sa.Column("event_type", sa.Text, nullable=False),
            sa.Column("reason", sa.Text, nullable=False),
            sa.Column("attempts", sa.Integer, nullable=False),
            sa.Column("parked_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
            sa.Column("resolved_at", sa.DateTime(timezone=True)),
            # Set by an operator (`loansyncro dead-letters retry`); the next catch-up retries the event.
            sa.Column("retry_requested_at", sa.DateTime(timezone=True)),
            sa.Index(None, "consumer", "stream_id", postgresql_where=sa.text("resolved_at IS NULL")),
        ),
    )


class HandlerFailed(Exception):
    def __init__(self, event: RecordedEvent, cause: BaseException) -> None:
        super().__init__(f"{event.event_type} {event.event_id} at {event.stream_id} v{event.version}: {cause!r}")
        self.event = event
        self.cause = cause


class Follower:
    """Applies events of the types in `handlers` for the consumer `name`."""

    def __init__(
        self,
        engine: Engine,
        name: str,
        tables: ConsumerTables,
        handlers: Mapping[str, Handler],
        *,
        attempts: int = 4,
        base_delay: float = 0.05,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.engine = engine
        self.store = EventStore(engine)
        self.name = name
        self.tables = tables
        self.handlers = dict(handlers)
        self.attempts = attempts
        self.base_delay = base_delay
        self.sleep = sleep

    # Entry points ---------------------------------------------------------

    def handle_message(self, body: Mapping[str, Any]) -> Outcome:
        """Apply one event delivered by RabbitMQ (and any versions of its stream before it)."""
        event = RecordedEvent.from_message(dict(body))
        # Log lines of this delivery carry the id of the request that caused the event.
        token = correlation_id.set(str(event.metadata.get("correlation_id") or event.event_id))
        try:
            return self.apply_through(event.stream_id, event.version, known={event.version: event})
        finally:
            correlation_id.reset(token)

    def catch_up(self, limit: int = 500) -> int:
        """Apply the stored events after this consumer's checkpoint; return how many were scanned.

        Replicas take turns through a session advisory lock: a replica that
        finds it taken skips this round. Parked events an operator asked to
        retry are retried first.
        """
        self._retry_requested()
        scanned = 0
        # An advisory lock, unlike a row lock held across the batch, gives the
        # session no transaction id, so it cannot hold back the snapshot xmin
        # that every follower of the store reads up to. Each step below runs in
        # its own short transaction on the lock's connection, so a catch-up
        # holds one pooled connection. With a second one, several followers of
        # one process could fill the pool and each wait for a connection
        # another holds.
        with self.engine.connect() as conn:
            if not conn.execute(_TRY_LOCK, {"key": f"consumer:{self.name}"}).scalar_one():
                conn.rollback()
                return 0
            conn.commit()
            try:
                while True:
                    checkpoint = self._load_checkpoint(conn)
                    batch = self.store.catch_up(checkpoint, limit=limit, event_types=sorted(self.handlers), conn=conn)
                    conn.commit()
                    if not batch:
                        return scanned

                    # One pass per stream, up to its newest version in the batch.
                    newest: dict[str, RecordedEvent] = {}
                    for recorded in batch:
                        newest[recorded.stream_id] = recorded
                    outcomes = [
                        self.apply_through(stream_id, recorded.version, conn=conn) for stream_id, recorded in newest.items()
                    ]
                    if "deferred" in outcomes:
                        # The checkpoint stays before this batch, so the next
                        # catch-up reads it again; applied streams skip it as duplicates.
                        return scanned

                    self._save_checkpoint(batch[-1].checkpoint, conn)
                    scanned += len(batch)
                    if len(batch) < limit:
                        return scanned
            finally:
                conn.rollback()
                conn.execute(_UNLOCK, {"key": f"consumer:{self.name}"})
                conn.commit()

    def catch_up_stream(self, stream_id: str) -> Outcome:
        """Apply everything the store holds for one stream; used to read one's own writes."""
        return self.apply_through(stream_id, self.store.stream_version(stream_id))

    def retry_parked(self, event_id: uuid.UUID) -> Outcome:
        """Release a parked event and apply its stream again up to the newest version."""
        dead = self.tables.dead_letters
        with self.engine.begin() as conn:
            row = conn.execute(
                sa.update(dead)
                .where(dead.c.consumer == self.name, dead.c.event_id == event_id, dead.c.resolved_at.is_(None))
                .values(resolved_at=sa.func.now())
                .returning(dead.c.stream_id)
            ).first()
        if row is None:
            raise LookupError(f"no parked event {event_id} for consumer {self.name}")
        log.info("parked event released", extra={"consumer": self.name, "event_id": str(event_id)})
        return self.catch_up_stream(row.stream_id)

    def _retry_requested(self) -> None:
        dead = self.tables.dead_letters
        with self.engine.connect() as conn:
            requested = conn.execute(
                sa.select(dead.c.event_id).where(
                    dead.c.consumer == self.name,
                    dead.c.resolved_at.is_(None),
                    dead.c.retry_requested_at.is_not(None),
                )
            ).scalars().all()
        for event_id in requested:
            try:
                self.retry_parked(event_id)
            except LookupError:
                continue  # another replica retried it first

    def parked(self) -> list[dict[str, Any]]:
        dead = self.tables.dead_letters
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(dead).where(dead.c.consumer == self.name, dead.c.resolved_at.is_(None))
            ).mappings()
            return [dict(row) for row in rows]

    # Applying -------------------------------------------------------------

    def apply_through(
        self,
        stream_id: str,
        version: int,
        known: Mapping[int, RecordedEvent] | None = None,
        *,
        conn: Connection | None = None,
    ) -> Outcome:
        """Apply the stream up to `version`, retrying failed handlers, then parking the event.

        Each attempt is one transaction, on `conn` when given (it must have no
        transaction open), else on a pooled connection.
        """
        for attempt in range(1, self.attempts + 1):
            try:
                with self._transaction(conn) as tx:
                    return self._apply_through(tx, stream_id, version, known or {})
            except HandlerFailed as failure:
                if attempt == self.attempts:
                    self._park(failure, attempt, conn)
                    return "parked"
                delay = min(self.base_delay * 2 ** (attempt - 1), MAX_BACKOFF_SECONDS)
                delay *= random.uniform(0.5, 1.0)  # jitter keeps replicas from retrying in step
                log.warning(
                    "event handler failed; retrying",
                    extra={
                        "consumer": self.name,
                        "event_id": str(failure.event.event_id),
                        "stream_id": stream_id,
                        "attempt": attempt,
                        "retry_in_seconds": round(delay, 3),
                        "error": repr(failure.cause),
                    },
                )
                self.sleep(delay)
            except sa.exc.OperationalError:
                log.exception(
                    "database unavailable; the next catch-up applies this stream",
                    extra={"consumer": self.name, "stream_id": stream_id, "version": version},
                )
                return "deferred"
        raise AssertionError("unreachable")

    @contextmanager
    def _transaction(self, conn: Connection | None) -> Iterator[Connection]:
        if conn is None:
            with self.engine.begin() as own:
                yield own
        else:
            with conn.begin():
                yield conn

    def _apply_through(
        self, conn: Connection, stream_id: str, version: int, known: Mapping[int, RecordedEvent]
    ) -> Outcome:
        streams = self.tables.streams
        conn.execute(
            pg_insert(streams)
            .values(consumer=self.name, stream_id=stream_id, version=0)
            .on_conflict_do_nothing()
        )
        # The row lock serialises replicas and redeliveries of the same stream.
        applied = conn.execute(
            sa.select(streams.c.version)
            .where(streams.c.consumer == self.name, streams.c.stream_id == stream_id)
            .with_for_update()
        ).scalar_one()
        if version <= applied:
            return "duplicate"
        if self._is_parked(conn, stream_id):
            log.warning(
                "event held behind a parked event of its stream",
                extra={"consumer": self.name, "stream_id": stream_id, "version": version},
            )
            return "held"

        missing_versions = range(applied + 1, version + 1)
        if all(v in known for v in missing_versions):
            pending = [known[v] for v in missing_versions]
        else:
            pending = self.store.read_stream(stream_id, from_version=applied + 1, to_version=version, conn=conn)

        for recorded in pending:
            handler = self.handlers.get(recorded.event_type)
            if handler is None:
                continue
            savepoint = conn.begin_nested()
            try:
                handler(conn, recorded)
                savepoint.commit()
            except sa.exc.OperationalError:
                raise
            except Exception as error:
                savepoint.rollback()
                raise HandlerFailed(recorded, error) from error

        conn.execute(
            sa.update(streams)
            .where(streams.c.consumer == self.name, streams.c.stream_id == stream_id)
            .values(version=pending[-1].version if pending else version)
        )
        log.debug(
            "events applied",
            extra={"consumer": self.name, "stream_id": stream_id, "from_version": applied + 1, "to_version": version},
        )
        return "applied"

    def _is_parked(self, conn: Connection, stream_id: str) -> bool:
        dead = self.tables.dead_letters
        return (
            conn.execute(
                sa.select(sa.literal(1))
                .where(dead.c.consumer == self.name, dead.c.stream_id == stream_id, dead.c.resolved_at.is_(None))
                .limit(1)
            ).first()
            is not None
        )

    def _park(self, failure: HandlerFailed, attempts: int, conn: Connection | None = None) -> None:
        dead = self.tables.dead_letters
        event = failure.event
        with self._transaction(conn) as tx:
            tx.execute(
                pg_insert(dead)
                .values(
                    consumer=self.name,
                    event_id=event.event_id,
                    stream_id=event.stream_id,
                    version=event.version,
                    event_type=event.event_type,
                    reason=repr(failure.cause)[:2000],
                    attempts=attempts,
                )
                .on_conflict_do_update(
                    index_elements=[dead.c.consumer, dead.c.event_id],
                    set_={
                        "reason": repr(failure.cause)[:2000],
                        "attempts": attempts,
                        "resolved_at": None,
                        "retry_requested_at": None,
                    },
                )
            )
        log.error(
            "event parked after failed retries",
            extra={
                "consumer": self.name,
                "event_id": str(event.event_id),
                "stream_id": event.stream_id,
                "version": event.version,
                "attempts": attempts,
                "error": repr(failure.cause),
            },
        )

    # Checkpoint -----------------------------------------------------------

    def _load_checkpoint(self, conn: Connection) -> Checkpoint:
        table = self.tables.checkpoints
        row = conn.execute(
            sa.select(table.c.transaction_id, table.c.position).where(table.c.consumer == self.name)
        ).first()
        return Checkpoint() if row is None else Checkpoint(row.transaction_id, row.position)

    def _save_checkpoint(self, checkpoint: Checkpoint, conn: Connection) -> None:
        table = self.tables.checkpoints
        with conn.begin():
            conn.execute(
                pg_insert(table)
                .values(consumer=self.name, transaction_id=checkpoint.transaction_id, position=checkpoint.position)
                .on_conflict_do_update(
                    index_elements=[table.c.consumer],
                    set_={"transaction_id": checkpoint.transaction_id, "position": checkpoint.position},
                )
            )

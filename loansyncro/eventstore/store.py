"""Append and read events, with optimistic concurrency and idempotent appends."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, Row

from loansyncro.events import encode
from loansyncro.eventstore.errors import ConcurrencyError, EventStoreError
from loansyncro.eventstore.records import Checkpoint, NewEvent, RecordedEvent
from loansyncro.eventstore.schema import events

log = logging.getLogger(__name__)

# Append at whatever version the stream has; only for streams with no invariants.
ANY_VERSION: Final = -1

_COLUMNS: Final = (
    events.c.position,
    sa.cast(sa.cast(events.c.transaction_id, sa.Text), sa.BigInteger).label("transaction_id"),
    events.c.event_id,
    events.c.stream_type,
    events.c.stream_id,
    events.c.version,
    events.c.event_type,
    events.c.schema_version,
    events.c.data,
    events.c.metadata,
    events.c.occurred_at,
    events.c.recorded_at,
)

# Followers only read transactions older than every transaction still running.
# A position is drawn when a row is inserted but the row becomes visible at
# commit, so a reader ordering by position alone could pass position 7 while
# the transaction holding position 6 is still open, and never see 6. Below the
# snapshot's xmin every transaction has finished, and every later one gets a
# larger transaction id, so reading in (transaction id, position) order up to
# xmin never skips a committed event. pg_current_snapshot() is the statement's
# own snapshot (PostgreSQL 13+ documentation, "Transaction ID and Snapshot
# Information Functions").
_CATCH_UP_SQL: Final = """
SELECT position, transaction_id::text::bigint AS transaction_id, event_id, stream_type,
       stream_id, version, event_type, schema_version, data, metadata, occurred_at, recorded_at
FROM eventstore.events
WHERE (transaction_id, position) > (CAST(CAST(:transaction_id AS text) AS xid8), :position)
  AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
  {type_filter}
ORDER BY transaction_id, position
LIMIT :limit
"""


_GUARDED_INSERT_SQL: Final = sa.text(
    """
    INSERT INTO eventstore.events
        (event_id, stream_type, stream_id, version, event_type, schema_version, data, metadata, occurred_at)
    SELECT new.event_id, :stream_type, :stream_id, new.version, new.event_type, new.schema_version,
           new.data::jsonb, new.metadata::jsonb, new.occurred_at
    FROM unnest(
        CAST(:event_ids AS uuid[]), CAST(:versions AS integer[]), CAST(:event_types AS text[]),
        CAST(:schema_versions AS integer[]), CAST(:data AS text[]), CAST(:metadata AS text[]),
        CAST(:occurred_at AS timestamptz[])
    ) AS new(event_id, version, event_type, schema_version, data, metadata, occurred_at)
    WHERE (SELECT coalesce(max(version), 0) FROM eventstore.events WHERE stream_id = :stream_id) = :expected
      AND NOT EXISTS (SELECT 1 FROM eventstore.events WHERE event_id = ANY(CAST(:event_ids AS uuid[])))
    RETURNING position, transaction_id::text::bigint AS transaction_id, event_id, stream_type, stream_id,
              version, event_type, schema_version, data, metadata, occurred_at, recorded_at
    """
)


def _to_recorded(row: Row[Any]) -> RecordedEvent:
    return RecordedEvent(
        position=row.position,
        transaction_id=int(row.transaction_id),
        event_id=row.event_id,
        stream_type=row.stream_type,
        stream_id=row.stream_id,
        version=row.version,
        event_type=row.event_type,
        schema_version=row.schema_version,
        raw_data=row.data,
        metadata=row.metadata,
        occurred_at=row.occurred_at,
        recorded_at=row.recorded_at,
    )


class EventStore:
    """The event log. Every method can join the caller's transaction through `conn`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def _connection(self, conn: Connection | None) -> Iterator[Connection]:
        if conn is not None:
            yield conn
            return
        with self.engine.begin() as own:
            yield own

    def append(
        self,
        stream_type: str,
        stream_id: str,
        expected_version: int,
        new_events: Sequence[NewEvent],
        *,
        conn: Connection | None = None,
    ) -> list[RecordedEvent]:
        """Append `new_events` to a stream that must be at `expected_version` (0: new stream).

        Appending events whose ids are already stored returns the stored events
        and writes nothing, so a retried command is applied once. Raises
        ConcurrencyError when another writer got there first.
        """
        if not new_events:
            return []
        if conn is None and expected_version != ANY_VERSION:
            try:
                with self.engine.begin() as own:
                    recorded = self._guarded_insert(own, stream_type, stream_id, expected_version, new_events)
            except sa.exc.IntegrityError:
                recorded = []  # Lost a race: the general path below finds out which one.
            if recorded:
                return recorded
        if conn is not None:
            return self._append(conn, stream_type, stream_id, expected_version, new_events, savepoint=True)
        try:
            with self.engine.begin() as own:
                return self._append(own, stream_type, stream_id, expected_version, new_events, savepoint=False)
        except sa.exc.IntegrityError:
            # Lost a race: the transaction is gone, so look again in a new one.
            with self.engine.begin() as own:
                stored = self._find_stored(own, stream_id, new_events)
                if stored is not None:
                    return stored
                actual = self.stream_version(stream_id, conn=own)
            raise ConcurrencyError(stream_id, expected_version, actual) from None

    def _guarded_insert(
        self,
        connection: Connection,
        stream_type: str,
        stream_id: str,
        expected_version: int,
        new_events: Sequence[NewEvent],
    ) -> list[RecordedEvent]:
        """Insert only if the stream is at `expected_version`, in one statement; [] when it is not.

        The common case then costs one round trip plus the commit. An empty
        result (a stale version, or ids already stored) goes to the general
        path, which finds out which.
        """
        now = datetime.now(UTC)
        encoded = [encode(new.event_type, new.data) for new in new_events]
        params = {
            "stream_type": stream_type,
            "stream_id": stream_id,
            "expected": expected_version,
            "event_ids": [new.event_id for new in new_events],
            "versions": [expected_version + offset for offset in range(1, len(new_events) + 1)],
            "event_types": [new.event_type for new in new_events],
            "schema_versions": [schema_version for schema_version, _ in encoded],
            "data": [json.dumps(data) for _, data in encoded],
            "metadata": [json.dumps(new.metadata) for new in new_events],
            "occurred_at": [new.occurred_at or now for new in new_events],
        }
        rows = connection.execute(_GUARDED_INSERT_SQL, params).all()
        return sorted((_to_recorded(row) for row in rows), key=lambda recorded: recorded.version)

    def _append(
        self,
        connection: Connection,
        stream_type: str,
        stream_id: str,
        expected_version: int,
        new_events: Sequence[NewEvent],
        *,
        savepoint: bool,
    ) -> list[RecordedEvent]:
        ids = [new.event_id for new in new_events]
        # One round trip for both checks: ids already stored, and the stream's version.
        current, already_stored = connection.execute(
            sa.select(
                sa.select(sa.func.coalesce(sa.func.max(events.c.version), 0))
                .where(events.c.stream_id == stream_id)
                .scalar_subquery(),
                sa.select(sa.func.count()).where(events.c.event_id.in_(ids)).scalar_subquery(),
            )
        ).one()
        if already_stored:
            stored = self._find_stored(connection, stream_id, new_events)
            assert stored is not None
            return stored
        if expected_version == ANY_VERSION:
            expected_version = current
        elif current != expected_version:
            raise ConcurrencyError(stream_id, expected_version, current)

        now = datetime.now(UTC)
        rows = []
        for offset, new in enumerate(new_events, start=1):
            schema_version, data = encode(new.event_type, new.data)
            rows.append(
                {
                    "event_id": new.event_id,
                    "stream_type": stream_type,
                    "stream_id": stream_id,
                    "version": expected_version + offset,
                    "event_type": new.event_type,
                    "schema_version": schema_version,
                    "data": data,
                    "metadata": new.metadata,
                    "occurred_at": new.occurred_at or now,
                }
            )
        insert = events.insert().returning(*_COLUMNS, sort_by_parameter_order=True)

        if not savepoint:
            recorded = [_to_recorded(row) for row in connection.execute(insert, rows)]
        else:
            # A savepoint keeps the caller's transaction usable after a lost race.
            nested = connection.begin_nested()
            try:
                recorded = [_to_recorded(row) for row in connection.execute(insert, rows)]
                nested.commit()
            except sa.exc.IntegrityError:
                nested.rollback()
                stored = self._find_stored(connection, stream_id, new_events)
                if stored is not None:
                    return stored
                raise ConcurrencyError(
                    stream_id, expected_version, self.stream_version(stream_id, conn=connection)
                ) from None

        log.debug(
            "events appended",
            extra={"stream_id": stream_id, "version": recorded[-1].version, "count": len(recorded)},
        )
        return recorded

    def _find_stored(
        self, connection: Connection, stream_id: str, new_events: Sequence[NewEvent]
    ) -> list[RecordedEvent] | None:
        ids = [new.event_id for new in new_events]
        rows = connection.execute(
            sa.select(*_COLUMNS).where(events.c.event_id.in_(ids)).order_by(events.c.position)
        ).all()
        if not rows:
            return None
        if len(rows) != len(ids) or any(row.stream_id != stream_id for row in rows):
            raise EventStoreError(
                f"events {[str(i) for i in ids]} were partly stored before or belong to another "
                f"stream than {stream_id}: use new event ids"
            )
        return [_to_recorded(row) for row in rows]

    def stream_version(self, stream_id: str, *, conn: Connection | None = None) -> int:
        with self._connection(conn) as connection:
            version = connection.execute(
                sa.select(sa.func.coalesce(sa.func.max(events.c.version), 0)).where(
                    events.c.stream_id == stream_id
                )
            ).scalar_one()
        return int(version)

    def read_stream(
        self,
        stream_id: str,
        *,
        from_version: int = 1,
        to_version: int | None = None,
        until: datetime | None = None,
        conn: Connection | None = None,
    ) -> list[RecordedEvent]:
        """Read a stream in version order, optionally only up to a version or a recorded time."""
        query = (
            sa.select(*_COLUMNS)
            .where(events.c.stream_id == stream_id, events.c.version >= from_version)
            .order_by(events.c.version)
        )
        if to_version is not None:
            query = query.where(events.c.version <= to_version)
        if until is not None:
            query = query.where(events.c.recorded_at <= until)
        with self._connection(conn) as connection:
            return [_to_recorded(row) for row in connection.execute(query)]

    def read_streams(
        self, stream_ids: Sequence[str], *, conn: Connection | None = None
    ) -> dict[str, list[RecordedEvent]]:
        """Read several whole streams in one query, each in version order."""
        query = (
            sa.select(*_COLUMNS)
            .where(events.c.stream_id.in_(list(stream_ids)))
            .order_by(events.c.stream_id, events.c.version)
        )
        result: dict[str, list[RecordedEvent]] = {stream_id: [] for stream_id in stream_ids}
        with self._connection(conn) as connection:
            for row in connection.execute(query):
                result[row.stream_id].append(_to_recorded(row))
        return result

    def read_all(
        self, *, after_position: int = 0, limit: int = 1000, conn: Connection | None = None
    ) -> list[RecordedEvent]:
        """Read committed events in position order, for audits and replays of a quiet log.

        Followers of a live log use `catch_up`, which never skips a late commit.
        """
        query = (
            sa.select(*_COLUMNS)
            .where(events.c.position > after_position)
            .order_by(events.c.position)
            .limit(limit)
        )
        with self._connection(conn) as connection:
            return [_to_recorded(row) for row in connection.execute(query)]

    def catch_up(
        self,
        after: Checkpoint,
        *,
        limit: int = 1000,
        event_types: Sequence[str] | None = None,
        conn: Connection | None = None,
    ) -> list[RecordedEvent]:
        """Read the next committed events after `after`, in an order no late commit can break."""
        type_filter = "AND event_type = ANY(:event_types)" if event_types else ""
        params: dict[str, Any] = {
            "transaction_id": after.transaction_id,
            "position": after.position,
            "limit": limit,
        }
        if event_types:
            params["event_types"] = list(event_types)
        statement = sa.text(_CATCH_UP_SQL.format(type_filter=type_filter))
        with self._connection(conn) as connection:
            return [_to_recorded(row) for row in connection.execute(statement, params)]

    def get_event(self, event_id: uuid.UUID, *, conn: Connection | None = None) -> RecordedEvent | None:
        with self._connection(conn) as connection:
            row = connection.execute(sa.select(*_COLUMNS).where(events.c.event_id == event_id)).first()
        return None if row is None else _to_recorded(row)

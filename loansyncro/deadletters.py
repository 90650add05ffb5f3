"""Operators' view of parked events across every consumer's schema."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

_SCHEMAS_SQL = """
SELECT table_schema FROM information_schema.tables
WHERE table_name = 'dead_letters' ORDER BY table_schema
"""


def consumer_schemas(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(sa.text(_SCHEMAS_SQL)).scalars())


def list_parked(engine: Engine) -> list[dict[str, Any]]:
    """Return every unresolved parked event, oldest first, with its schema."""
    rows: list[dict[str, Any]] = []
    with engine.connect() as conn:
        for schema in consumer_schemas(engine):
            table = sa.table(
                "dead_letters",
                *(sa.column(name) for name in (
                    "consumer", "event_id", "stream_id", "version", "event_type",
                    "reason", "attempts", "parked_at", "resolved_at", "retry_requested_at",
                )),
                schema=schema,
            )
            result = conn.execute(sa.select(table).where(table.c.resolved_at.is_(None)).order_by(table.c.parked_at))
            rows += [{"schema": schema, **row} for row in result.mappings()]
    return rows


def request_retry(engine: Engine, event_id: uuid.UUID) -> int:
    """Flag a parked event for retry at its consumer's next catch-up; return how many rows matched."""
    matched = 0
    with engine.begin() as conn:
        for schema in consumer_schemas(engine):
            matched += conn.execute(
                sa.text(
                    f'UPDATE "{schema}".dead_letters SET retry_requested_at = now() '
                    "WHERE event_id = :event_id AND resolved_at IS NULL"
                ),
                {"event_id": event_id},
            ).rowcount
    return matched

"""A probe consumer for the relay and consumer tests: records every event it applies.

`probe.applied` has no unique constraint on purpose: an event applied twice
shows up as two rows, which is what the exactly-once tests look for.
"""

from __future__ import annotations

import os
import time
from typing import Final

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from loansyncro.consumer import Follower, consumer_tables
from loansyncro.eventstore import RecordedEvent
from tests.integration.probe_contracts import TestAmountNoted  # noqa: F401  (registers the contract)

CONSUMER: Final = "probe"
EVENT_TYPES: Final = ("TestAmountNoted",)

metadata = sa.MetaData(schema="probe")
tables = consumer_tables(metadata)
applied = sa.Table(
    "applied",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("event_id", sa.Uuid, nullable=False),
    sa.Column("stream_id", sa.Text, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("sequence", sa.Integer, nullable=False),
)


def create_tables(admin_engine: Engine, service_role: str) -> None:
    with admin_engine.begin() as conn:
        conn.execute(sa.text("CREATE SCHEMA IF NOT EXISTS probe"))
        metadata.create_all(conn)
        conn.execute(sa.text(f"GRANT USAGE ON SCHEMA probe TO {service_role}"))
        conn.execute(sa.text(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA probe TO {service_role}"))


def reset(admin_engine: Engine) -> None:
    with admin_engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())


def record(conn: Connection, event: RecordedEvent) -> None:
    sequence = int(event.data["sequence"])
    if str(sequence) == os.environ.get("PROBE_FAIL_SEQUENCE"):
        raise RuntimeError(f"probe handler rejects sequence {sequence}")
    delay = float(os.environ.get("PROBE_DELAY", "0"))
    if delay:
        time.sleep(delay)
    conn.execute(
        applied.insert().values(
            event_id=event.event_id, stream_id=event.stream_id, version=event.version, sequence=sequence
        )
    )


def follower(engine: Engine, **options: object) -> Follower:
    return Follower(engine, CONSUMER, tables, {"TestAmountNoted": record}, **options)  # type: ignore[arg-type]


def applied_counts(engine: Engine) -> dict[str, int]:
    """Return how many times each event id was applied."""
    with engine.connect() as conn:
        rows = conn.execute(sa.select(applied.c.event_id, sa.func.count()).group_by(applied.c.event_id)).all()
    return {str(event_id): count for event_id, count in rows}

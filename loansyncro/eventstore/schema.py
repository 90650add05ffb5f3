"""Table definition of the event store, shared by the store and the migrations."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID


class Xid8(sa.types.UserDefinedType[str]):
    """PostgreSQL's 64-bit transaction id, read as text and compared in SQL."""

    cache_ok = True

    def get_col_spec(self, **_kw: object) -> str:
        return "xid8"


SCHEMA = "eventstore"
metadata = sa.MetaData(schema=SCHEMA)

events = sa.Table(
    "events",
    metadata,
    sa.Column("position", sa.BigInteger, sa.Identity(always=True), primary_key=True),
    sa.Column("transaction_id", Xid8(), nullable=False, server_default=sa.text("pg_current_xact_id()")),
    sa.Column("event_id", UUID(as_uuid=True), nullable=False, unique=True),
    sa.Column("stream_type", sa.Text, nullable=False),
    sa.Column("stream_id", sa.Text, nullable=False),
    sa.Column("version", sa.Integer, sa.CheckConstraint("version > 0"), nullable=False),
    sa.Column("event_type", sa.Text, nullable=False),
    sa.Column("schema_version", sa.Integer, nullable=False),
    sa.Column("data", JSONB, nullable=False),
    sa.Column("metadata", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("clock_timestamp()")),
    sa.UniqueConstraint("stream_id", "version", name="events_stream_version_key"),
    sa.Index("events_commit_order_idx", "transaction_id", "position"),
)

# The relay's progress: the last checkpoint whose events RabbitMQ confirmed.
relay_checkpoints = sa.Table(
    "relay_checkpoints",
    metadata,
    sa.Column("relay", sa.Text, primary_key=True),
    sa.Column("transaction_id", Xid8(), nullable=False),
    sa.Column("position", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")),
)

"""The notifier's tables (schema "notifier"): occasions to plan, the delivery log, SMS counters."""

from __future__ import annotations

from typing import Final

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from loansyncro.consumer import consumer_tables

SCHEMA: Final = "notifier"
metadata = sa.MetaData(schema=SCHEMA)

tracking = consumer_tables(metadata)

# One row per due-date event received. Planning turns it into notifications once
# the user's contact data and preferences are known (an RPC to accounts that may fail).
occasions = sa.Table(
    "occasions",
    metadata,
    sa.Column("event_id", sa.Uuid, primary_key=True),
    sa.Column("owner_id", sa.Uuid, nullable=False),
    sa.Column("event_type", sa.Text, nullable=False),
    # The event data as stored (JSON values), decoded again with its contract.
    sa.Column("data", JSONB, nullable=False),
    # pending until planned; planned or dropped (user deleted, no channel) after.
    sa.Column("status", sa.Text, nullable=False, server_default="pending"),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column("error", sa.Text),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Index("notifier_occasions_pending_idx", "next_attempt_at", postgresql_where=sa.text("status = 'pending'")),
)

# The delivery log: one row per (occasion, channel, purpose), claimed before sending.
notifications = sa.Table(
    "notifications",
    metadata,
    sa.Column("notification_id", sa.Uuid, primary_key=True),
    sa.Column("owner_id", sa.Uuid, nullable=False),
    sa.Column("occasion_event_id", sa.Uuid, nullable=False),
    sa.Column("occasion_type", sa.Text, nullable=False),
    sa.Column("channel", sa.Text, nullable=False),
    sa.Column("purpose", sa.Text, nullable=False),
    # queued -> sending -> sent; queued again for a retry; failed or skipped at the end.
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    # When the next attempt is due (a retry, or the end of quiet hours).
    sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
    # When the current attempt started; a "sending" row older than the lease is sent again.
    sa.Column("claimed_at", sa.DateTime(timezone=True)),
    sa.Column("provider_id", sa.Text),
    # The last failed attempt's error, kept after a later attempt succeeds.
    sa.Column("error_code", sa.Text),
    sa.Column("error", sa.Text),
    # Data rendered into the message: loan name, amounts, dates. No email address or phone number.
    sa.Column("content", JSONB, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column("sent_at", sa.DateTime(timezone=True)),
    sa.UniqueConstraint("occasion_event_id", "channel", "purpose", name="notifier_notifications_occasion_key"),
    sa.Index("notifier_notifications_due_idx", "due_at", postgresql_where=sa.text("status = 'queued'")),
    sa.Index("notifier_notifications_sending_idx", "claimed_at", postgresql_where=sa.text("status = 'sending'")),
    sa.Index("notifier_notifications_owner_idx", "owner_id", sa.text("created_at DESC"), "notification_id"),
)

# SMS attempts per UTC day: one row per recipient (the user id) and one row "*" for everyone.
sms_counters = sa.Table(
    "sms_counters",
    metadata,
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("recipient", sa.Text, primary_key=True),
    sa.Column("count", sa.Integer, nullable=False),
)

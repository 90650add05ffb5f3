"""Tables of the gateway's own schema."""

from __future__ import annotations

import sqlalchemy as sa

SCHEMA = "gateway"
metadata = sa.MetaData(schema=SCHEMA)

# One row per (user, Idempotency-Key). `status` is NULL while the first request
# runs. The key is stored as a SHA-256 hash and the response encrypted with a
# key derived from the Idempotency-Key itself, so a database reader cannot
# replay or read responses such as freshly issued tokens.
idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    # The user id from the token, or "anonymous" for sign-up and sign-in requests.
    sa.Column("user_id", sa.Text, primary_key=True),
    sa.Column("key_hash", sa.Text, primary_key=True),
    sa.Column("request_hash", sa.Text, nullable=False),
    sa.Column("status", sa.Integer),
    sa.Column("response", sa.LargeBinary),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column("completed_at", sa.DateTime(timezone=True)),
    sa.Index("idempotency_keys_created_at_idx", "created_at"),
)

"""Tables of the accounts schema. None of them contains an email, name or phone in clear."""

from __future__ import annotations

import sqlalchemy as sa

SCHEMA = "accounts"
metadata = sa.MetaData(schema=SCHEMA)

# The user's AES-256 data key, wrapped with the server's key-wrapping key.
# Deleting the row makes every encrypted field of the user's events unreadable.
user_keys = sa.Table(
    "user_keys",
    metadata,
    sa.Column("user_id", sa.Uuid, primary_key=True),
    sa.Column("wrapped_key", sa.LargeBinary, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
)

# HMAC-SHA256 of the normalised email -> user: case-insensitive uniqueness without the email.
email_lookup = sa.Table(
    "email_lookup",
    metadata,
    sa.Column("email_hash", sa.Text, primary_key=True),
    sa.Column("user_id", sa.Uuid, nullable=False, unique=True),
)

# A session is one refresh-token family: every refresh rotates the token within it.
sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("session_id", sa.Uuid, primary_key=True),
    sa.Column("user_id", sa.Uuid, nullable=False, index=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True)),
    # "signed out", "refresh token reused", "password changed" or "account deleted".
    sa.Column("revoked_reason", sa.Text),
)

# SHA-256 of each refresh token ever issued; a used one presented again revokes its session.
refresh_tokens = sa.Table(
    "refresh_tokens",
    metadata,
    sa.Column("token_hash", sa.Text, primary_key=True),
    sa.Column("session_id", sa.Uuid, sa.ForeignKey(sessions.c.session_id, ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column("used_at", sa.DateTime(timezone=True)),
)

# Failed sign-ins per bucket ("account:<email hash>" or "address:<client address>") and fixed window.
sign_in_failures = sa.Table(
    "sign_in_failures",
    metadata,
    sa.Column("bucket", sa.Text, primary_key=True),
    sa.Column("window_start", sa.DateTime(timezone=True), primary_key=True),
    sa.Column("failures", sa.Integer, nullable=False),
)

"""Persistence of accounts: user streams with encrypted personal data, keys, sessions, counters."""

from __future__ import annotations

import hashlib
import logging
import secrets
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Connection, Engine

from loansyncro.errors import Conflict, Unauthorized
from loansyncro.logs import correlation_id
from loansyncro.eventstore import EventStore, NewEvent, RecordedEvent
from services.accounts import crypto, domain
from services.accounts.tables import email_lookup, refresh_tokens, sessions, sign_in_failures, user_keys

log = logging.getLogger(__name__)

STREAM_TYPE = "user"
# Fields of the User events that are encrypted with the user's data key.
ENCRYPTED_FIELDS = {
    "encrypted_email": "email",
    "encrypted_display_name": "display_name",
    "encrypted_phone": "phone",
    "encrypted_password_hash": "password_hash",
}
REFRESH_TOKEN_PREFIX = "rt1."
INVALID_REFRESH_TOKEN = "Invalid or expired refresh token: sign in again."
# Users whose decrypted state a process keeps for reads.
USER_CACHE_SIZE = 10_000


def stream_id(user_id: uuid.UUID) -> str:
    return f"user-{user_id}"


def user_id_for_registration(command_id: str) -> uuid.UUID:
    """Derive the new user's id from the command id, so a retried registration creates one user."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"loansyncro:register:{command_id}")


def event_id(user_id: uuid.UUID, command_id: str, event_type: str) -> uuid.UUID:
    return uuid.uuid5(user_id, f"{command_id}:{event_type}")


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Secrets:
    email_lookup_key: bytes
    key_wrapping_key: bytes


class AccountStore:
    def __init__(self, engine: Engine, secrets_: Secrets) -> None:
        self.engine = engine
        self.events = EventStore(engine)
        self.secrets = secrets_
        # Decrypted user states by id, least recently used first.
        self._cache: OrderedDict[uuid.UUID, domain.User] = OrderedDict()

    # --- keys and users -------------------------------------------------------------

    def _data_key(self, conn: Connection, user_id: uuid.UUID) -> bytes | None:
        wrapped = conn.execute(sa.select(user_keys.c.wrapped_key).where(user_keys.c.user_id == user_id)).scalar()
        return None if wrapped is None else crypto.unwrap_key(self.secrets.key_wrapping_key, user_id, wrapped)

    def _decrypted(self, data_key: bytes, user_id: uuid.UUID, recorded: list[RecordedEvent]) -> list[tuple[str, dict[str, Any]]]:
        decrypted = []
        for event in recorded:
            data = dict(event.data)
            for stored_name, clear_name in ENCRYPTED_FIELDS.items():
                if stored_name in data:
                    data[clear_name] = crypto.decrypt_field(data_key, user_id, clear_name, data.pop(stored_name))
            decrypted.append((event.event_type, data))
        return decrypted

    def load_user(self, conn: Connection, user_id: uuid.UUID) -> domain.User:
        """Replay the user's stream, decrypting personal fields; a user whose key is gone is deleted."""
        recorded = self.events.read_stream(stream_id(user_id), conn=conn)
        data_key = self._data_key(conn, user_id)
        if data_key is None:
            return domain.User(user_id, version=len(recorded), deleted=bool(recorded))
        return domain.replay(user_id, self._decrypted(data_key, user_id, recorded))

    def read_user(self, user_id: uuid.UUID) -> domain.User:
        """Return the user's committed state for reads, from a per-process cache kept current.

        Each call reads only the events after the cached version: one query when
        nothing changed. Deleting an account appends UserDeleted, so a cached
        user is never served after the deletion commits. Write paths use
        `load_user` inside their transaction instead, so uncommitted state is never cached.
        """
        # Autocommit: a read needs no BEGIN and ROLLBACK round trips.
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            cached = self._cache.get(user_id)
            if cached is None:
                user = self.load_user(conn, user_id)
            else:
                recorded = self.events.read_stream(stream_id(user_id), from_version=cached.version + 1, conn=conn)
                if not recorded:
                    return cached
                data_key = self._data_key(conn, user_id)
                if data_key is None:
                    user = domain.User(user_id, version=recorded[-1].version, deleted=True)
                else:
                    user = cached
                    for event_type, data in self._decrypted(data_key, user_id, recorded):
                        user = domain.apply(user, event_type, data)
        if user.deleted or user.profile is None:
            self._cache.pop(user_id, None)
        else:
            self._cache[user_id] = user
            self._cache.move_to_end(user_id)
            while len(self._cache) > USER_CACHE_SIZE:
                self._cache.popitem(last=False)
        return user

    def find_user_id(self, conn: Connection, email: str) -> uuid.UUID | None:
        email_hash = crypto.email_lookup_hash(self.secrets.email_lookup_key, email)
        return conn.execute(sa.select(email_lookup.c.user_id).where(email_lookup.c.email_hash == email_hash)).scalar()

    def email_hash(self, email: str) -> str:
        return crypto.email_lookup_hash(self.secrets.email_lookup_key, email)

    def _encrypted(self, conn: Connection, user_id: uuid.UUID, clear: dict[str, Any]) -> dict[str, Any]:
        data_key = self._data_key(conn, user_id)
        assert data_key is not None, "encrypting for a user without a data key"
        data = {"user_id": user_id}
        for name, value in clear.items():
            stored_name = f"encrypted_{name}"
            if stored_name in ENCRYPTED_FIELDS:
                data[stored_name] = crypto.encrypt_field(data_key, user_id, name, value)
            else:
                data[name] = value
        return data

    def append(self, conn: Connection, user: domain.User, command_id: str, event_type: str, clear: dict[str, Any]) -> None:
        data = self._encrypted(conn, user.user_id, clear)
        metadata = {"command_id": command_id, "actor": str(user.user_id)}
        if correlation_id.get():
            metadata["correlation_id"] = correlation_id.get()
        new = NewEvent(event_type, data, event_id=event_id(user.user_id, command_id, event_type), metadata=metadata)
        self.events.append(STREAM_TYPE, stream_id(user.user_id), user.version, [new], conn=conn)

    def register(self, command_id: str, profile: domain.Profile, password_hash: str) -> uuid.UUID:
        """Create the user's key, claim the email and append UserRegistered in one transaction."""
        user_id = user_id_for_registration(command_id)
        email_hash = self.email_hash(profile.email)
        try:
            with self.engine.begin() as conn:
                owner = conn.execute(
                    sa.select(email_lookup.c.user_id).where(email_lookup.c.email_hash == email_hash)
                ).scalar()
                if owner == user_id:
                    return user_id  # the same registration, retried
                if owner is not None:
                    raise Conflict("An account with this email address already exists: sign in instead.")
                wrapped = crypto.wrap_key(self.secrets.key_wrapping_key, user_id, crypto.new_data_key())
                conn.execute(user_keys.insert().values(user_id=user_id, wrapped_key=wrapped))
                conn.execute(email_lookup.insert().values(email_hash=email_hash, user_id=user_id))
                clear = {
                    "email": profile.email,
                    "display_name": profile.display_name,
                    "phone": profile.phone,
                    "time_zone": profile.time_zone,
                    "currency": profile.currency,
                    "locale": profile.locale,
                    "password_hash": password_hash,
                }
                self.append(conn, domain.User(user_id), command_id, "UserRegistered", clear)
        except sa.exc.IntegrityError:
            # A concurrent registration claimed the same email (or the same command id) first.
            raise Conflict("An account with this email address already exists: sign in instead.") from None
        log.info("user registered", extra={"user_id": str(user_id)})
        return user_id

    def change_email_lookup(self, conn: Connection, user_id: uuid.UUID, old_email: str, new_email: str) -> None:
        old_hash, new_hash = self.email_hash(old_email), self.email_hash(new_email)
        if old_hash == new_hash:
            return
        owner = conn.execute(sa.select(email_lookup.c.user_id).where(email_lookup.c.email_hash == new_hash)).scalar()
        if owner is not None and owner != user_id:
            raise Conflict("This email address belongs to another account: use another address.")
        conn.execute(email_lookup.delete().where(email_lookup.c.user_id == user_id))
        conn.execute(email_lookup.insert().values(email_hash=new_hash, user_id=user_id))

    def forget_user(self, conn: Connection, user_id: uuid.UUID) -> None:
        """Destroy the data key and the email lookup: the user's encrypted fields become unreadable."""
        conn.execute(user_keys.delete().where(user_keys.c.user_id == user_id))
        conn.execute(email_lookup.delete().where(email_lookup.c.user_id == user_id))
        self.revoke_all_sessions(conn, user_id, "account deleted")

    # --- sessions and refresh tokens ----------------------------------------------------

    def create_session(self, user_id: uuid.UUID, ttl_seconds: int) -> tuple[uuid.UUID, str]:
        session_id = uuid.uuid4()
        token = REFRESH_TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self.engine.begin() as conn:
            conn.execute(
                sessions.insert().values(
                    session_id=session_id, user_id=user_id, expires_at=datetime.now(UTC) + timedelta(seconds=ttl_seconds)
                )
            )
            conn.execute(refresh_tokens.insert().values(token_hash=_token_hash(token), session_id=session_id))
        return session_id, token

    def rotate_refresh_token(self, token: str) -> tuple[uuid.UUID, uuid.UUID, str]:
        """Spend `token` and return (user id, session id, new token).

        A token that was already spent is a sign it was stolen: the whole
        session (the token family) is revoked and Unauthorized raised.
        """
        reused_session: uuid.UUID | None = None
        with self.engine.begin() as conn:
            row = conn.execute(
                sa.select(refresh_tokens.c.used_at, sessions)
                .join(sessions, sessions.c.session_id == refresh_tokens.c.session_id)
                .where(refresh_tokens.c.token_hash == _token_hash(token))
                .with_for_update(of=sessions)
            ).first()
            if row is None or row.revoked_at is not None or row.expires_at <= datetime.now(UTC):
                raise Unauthorized(INVALID_REFRESH_TOKEN)
            if row.used_at is not None:
                conn.execute(
                    sessions.update()
                    .where(sessions.c.session_id == row.session_id)
                    .values(revoked_at=sa.func.now(), revoked_reason="refresh token reused")
                )
                reused_session = row.session_id
            else:
                conn.execute(
                    refresh_tokens.update().where(refresh_tokens.c.token_hash == _token_hash(token)).values(used_at=sa.func.now())
                )
                new_token = REFRESH_TOKEN_PREFIX + secrets.token_urlsafe(32)
                conn.execute(refresh_tokens.insert().values(token_hash=_token_hash(new_token), session_id=row.session_id))
        if reused_session is not None:
            log.warning("refresh token reused; session revoked", extra={"session_id": str(reused_session), "user_id": str(row.user_id)})
            raise Unauthorized(INVALID_REFRESH_TOKEN)
        return row.user_id, row.session_id, new_token

    def revoke_session(self, user_id: uuid.UUID, session_id: uuid.UUID, reason: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                sessions.update()
                .where(sessions.c.session_id == session_id, sessions.c.user_id == user_id, sessions.c.revoked_at.is_(None))
                .values(revoked_at=sa.func.now(), revoked_reason=reason)
            )

    def revoke_all_sessions(self, conn: Connection, user_id: uuid.UUID, reason: str, keep: uuid.UUID | None = None) -> None:
        query = sessions.update().where(sessions.c.user_id == user_id, sessions.c.revoked_at.is_(None))
        if keep is not None:
            query = query.where(sessions.c.session_id != keep)
        conn.execute(query.values(revoked_at=sa.func.now(), revoked_reason=reason))

    def delete_expired_sessions(self) -> int:
        """Delete sessions past their expiry, with their refresh tokens; return how many."""
        with self.engine.begin() as conn:
            result = conn.execute(sessions.delete().where(sessions.c.expires_at < sa.func.now()))
        return int(result.rowcount or 0)

    def session_is_active(self, user_id: uuid.UUID, session_id: uuid.UUID) -> bool:
        with self.engine.connect() as conn:
            found = conn.execute(
                sa.select(sessions.c.session_id).where(
                    sessions.c.session_id == session_id,
                    sessions.c.user_id == user_id,
                    sessions.c.revoked_at.is_(None),
                    sessions.c.expires_at > sa.func.now(),
                )
            ).first()
        return found is not None

    # --- sign-in rate limits --------------------------------------------------------------

    def _window_start(self, now: datetime, window_seconds: int) -> datetime:
        epoch = int(now.timestamp())
        return datetime.fromtimestamp(epoch - epoch % window_seconds, UTC)

    def retry_after(self, limits: dict[str, int], window_seconds: int) -> int | None:
        """Return the seconds until the current window ends if any bucket reached its limit."""
        now = datetime.now(UTC)
        window_start = self._window_start(now, window_seconds)
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(sign_in_failures.c.bucket, sign_in_failures.c.failures).where(
                    sign_in_failures.c.bucket.in_(list(limits)), sign_in_failures.c.window_start == window_start
                )
            ).all()
        if any(row.failures >= limits[row.bucket] for row in rows):
            return max(1, int((window_start + timedelta(seconds=window_seconds) - now).total_seconds()) + 1)
        return None

    def record_failure(self, buckets: list[str], window_seconds: int) -> None:
        window_start = self._window_start(datetime.now(UTC), window_seconds)
        with self.engine.begin() as conn:
            for bucket in buckets:
                statement = pg_insert(sign_in_failures).values(bucket=bucket, window_start=window_start, failures=1)
                conn.execute(
                    statement.on_conflict_do_update(
                        index_elements=[sign_in_failures.c.bucket, sign_in_failures.c.window_start],
                        set_={"failures": sign_in_failures.c.failures + 1},
                    )
                )
            # Old windows are never read again.
            conn.execute(sign_in_failures.delete().where(sign_in_failures.c.window_start < window_start - timedelta(seconds=window_seconds)))

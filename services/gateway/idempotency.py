"""Idempotency-Key handling: the first result of a POST is stored and replayed.

The same key and request return the stored status and body; the same key with
a different request is rejected with 422 before anything runs. A request whose
result is a 5xx or 429 leaves no record, so the client can retry it with the
same key. The RPC carries a command id derived from the key, so a late
duplicate reaching a service is still applied once there.
`delete_expired` (run hourly by the gateway) removes rows older than KEY_LIFETIME.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable
from datetime import timedelta

import sqlalchemy as sa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Engine

from loansyncro.errors import Conflict, ValidationFailed
from services.gateway.http import IDEMPOTENCY_HEADER, Reply, error_reply, to_json
from services.gateway.tables import idempotency_keys

log = logging.getLogger(__name__)

# Stored keys older than this are forgotten: reusing such a key runs the request again.
KEY_LIFETIME = timedelta(hours=24)


def _cipher(key: str) -> AESGCM:
    return AESGCM(hashlib.sha256(b"loansyncro idempotent response\x00" + key.encode()).digest())


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def seal(key: str, reply: Reply) -> bytes:
    nonce = os.urandom(12)
    plain = json.dumps(
        {"status": reply.status, "payload": reply.payload, "headers": reply.headers, "content_type": reply.content_type},
        default=to_json,
    ).encode()
    return nonce + _cipher(key).encrypt(nonce, plain, None)


def unseal(key: str, sealed: bytes) -> Reply:
    plain = json.loads(_cipher(key).decrypt(sealed[:12], sealed[12:], None))
    headers = {**plain["headers"], "Idempotent-Replayed": "true"}
    return Reply(plain["status"], plain["payload"], headers, plain["content_type"])


class IdempotencyStore:
    def __init__(self, engine: Engine, stale_after_seconds: float) -> None:
        self.engine = engine
        # A first request still "running" after this long died with its process; a retry may take over.
        self.stale_after = timedelta(seconds=stale_after_seconds)

    def delete_expired(self) -> int:
        """Delete stored results older than KEY_LIFETIME; return how many were deleted."""
        with self.engine.begin() as conn:
            result = conn.execute(
                idempotency_keys.delete().where(idempotency_keys.c.created_at < sa.func.now() - KEY_LIFETIME)
            )
        return int(result.rowcount or 0)

    def run(self, user_id: str, key: str, request_hash: str, handler: Callable[[], Reply], correlation_id: str) -> Reply:
        """Replay the stored reply of (user_id, key), or run `handler` once and store its reply."""
        key_hash = _key_hash(key)
        table = idempotency_keys
        with self.engine.begin() as conn:
            claimed = conn.execute(
                pg_insert(table)
                .values(user_id=user_id, key_hash=key_hash, request_hash=request_hash)
                .on_conflict_do_nothing()
                .returning(table.c.key_hash)
            ).first()
            if claimed is None:
                row = conn.execute(
                    sa.select(table, sa.func.now().label("now"))
                    .where(table.c.user_id == user_id, table.c.key_hash == key_hash)
                    .with_for_update()
                ).one()
                if row.request_hash != request_hash:
                    raise ValidationFailed(
                        IDEMPOTENCY_HEADER,
                        key,
                        "This Idempotency-Key was already used for a different request: use a new key for a new request.",
                    )
                if row.status is not None and row.now - row.created_at < KEY_LIFETIME:
                    log.info("idempotent reply replayed", extra={"user_id": user_id})
                    return unseal(key, row.response)
                if row.status is None and row.now - row.created_at < self.stale_after:
                    raise Conflict("A request with this Idempotency-Key is still being processed: retry in a few seconds.")
                # Expired, or abandoned by a process that died: run the request again under this key.
                conn.execute(
                    table.update()
                    .where(table.c.user_id == user_id, table.c.key_hash == key_hash)
                    .values(request_hash=request_hash, status=None, response=None, created_at=sa.func.now(), completed_at=None)
                )

        try:
            reply = handler()
        except Exception as error:  # noqa: BLE001 - the error reply is the result to store or drop
            reply = error_reply(error, correlation_id)

        with self.engine.begin() as conn:
            where = (table.c.user_id == user_id) & (table.c.key_hash == key_hash)
            if reply.status >= 500 or reply.status == 429:
                conn.execute(table.delete().where(where))
            else:
                conn.execute(
                    table.update().where(where).values(status=reply.status, response=seal(key, reply), completed_at=sa.func.now())
                )
        return reply

"""Access-token verification on the gateway.

Tokens are EdDSA (Ed25519) JWTs signed by accounts. Only the algorithm
"EdDSA" is accepted, so "none" and HMAC tokens made with the public key fail.
The `kid` header picks the public key. An unknown kid makes the verifier
reload the key files once, so a key added for rotation is found without a
restart. A valid signature is not enough: the token's session (`sid`) must
still be active in accounts. That check is cached for
`session_check_cache_seconds`; this gateway process drops its cache entry at
once when it handles the sign-out, so only other replicas may accept a
revoked token, for at most that long.

A verified token's claims are kept by the exact token text until the token
expires, so a client's next requests skip the signature check. The expiry
is checked on every use, and reloading the keys empties that cache.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from loansyncro.errors import Unauthorized
from loansyncro.token_keys import load_public_keys

log = logging.getLogger(__name__)

ALGORITHM = "EdDSA"
ISSUER = "loansyncro-accounts"
AUDIENCE = "loansyncro-api"
INVALID_TOKEN = "Invalid or expired access token: sign in again or refresh the token."
# Seconds of clock difference allowed between accounts and the gateway.
LEEWAY_SECONDS = 5
# Tokens whose verified claims one gateway process keeps; the cache starts over when full.
VERIFIED_CACHE_SIZE = 10_000
# Shortest time between two reloads of the key files for unknown key ids, so
# tokens with made-up key ids cannot make every request read the files.
KEY_RELOAD_INTERVAL_SECONDS = 5.0


class TokenVerifier:
    def __init__(
        self,
        public_key_files: tuple[str, ...],
        *,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.public_key_files = public_key_files
        self.keys: dict[str, Ed25519PublicKey] = {}
        self.clock = clock
        self.monotonic = monotonic
        self._lock = threading.Lock()
        self._last_reload: float | None = None
        self._verified: dict[str, dict[str, Any]] = {}

    def _key(self, kid: str) -> Ed25519PublicKey:
        if kid not in self.keys:
            with self._lock:
                now = self.monotonic()
                due = self._last_reload is None or now - self._last_reload >= KEY_RELOAD_INTERVAL_SECONDS
                if kid not in self.keys and due:
                    self.keys = load_public_keys(self.public_key_files)
                    self._last_reload = now
                    self._verified.clear()
        try:
            return self.keys[kid]
        except KeyError:
            raise Unauthorized(INVALID_TOKEN) from None

    def verify(self, token: str) -> dict[str, Any]:
        """Return the claims of a valid access token; raise Unauthorized otherwise."""
        cached = self._verified.get(token)
        if cached is not None:
            if cached["exp"] + LEEWAY_SECONDS > self.clock():
                return dict(cached)
            self._verified.pop(token, None)
            log.warning("access token rejected", extra={"reason": "ExpiredSignatureError"})
            raise Unauthorized(INVALID_TOKEN)

        claims = self._verify_signed(token)
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            self._verified.clear()
        self._verified[token] = claims
        return dict(claims)

    def _verify_signed(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthorized(INVALID_TOKEN) from None
        if header.get("alg") != ALGORITHM or not isinstance(header.get("kid"), str):
            log.warning("access token rejected", extra={"reason": "algorithm or kid", "alg": str(header.get("alg"))})
            raise Unauthorized(INVALID_TOKEN)
        try:
            claims = jwt.decode(
                token,
                self._key(header["kid"]),
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=ISSUER,
                options={"require": ["exp", "iat", "sub", "sid", "iss", "aud"]},
                leeway=LEEWAY_SECONDS,
            )
        except jwt.PyJWTError as error:
            log.warning("access token rejected", extra={"reason": type(error).__name__})
            raise Unauthorized(INVALID_TOKEN) from None
        if claims.get("typ") != "access":
            raise Unauthorized(INVALID_TOKEN)
        return claims


class SessionCache:
    """Recently confirmed active sessions: (user id, session id) -> monotonic expiry.

    Keyed by both ids, so a session confirmed for one user never vouches for a
    token that names another user with the same session id.
    """

    def __init__(self, ttl_seconds: float) -> None:
        self.ttl = ttl_seconds
        self._active: dict[tuple[str, str], float] = {}

    def check(self, session_id: str, user_id: str, ask_accounts: Callable[[str, str], Any]) -> None:
        now = time.monotonic()
        if self._active.get((user_id, session_id), 0.0) > now:
            return
        # Raises Unauthorized when the session was signed out or revoked.
        ask_accounts(user_id, session_id)
        if self.ttl > 0:
            if len(self._active) > 100_000:
                self._active.clear()
            self._active[(user_id, session_id)] = now + self.ttl

    def forget(self, session_id: str | None = None) -> None:
        if session_id is None:
            self._active.clear()
            return
        for key in [key for key in self._active if key[1] == session_id]:
            del self._active[key]

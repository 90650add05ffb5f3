"""Short-lived EdDSA access tokens, signed with the key only accounts reads."""

from __future__ import annotations

import time
import uuid

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from loansyncro.token_keys import key_id

ALGORITHM = "EdDSA"
ISSUER = "loansyncro-accounts"
AUDIENCE = "loansyncro-api"


class AccessTokenIssuer:
    def __init__(self, private_key: Ed25519PrivateKey, ttl_seconds: int) -> None:
        self.private_key = private_key
        self.ttl_seconds = ttl_seconds
        self.kid = key_id(private_key.public_key())

    def issue(self, user_id: uuid.UUID, session_id: uuid.UUID) -> str:
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": str(user_id),
            "sid": str(session_id),
            "typ": "access",
            "iat": now,
            "exp": now + self.ttl_seconds,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self.private_key, algorithm=ALGORITHM, headers={"kid": self.kid})

    def token_response(self, user_id: uuid.UUID, session_id: uuid.UUID, refresh_token: str) -> dict[str, object]:
        return {
            "access_token": self.issue(user_id, session_id),
            "token_type": "Bearer",
            "expires_in": self.ttl_seconds,
            "refresh_token": refresh_token,
            "user_id": str(user_id),
        }

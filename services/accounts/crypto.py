"""Per-user data keys for personal data in events, and the keyed email lookup hash.

Each user gets a random AES-256-GCM data key. It is stored in
`accounts.user_keys` wrapped (encrypted) with the server's key-wrapping key,
never in the event log. Event fields hold "v1:" + base64(nonce + ciphertext);
the associated data binds each ciphertext to its user and field, so a value
copied into another user's or field's event fails to decrypt.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import unicodedata
import uuid

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "v1:"
NONCE_BYTES = 12


class KeyDestroyed(Exception):
    """The user's data key no longer exists: the account was deleted."""


def normalise_email(email: str) -> str:
    """Return the form used for uniqueness: NFKC, trimmed and case-folded."""
    return unicodedata.normalize("NFKC", email).strip().casefold()


def email_lookup_hash(secret: bytes, email: str) -> str:
    """HMAC-SHA256 of the normalised email, so the lookup table never contains the email itself."""
    return hmac.new(secret, normalise_email(email).encode(), hashlib.sha256).hexdigest()


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def wrap_key(wrapping_key: bytes, user_id: uuid.UUID, data_key: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(wrapping_key).encrypt(nonce, data_key, b"user-key:" + user_id.bytes)


def unwrap_key(wrapping_key: bytes, user_id: uuid.UUID, wrapped: bytes) -> bytes:
    return AESGCM(wrapping_key).decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], b"user-key:" + user_id.bytes)


def _associated_data(user_id: uuid.UUID, field: str) -> bytes:
    return user_id.bytes + b":" + field.encode()


def encrypt_field(data_key: bytes, user_id: uuid.UUID, field: str, value: str | None) -> str | None:
    if value is None:
        return None
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(data_key).encrypt(nonce, value.encode(), _associated_data(user_id, field))
    return PREFIX + base64.b64encode(nonce + sealed).decode()


def decrypt_field(data_key: bytes, user_id: uuid.UUID, field: str, value: str | None) -> str | None:
    if value is None:
        return None
    if not value.startswith(PREFIX):
        raise ValueError(f"{field} of user {user_id} is not in the {PREFIX} encrypted format")
    raw = base64.b64decode(value[len(PREFIX):])
    try:
        return AESGCM(data_key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], _associated_data(user_id, field)).decode()
    except InvalidTag as error:
        raise ValueError(f"{field} of user {user_id} failed to decrypt: wrong key or altered data") from error

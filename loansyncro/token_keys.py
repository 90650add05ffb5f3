"""Public keys that verify access tokens, identified by the JWT `kid` both sides compute the same way.

Accounts signs tokens with its private key (`services/accounts/keys.py`); the
gateway verifies them with the public key files only.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from loansyncro.config import ConfigError


def key_id(public_key: Ed25519PublicKey) -> str:
    """Return the RFC 7638 JWK thumbprint of an Ed25519 public key, used as the JWT `kid`."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    x = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    canonical = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": x}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()


def load_public_keys(files: Iterable[str]) -> dict[str, Ed25519PublicKey]:
    """Load every readable public key file into {kid: key}; missing files are skipped."""
    keys: dict[str, Ed25519PublicKey] = {}
    for name in files:
        path = Path(name)
        if not path.exists():
            continue
        loaded = serialization.load_pem_public_key(path.read_bytes())
        if not isinstance(loaded, Ed25519PublicKey):
            raise ConfigError(f"ACCESS_TOKEN_PUBLIC_KEY_FILES: {path} is not an Ed25519 public key (PEM)")
        keys[key_id(loaded)] = loaded
    return keys

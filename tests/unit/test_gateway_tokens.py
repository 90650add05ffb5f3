"""Access-token verification: the cache of verified tokens and the reload of key files."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from loansyncro.errors import Unauthorized
from services.accounts.tokens import AccessTokenIssuer
from services.gateway import auth
from services.gateway.auth import TokenVerifier


def write_public_key(directory: Path, private_key: Ed25519PrivateKey) -> str:
    path = directory / f"{uuid.uuid4().hex}.pem"
    path.write_bytes(
        private_key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return str(path)


def sign(private_key: Ed25519PrivateKey, lifetime: int = 600) -> str:
    """Issue an access token the way accounts does."""
    return AccessTokenIssuer(private_key, lifetime).issue(uuid.uuid4(), uuid.uuid4())


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def test_cached_token_still_expires(tmp_path):
    key = Ed25519PrivateKey.generate()
    clock = Clock()
    verifier = TokenVerifier((write_public_key(tmp_path, key),), clock=clock)
    token = sign(key, lifetime=60)

    first = verifier.verify(token)
    assert verifier.verify(token) == first
    clock.now += 60 + auth.LEEWAY_SECONDS + 1
    with pytest.raises(Unauthorized):
        verifier.verify(token)


def test_changed_token_is_verified_again(tmp_path):
    key = Ed25519PrivateKey.generate()
    verifier = TokenVerifier((write_public_key(tmp_path, key),))
    token = sign(key)
    verifier.verify(token)

    header, payload, signature = token.split(".")
    tampered = ".".join([header, payload, signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")])
    with pytest.raises(Unauthorized):
        verifier.verify(tampered)


def test_returned_claims_do_not_change_the_cache(tmp_path):
    key = Ed25519PrivateKey.generate()
    verifier = TokenVerifier((write_public_key(tmp_path, key),))
    token = sign(key)

    verifier.verify(token)["sub"] = "someone else"
    assert verifier.verify(token)["sub"] != "someone else"


def test_unknown_key_ids_throttle_reloads(tmp_path, monkeypatch):
    key, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    files = (write_public_key(tmp_path, key), str(tmp_path / "rotated.pem"))
    loads: list[int] = []
    real_load = auth.load_public_keys
    monkeypatch.setattr(auth, "load_public_keys", lambda names: loads.append(1) or real_load(names))
    now = [0.0]
    verifier = TokenVerifier(files, monotonic=lambda: now[0])
    verifier.verify(sign(key))
    assert len(loads) == 1

    for _ in range(5):
        with pytest.raises(Unauthorized):
            verifier.verify(sign(other))
    assert len(loads) == 1, "tokens with unknown key ids must not reload the files on every request"

    # Key rotation: the new public key file appears and is found after the interval.
    Path(files[1]).write_bytes(Path(write_public_key(tmp_path, other)).read_bytes())
    now[0] += auth.KEY_RELOAD_INTERVAL_SECONDS
    assert verifier.verify(sign(other))["typ"] == "access"
    assert len(loads) == 2

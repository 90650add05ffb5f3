"""Key files: the access-token signing key pair and the two symmetric server secrets.

Accounts alone reads the private signing key and the secrets; the gateway reads
only the public key files, through `loansyncro.token_keys.load_public_keys`. When a file is missing
and `generate_missing_keys` is set (development and tests), it is created with
mode 0600 under an exclusive lock, so processes starting together agree on one key.
"""

from __future__ import annotations

import base64
import fcntl
import logging
import os
import secrets
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from loansyncro.config import ConfigError, Settings
from loansyncro.token_keys import key_id

log = logging.getLogger(__name__)

SECRET_BYTES = 32


@contextmanager
def _key_dir_lock(directory: Path) -> Iterator[None]:
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(directory / ".lock", "a") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def _write_private(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(content)


def _missing(path: Path, variable: str) -> ConfigError:
    return ConfigError(
        f"{variable}: key file {path} does not exist; create it or set GENERATE_MISSING_KEYS=true for development"
    )


def ensure_signing_key(settings: Settings) -> Ed25519PrivateKey:
    """Load the private signing key, generating the pair first when allowed and missing."""
    private_path = Path(settings.access_token_private_key_file)
    public_path = Path(settings.access_token_public_key_files[0])
    if not private_path.exists():
        if not settings.generate_missing_keys:
            raise _missing(private_path, "ACCESS_TOKEN_PRIVATE_KEY_FILE")
        with _key_dir_lock(private_path.parent):
            if not private_path.exists():
                key = Ed25519PrivateKey.generate()
                pem = key.private_bytes(
                    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
                )
                public_pem = key.public_key().public_bytes(
                    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
                )
                # Write the public key first: once the private file exists, a gateway may read the public one.
                if not public_path.exists():
                    public_path.parent.mkdir(parents=True, exist_ok=True)
                    public_path.write_bytes(public_pem)
                _write_private(private_path, pem)
                log.warning("generated a development signing key", extra={"key_id": key_id(key.public_key())})
    loaded = serialization.load_pem_private_key(private_path.read_bytes(), password=None)
    if not isinstance(loaded, Ed25519PrivateKey):
        raise ConfigError(f"ACCESS_TOKEN_PRIVATE_KEY_FILE: {private_path} is not an Ed25519 private key (PKCS#8 PEM)")
    return loaded


def ensure_secret(path_name: str, variable: str, settings: Settings) -> bytes:
    """Load a 32-byte symmetric secret (stored base64), generating it when allowed and missing."""
    path = Path(path_name)
    if not path.exists():
        if not settings.generate_missing_keys:
            raise _missing(path, variable)
        with _key_dir_lock(path.parent):
            if not path.exists():
                _write_private(path, base64.b64encode(secrets.token_bytes(SECRET_BYTES)) + b"\n")
                log.warning("generated a development secret", extra={"variable": variable})
    try:
        secret = base64.b64decode(path.read_bytes().strip(), validate=True)
    except ValueError as error:
        raise ConfigError(f"{variable}: {path} must contain {SECRET_BYTES} random bytes in base64") from error
    if len(secret) != SECRET_BYTES:
        raise ConfigError(f"{variable}: {path} must contain {SECRET_BYTES} random bytes in base64, found {len(secret)}")
    return secret

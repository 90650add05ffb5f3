"""Password policy and argon2id hashing off the eventlet hub.

Argon2 spends tens of milliseconds of CPU per hash by design. Run in a
greenthread it would stall every other request of the process, so `hash`,
`verify` and `needs_rehash` callers go through `eventlet.tpool.execute`,
which runs the C code in a native thread (argon2-cffi releases the GIL).
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from typing import Any, Callable, TypeVar

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from loansyncro.config import Settings
from loansyncro.db import eventlet_is_active
from loansyncro.errors import ValidationFailed

MIN_LENGTH = 12
# Shown as the rejected value in place of a password.
REDACTED = "[redacted]"
# Longer inputs only cost hashing time; no memorable password is this long.
MAX_LENGTH = 256
_TRAILING_DIGITS_AND_SYMBOLS = re.compile(r"[\d\W_]+$")

T = TypeVar("T")


@cache
def common_passwords() -> frozenset[str]:
    text = resources.files("services.accounts").joinpath("common_passwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def check_password_policy(password: Any, field: str = "password", email: str | None = None) -> str:
    """Return the password if it meets the policy; raise ValidationFailed naming `field` otherwise.

    The rejected value is never echoed back, because it is a password.
    """
    hidden = REDACTED
    if not isinstance(password, str):
        raise ValidationFailed(field, hidden, "Invalid password: expected a string.")
    if len(password) < MIN_LENGTH:
        raise ValidationFailed(field, hidden, f"Password too short: use at least {MIN_LENGTH} characters.")
    if len(password) > MAX_LENGTH:
        raise ValidationFailed(field, hidden, f"Password too long: use at most {MAX_LENGTH} characters.")
    lowered = password.lower()
    stem = _TRAILING_DIGITS_AND_SYMBOLS.sub("", lowered)
    if lowered in common_passwords() or stem in common_passwords() or len(set(lowered)) <= 2:
        raise ValidationFailed(field, hidden, "Password too common: choose a longer phrase that is not on common-password lists.")
    if email is not None and email.lower().split("@")[0] in lowered and len(email.split("@")[0]) >= 4:
        raise ValidationFailed(field, hidden, "Password contains the email address: choose one that does not.")
    return password


def _offload(function: Callable[..., T], *args: Any) -> T:
    if eventlet_is_active():
        from eventlet import tpool

        return tpool.execute(function, *args)
    return function(*args)


class Passwords:
    """argon2id hashing with the configured cost; `verify` returns False for a wrong password or a malformed hash."""

    def __init__(self, settings: Settings) -> None:
        self.hasher = PasswordHasher(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
            type=Type.ID,
        )
        self._dummy_hash: str | None = None

    def hash(self, password: str) -> str:
        return _offload(self.hasher.hash, password)

    def verify(self, password_hash: str, password: str) -> bool:
        try:
            return bool(_offload(self.hasher.verify, password_hash, password))
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def verify_unknown_user(self, password: str) -> bool:
        """Spend the time of a real verification, so an unknown email takes as long as a wrong password."""
        if self._dummy_hash is None:
            self._dummy_hash = self.hash("not the password of any account")
        self.verify(self._dummy_hash, password)
        return False

    def needs_rehash(self, password_hash: str) -> bool:
        return self.hasher.check_needs_rehash(password_hash)

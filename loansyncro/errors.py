"""Errors that cross service boundaries; the gateway maps each to one HTTP status.

nameko sends an exception's args to the caller, which rebuilds the same
class (registered in loansyncro.service_kit). nameko turns every arg that is
not a string, a list or a dict into a string, so ValidationFailed carries
its value as JSON text to keep None, numbers and booleans intact.
"""

from __future__ import annotations

import json
from typing import Any, Final

# Key of the one-entry dict that carries ValidationFailed's value as JSON text.
_JSON_VALUE: Final = "json"


class DomainError(Exception):
    """A request the domain rejects; never a bug."""


class ValidationFailed(DomainError):
    """One input is invalid: `field` names it, `value` is what was sent, and the message gives the fix."""

    def __init__(self, field: str, value: Any, detail: str) -> None:
        if isinstance(value, dict) and set(value) == {_JSON_VALUE} and isinstance(value[_JSON_VALUE], str):
            value = json.loads(value[_JSON_VALUE])  # rebuilt by an RPC caller
        elif not (value is None or isinstance(value, (str, int, float, bool))):
            value = str(value)
        super().__init__(field, {_JSON_VALUE: json.dumps(value)}, detail)
        self.field = field
        self.value = value
        self.detail = detail

    def __str__(self) -> str:
        return self.detail


class NotFound(DomainError):
    """The resource does not exist for this user (other users' resources included)."""

    def __init__(self, resource: str, resource_id: str) -> None:
        super().__init__(resource, str(resource_id))
        self.resource = resource
        self.resource_id = str(resource_id)

    def __str__(self) -> str:
        return f"{self.resource} {self.resource_id} was not found"


class Conflict(DomainError):
    """The request cannot be applied in the resource's current state."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def __str__(self) -> str:
        return self.detail


class Unauthorized(DomainError):
    def __init__(self, detail: str = "missing, invalid or expired credentials") -> None:
        super().__init__(detail)
        self.detail = detail

    def __str__(self) -> str:
        return self.detail


class RateLimited(DomainError):
    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(int(retry_after_seconds))
        self.retry_after_seconds = int(retry_after_seconds)

    def __str__(self) -> str:
        return f"too many attempts: try again in {self.retry_after_seconds} seconds"


CROSS_SERVICE_ERRORS: tuple[type[DomainError], ...] = (
    DomainError,
    ValidationFailed,
    NotFound,
    Conflict,
    Unauthorized,
    RateLimited,
)

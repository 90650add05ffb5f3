"""Command input every service parses the same way: user ids, derived event ids, dates and the user's today."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any, Final

from loansyncro.dates import parse_iso_date
from loansyncro.errors import ValidationFailed
from loansyncro.schedule import LoanValidationError, local_today

# Namespace of the deterministic ids derived from (user id, Idempotency-Key).
IDEMPOTENCY_NAMESPACE: Final = uuid.UUID("6f1c1d0e-5a43-4c43-9a59-1f7a3d7f0c11")


def parse_user_id(value: object) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise ValidationFailed("user_id", value, f"user_id {value!r} is not a UUID") from None


def derived_id(user_id: uuid.UUID, purpose: str, idempotency_key: str | None) -> uuid.UUID:
    """Return uuid5(user, purpose, key) for a key, else a random id, so a retried request maps to one event."""
    if not idempotency_key:
        return uuid.uuid4()
    return uuid.uuid5(IDEMPOTENCY_NAMESPACE, f"{user_id}:{purpose}:{idempotency_key}")


def today_in(time_zone: str | None) -> dt.date:
    try:
        return local_today(time_zone or "UTC", dt.datetime.now(dt.UTC))
    except LoanValidationError as error:
        raise validation_failed(error) from error


def validation_failed(error: LoanValidationError) -> ValidationFailed:
    """Map the loan maths' error to the cross-service error, keeping field, value and message."""
    return ValidationFailed(error.field, error.value, error.message)


def parse_date(payload: Mapping[str, Any], key: str, *, required: bool) -> dt.date | None:
    value = payload.get(key)
    if value is None:
        if required:
            raise ValidationFailed(key, None, f"{key} is missing; pass a date as YYYY-MM-DD")
        return None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    try:
        return parse_iso_date(str(value))
    except ValueError:
        raise ValidationFailed(key, value, f"{key} {value!r} is not a date; pass YYYY-MM-DD") from None

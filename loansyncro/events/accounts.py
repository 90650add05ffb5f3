"""Contracts of the User aggregate's events (stream type "user", stream id "user-<uuid>").

Personal data (email, display name, phone) and the password hash are stored
encrypted with the user's own data key, which lives outside the event log in
`accounts.user_keys`. Those fields hold ciphertext strings, never clear text.
Deleting the account destroys the key, so the encrypted fields of every event
of the stream become unreadable while the log stays append-only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import marshmallow
from marshmallow import fields

from loansyncro.events.registry import contract


class _Profile(marshmallow.Schema):
    user_id = fields.UUID(required=True)
    encrypted_email = fields.String(required=True)
    encrypted_display_name = fields.String(load_default=None, allow_none=True)
    encrypted_phone = fields.String(load_default=None, allow_none=True)
    # IANA time zone name, such as "Europe/Berlin".
    time_zone = fields.String(required=True)
    # ISO 4217 code, such as "EUR".
    currency = fields.String(required=True)
    # Locale identifier as Babel writes it, such as "de_DE".
    locale = fields.String(required=True)


@contract("UserRegistered")
class UserRegistered(_Profile):
    encrypted_password_hash = fields.String(required=True)


@contract("ProfileUpdated")
class ProfileUpdated(_Profile):
    """The whole profile after the change, so a reader never merges partial updates."""


@contract("ReminderPreferencesChanged")
class ReminderPreferencesChanged(marshmallow.Schema):
    user_id = fields.UUID(required=True)
    # "email", "sms", "both" or "none".
    channels = fields.String(required=True)
    # Days before a due date on which to remind, such as [3, 1].
    days_before = fields.List(fields.Integer(), required=True)
    overdue_alerts = fields.Boolean(required=True)
    # Days between repeated overdue alerts; None sends one alert only.
    overdue_repeat_days = fields.Integer(load_default=None, allow_none=True)
    # Local times "HH:MM" in the user's time zone between which nothing is sent; both or neither.
    quiet_hours_start = fields.String(load_default=None, allow_none=True)
    quiet_hours_end = fields.String(load_default=None, allow_none=True)


# Largest number of days before a due date a reminder may be asked for.
MAX_DAYS_BEFORE: Final = 60


@dataclass(frozen=True)
class ReminderPreferences:
    """Reminder preferences as a ReminderPreferencesChanged event sets them; the defaults hold until the first one."""

    channels: str = "email"
    days_before: tuple[int, ...] = (3, 1)
    overdue_alerts: bool = True
    overdue_repeat_days: int | None = 7
    quiet_hours_start: str | None = None
    quiet_hours_end: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "channels": self.channels,
            "days_before": list(self.days_before),
            "overdue_alerts": self.overdue_alerts,
            "overdue_repeat_days": self.overdue_repeat_days,
            "quiet_hours": (
                {"start": self.quiet_hours_start, "end": self.quiet_hours_end} if self.quiet_hours_start else None
            ),
        }


@contract("PasswordChanged")
class PasswordChanged(marshmallow.Schema):
    user_id = fields.UUID(required=True)
    encrypted_password_hash = fields.String(required=True)
    # "changed" by the user, or "rehashed" on sign-in after the hashing parameters were raised.
    reason = fields.String(required=True)


@contract("UserDeleted")
class UserDeleted(marshmallow.Schema):
    user_id = fields.UUID(required=True)

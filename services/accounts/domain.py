"""Pure rules of the User aggregate: field validation, state from events, decisions.

Nothing here does I/O. The store decrypts events into the clear-text values
these functions take, and encrypts what they return.
"""

from __future__ import annotations

import re
import uuid
import zoneinfo
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any, Final

import babel
from babel.numbers import is_currency

from loansyncro.errors import Conflict, NotFound, ValidationFailed
from loansyncro.events.accounts import MAX_DAYS_BEFORE, ReminderPreferences

# A pragmatic subset of RFC 5321: local@domain with a dot in the domain, no spaces.
EMAIL_PATTERN: Final = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")
MAX_EMAIL_LENGTH: Final = 254
# E.164: a plus sign, a country code not starting with 0, at most 15 digits in all.
E164_PATTERN: Final = re.compile(r"^\+[1-9]\d{6,14}$")
HH_MM_PATTERN: Final = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
MAX_DISPLAY_NAME_LENGTH: Final = 100
CHANNELS: Final = ("email", "sms", "both", "none")
MAX_REMINDER_DAYS: Final = 10
MAX_OVERDUE_REPEAT_DAYS: Final = 30
PROFILE_FIELDS: Final = ("email", "display_name", "phone", "time_zone", "currency", "locale")


@dataclass(frozen=True)
class Profile:
    email: str
    display_name: str | None = None
    phone: str | None = None
    time_zone: str = "UTC"
    currency: str = "EUR"
    locale: str = "en"


@dataclass(frozen=True)
class User:
    user_id: uuid.UUID
    version: int = 0
    profile: Profile | None = None
    preferences: ReminderPreferences = field(default_factory=ReminderPreferences)
    password_hash: str | None = None
    deleted: bool = False


# --- field validation ---------------------------------------------------------------


def validate_email(value: Any, field_name: str = "email") -> str:
    if not isinstance(value, str):
        raise ValidationFailed(field_name, value, "Invalid email: expected a string such as 'ada@example.com'.")
    email = value.strip()
    if len(email) > MAX_EMAIL_LENGTH or not EMAIL_PATTERN.match(email):
        raise ValidationFailed(field_name, value, "Invalid email address: use the form 'name@example.com'.")
    return email


def validate_phone(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not E164_PATTERN.match(value):
        raise ValidationFailed(
            "phone", value, "Invalid phone number: use E.164 format, a plus sign and up to 15 digits, such as '+4915112345678'."
        )
    return value


@cache
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def validate_time_zone(value: Any) -> str:
    if not isinstance(value, str) or value not in _time_zones():
        raise ValidationFailed("time_zone", value, "Unknown time zone: use an IANA name such as 'Europe/Berlin' or 'UTC'.")
    return value


def validate_currency(value: Any) -> str:
    if not isinstance(value, str) or len(value) != 3 or not value.isupper() or not is_currency(value):
        raise ValidationFailed("currency", value, "Unknown currency: use an ISO 4217 code such as 'EUR' or 'USD'.")
    return value


def validate_locale(value: Any) -> str:
    if not isinstance(value, str) or not value or len(value) > 35:
        raise ValidationFailed("locale", value, "Invalid locale: use an identifier such as 'en', 'en-GB' or 'de_DE'.")
    try:
        return str(babel.Locale.parse(value.replace("-", "_")))
    except (ValueError, babel.UnknownLocaleError):
        raise ValidationFailed("locale", value, "Unknown locale: use an identifier such as 'en', 'en-GB' or 'de_DE'.") from None


def validate_display_name(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationFailed("display_name", value, "Invalid display name: expected a string.")
    name = value.strip()
    if not name or len(name) > MAX_DISPLAY_NAME_LENGTH or any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise ValidationFailed(
            "display_name", value, f"Invalid display name: use 1 to {MAX_DISPLAY_NAME_LENGTH} printable characters."
        )
    return name


_VALIDATORS = {
    "email": validate_email,
    "display_name": validate_display_name,
    "phone": validate_phone,
    "time_zone": validate_time_zone,
    "currency": validate_currency,
    "locale": validate_locale,
}


def build_profile(current: Profile | None, changes: Mapping[str, Any]) -> Profile:
    """Validate `changes` and return the profile with them applied (a new one when `current` is None)."""
    unknown = sorted(set(changes) - set(PROFILE_FIELDS))
    if unknown:
        raise ValidationFailed(unknown[0], None, "Unknown profile field: remove it.")
    values = {name: _VALIDATORS[name](value) for name, value in changes.items()}
    if current is None:
        if "email" not in values:
            raise ValidationFailed("email", None, "Missing email: send the email address to register.")
        return Profile(**values)
    return replace(current, **values)


def validate_preferences(current: ReminderPreferences, changes: Mapping[str, Any], profile: Profile) -> ReminderPreferences:
    """Validate `changes` to the reminder preferences and return the result."""
    values: dict[str, Any] = {}
    if "channels" in changes:
        if changes["channels"] not in CHANNELS:
            raise ValidationFailed("channels", changes["channels"], f"Invalid channels: use one of {', '.join(CHANNELS)}.")
        values["channels"] = changes["channels"]
    if "days_before" in changes:
        values["days_before"] = _validate_days_before(changes["days_before"])
    if "overdue_alerts" in changes:
        if not isinstance(changes["overdue_alerts"], bool):
            raise ValidationFailed("overdue_alerts", changes["overdue_alerts"], "Invalid overdue_alerts: use true or false.")
        values["overdue_alerts"] = changes["overdue_alerts"]
    if "overdue_repeat_days" in changes:
        repeat = changes["overdue_repeat_days"]
        if repeat is not None and (isinstance(repeat, bool) or not isinstance(repeat, int) or not 1 <= repeat <= MAX_OVERDUE_REPEAT_DAYS):
            raise ValidationFailed(
                "overdue_repeat_days", repeat,
                f"Invalid overdue_repeat_days: use a whole number of days from 1 to {MAX_OVERDUE_REPEAT_DAYS}, or null for one alert only.",
            )
        values["overdue_repeat_days"] = repeat
    if "quiet_hours" in changes:
        values.update(_validate_quiet_hours(changes["quiet_hours"]))

    result = replace(current, **values)
    if result.channels in ("sms", "both") and profile.phone is None:
        raise ValidationFailed("channels", result.channels, "SMS reminders need a phone number: add one to the profile first.")
    return result


def _validate_days_before(days: Any) -> tuple[int, ...]:
    detail = f"Invalid days_before: use a list of up to {MAX_REMINDER_DAYS} distinct whole numbers from 0 to {MAX_DAYS_BEFORE}, such as [3, 1]."
    if not isinstance(days, (list, tuple)) or len(days) > MAX_REMINDER_DAYS:
        raise ValidationFailed("days_before", days, detail)
    for day in days:
        if isinstance(day, bool) or not isinstance(day, int) or not 0 <= day <= MAX_DAYS_BEFORE:
            raise ValidationFailed("days_before", days, detail)
    if len(set(days)) != len(days):
        raise ValidationFailed("days_before", days, detail)
    return tuple(sorted(days, reverse=True))


def _validate_quiet_hours(quiet: Any) -> dict[str, str | None]:
    if quiet is None:
        return {"quiet_hours_start": None, "quiet_hours_end": None}
    detail = "Invalid quiet_hours: use {\"start\": \"HH:MM\", \"end\": \"HH:MM\"} in 24-hour local time, or null."
    if not isinstance(quiet, Mapping) or set(quiet) != {"start", "end"}:
        raise ValidationFailed("quiet_hours", quiet, detail)
    for part in ("start", "end"):
        if not isinstance(quiet[part], str) or not HH_MM_PATTERN.match(quiet[part]):
            raise ValidationFailed(f"quiet_hours.{part}", quiet[part], detail)
    if quiet["start"] == quiet["end"]:
        raise ValidationFailed("quiet_hours.end", quiet["end"], "Invalid quiet_hours: start and end must differ.")
    return {"quiet_hours_start": quiet["start"], "quiet_hours_end": quiet["end"]}


# --- state --------------------------------------------------------------------------


def apply(user: User, event_type: str, data: Mapping[str, Any]) -> User:
    """Return the user after one decrypted event; `data` contains clear-text fields."""
    version = user.version + 1
    if event_type in ("UserRegistered", "ProfileUpdated"):
        profile = Profile(**{name: data[name] for name in PROFILE_FIELDS})
        password_hash = data.get("password_hash", user.password_hash)
        return replace(user, version=version, profile=profile, password_hash=password_hash)
    if event_type == "ReminderPreferencesChanged":
        preferences = ReminderPreferences(
            channels=data["channels"],
            days_before=tuple(data["days_before"]),
            overdue_alerts=data["overdue_alerts"],
            overdue_repeat_days=data["overdue_repeat_days"],
            quiet_hours_start=data["quiet_hours_start"],
            quiet_hours_end=data["quiet_hours_end"],
        )
        return replace(user, version=version, preferences=preferences)
    if event_type == "PasswordChanged":
        return replace(user, version=version, password_hash=data["password_hash"])
    if event_type == "UserDeleted":
        return replace(user, version=version, deleted=True)
    return replace(user, version=version)


def replay(user_id: uuid.UUID, events: Iterable[tuple[str, Mapping[str, Any]]]) -> User:
    user = User(user_id)
    for event_type, data in events:
        user = apply(user, event_type, data)
    return user


def check_user_exists(user: User) -> User:
    """Return the user if registered and not deleted; raise NotFound otherwise."""
    if user.profile is None or user.deleted:
        raise NotFound("user", str(user.user_id))
    return user


def check_email_change(current: Profile, new: Profile, email_taken: bool) -> None:
    if new.email.casefold() != current.email.casefold() and email_taken:
        raise Conflict("This email address belongs to another account: use another address.")

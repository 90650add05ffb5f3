"""Request and response bodies of the accounts endpoints.

These check shape and types only. Accounts validates meaning (email syntax,
E.164, IANA time zones, password policy), so a direct RPC is checked the same way.
"""

from __future__ import annotations

from typing import Any

import marshmallow
from marshmallow import fields, validate


class StrictBoolean(fields.Boolean):
    """A JSON true or false only; marshmallow's Boolean would also take "yes" or 1."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class Credentials(marshmallow.Schema):
    email = fields.String(required=True, validate=validate.Length(max=254))
    password = fields.String(required=True, load_only=True, validate=validate.Length(max=1024))


class Registration(Credentials):
    display_name = fields.String(allow_none=True, validate=validate.Length(max=200))
    phone = fields.String(allow_none=True, validate=validate.Length(max=32))
    time_zone = fields.String(validate=validate.Length(max=64))
    currency = fields.String(validate=validate.Length(max=8))
    locale = fields.String(validate=validate.Length(max=35))


class RefreshRequest(marshmallow.Schema):
    refresh_token = fields.String(required=True, validate=validate.Length(max=200))


class Tokens(marshmallow.Schema):
    access_token = fields.String(required=True)
    token_type = fields.String(required=True, metadata={"example": "Bearer"})
    expires_in = fields.Integer(required=True, metadata={"description": "Seconds until the access token expires."})
    refresh_token = fields.String(required=True)
    user_id = fields.UUID(required=True)


class Profile(marshmallow.Schema):
    user_id = fields.UUID(required=True)
    email = fields.String(required=True)
    display_name = fields.String(allow_none=True)
    phone = fields.String(allow_none=True, metadata={"description": "E.164, such as +4915112345678."})
    time_zone = fields.String(required=True, metadata={"description": "IANA name, such as Europe/Berlin."})
    currency = fields.String(required=True, metadata={"description": "ISO 4217 code."})
    locale = fields.String(required=True)


class ProfileChanges(marshmallow.Schema):
    email = fields.String(validate=validate.Length(max=254))
    display_name = fields.String(allow_none=True, validate=validate.Length(max=200))
    phone = fields.String(allow_none=True, validate=validate.Length(max=32))
    time_zone = fields.String(validate=validate.Length(max=64))
    currency = fields.String(validate=validate.Length(max=8))
    locale = fields.String(validate=validate.Length(max=35))

    @marshmallow.validates_schema
    def check_not_empty(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if not data:
            raise marshmallow.ValidationError("Send at least one field to change.", "_schema")


class QuietHours(marshmallow.Schema):
    start = fields.String(required=True, metadata={"example": "22:00"})
    end = fields.String(required=True, metadata={"example": "07:00"})


class ReminderPreferences(marshmallow.Schema):
    channels = fields.String(validate=validate.OneOf(["email", "sms", "both", "none"]))
    days_before = fields.List(fields.Integer(strict=True), validate=validate.Length(max=10))
    overdue_alerts = StrictBoolean()
    overdue_repeat_days = fields.Integer(strict=True, allow_none=True)
    quiet_hours = fields.Nested(QuietHours, allow_none=True)


class ReminderPreferencesChanges(ReminderPreferences):
    @marshmallow.validates_schema
    def check_not_empty(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if not data:
            raise marshmallow.ValidationError("Send at least one field to change.", "_schema")


class PasswordChange(marshmallow.Schema):
    current_password = fields.String(required=True, load_only=True, validate=validate.Length(max=1024))
    new_password = fields.String(required=True, load_only=True, validate=validate.Length(max=1024))


class AccountDeletion(marshmallow.Schema):
    password = fields.String(required=True, load_only=True, validate=validate.Length(max=1024))

"""Pure rules of accounts: field validation, password policy, encryption, state replay."""

from __future__ import annotations

import uuid

import pytest

from loansyncro.errors import ValidationFailed
from services.accounts import crypto, domain
from services.accounts.passwords import check_password_policy, common_passwords


@pytest.mark.parametrize("email", ["ada@example.com", "Ada.Lovelace+loans@mail.example.co.uk", "a@b.io"])
def test_email_valid(email):
    assert domain.validate_email(email) == email


@pytest.mark.parametrize("email", ["", "ada", "ada@", "@example.com", "ada@example", "ada @example.com", "a" * 250 + "@x.io", 7, None])
def test_email_invalid_names_field(email):
    with pytest.raises(ValidationFailed, match="email") as raised:
        domain.validate_email(email)
    assert raised.value.field == "email"


@pytest.mark.parametrize("phone", ["+4915112345678", "+15555550123", "+447700900123"])
def test_phone_e164_valid(phone):
    assert domain.validate_phone(phone) == phone


@pytest.mark.parametrize("phone", ["015112345678", "+0151123456", "+49 151 1234", "+1234567890123456", "+49-151", 4915112345678])
def test_phone_not_e164_rejected(phone):
    with pytest.raises(ValidationFailed, match="E.164") as raised:
        domain.validate_phone(phone)
    assert raised.value.field == "phone"


def test_time_zone_iana_only():
    assert domain.validate_time_zone("America/New_York") == "America/New_York"
    for bad in ("Mars/Olympus", "CEST", "", "../../etc/passwd", None):
        with pytest.raises(ValidationFailed, match="IANA"):
            domain.validate_time_zone(bad)


def test_currency_and_locale():
    assert domain.validate_currency("JPY") == "JPY"
    assert domain.validate_locale("de-DE") == "de_DE"
    with pytest.raises(ValidationFailed, match="ISO 4217"):
        domain.validate_currency("eur")
    with pytest.raises(ValidationFailed, match="locale"):
        domain.validate_locale("zz-QQ")


def test_profile_built_with_defaults():
    profile = domain.build_profile(None, {"email": "ada@example.com"})
    assert profile.time_zone == "UTC"
    assert profile.currency == "EUR"
    changed = domain.build_profile(profile, {"phone": "+4915112345678"})
    assert changed.phone == "+4915112345678"
    assert changed.email == "ada@example.com"


def test_sms_preferences_need_phone():
    profile = domain.Profile(email="ada@example.com")
    with pytest.raises(ValidationFailed, match="phone number") as raised:
        domain.validate_preferences(domain.ReminderPreferences(), {"channels": "sms"}, profile)
    assert raised.value.field == "channels"


def test_preferences_validated_and_sorted():
    profile = domain.Profile(email="ada@example.com", phone="+4915112345678")
    result = domain.validate_preferences(
        domain.ReminderPreferences(),
        {"channels": "both", "days_before": [1, 7, 3], "overdue_repeat_days": None, "quiet_hours": {"start": "22:30", "end": "06:00"}},
        profile,
    )
    assert result.days_before == (7, 3, 1)
    assert result.overdue_repeat_days is None
    assert result.as_dict()["quiet_hours"] == {"start": "22:30", "end": "06:00"}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"days_before": [61]}, "days_before"),
        ({"days_before": [True]}, "days_before"),
        ({"days_before": list(range(11))}, "days_before"),
        ({"overdue_repeat_days": 31}, "overdue_repeat_days"),
        ({"overdue_alerts": 1}, "overdue_alerts"),
        ({"quiet_hours": {"start": "7:00", "end": "08:00"}}, "quiet_hours.start"),
        ({"quiet_hours": {"start": "07:00", "end": "07:00"}}, "quiet_hours.end"),
        ({"quiet_hours": {"start": "07:00"}}, "quiet_hours"),
    ],
)
def test_preferences_invalid_field_named(changes, field):
    with pytest.raises(ValidationFailed) as raised:
        domain.validate_preferences(domain.ReminderPreferences(), changes, domain.Profile(email="a@b.io"))
    assert raised.value.field == field


def test_replay_builds_state_and_deletion():
    user_id = uuid.uuid4()
    registered = {"email": "a@b.io", "display_name": None, "phone": None, "time_zone": "UTC", "currency": "EUR", "locale": "en", "password_hash": "h1"}
    user = domain.replay(user_id, [("UserRegistered", registered), ("PasswordChanged", {"password_hash": "h2", "reason": "changed"})])
    assert user.version == 2
    assert user.password_hash == "h2"
    deleted = domain.apply(user, "UserDeleted", {})
    with pytest.raises(Exception, match="not found"):
        domain.check_user_exists(deleted)


@pytest.mark.parametrize("password", ["short", "password1234", "Password1234!", "qwertyuiopasdf", "aaaaaaaaaaaaaa", "abababababababab", "iloveyou2024!!"])
def test_weak_passwords_rejected(password):
    with pytest.raises(ValidationFailed) as raised:
        check_password_policy(password)
    assert raised.value.field == "password"
    assert raised.value.value == "[redacted]"


def test_password_containing_email_rejected():
    with pytest.raises(ValidationFailed, match="email"):
        check_password_policy("adalovelace is my secret", email="adalovelace@example.com")


def test_good_passphrase_accepted():
    assert check_password_policy("violet tractor sings at dawn") == "violet tractor sings at dawn"


def test_common_password_list_loaded():
    passwords = common_passwords()
    assert len(passwords) >= 1000
    assert "password" in passwords
    assert "qwertyuiopasdf" in passwords


def test_field_encryption_round_trip_and_binding():
    user_id, other_user = uuid.uuid4(), uuid.uuid4()
    key = crypto.new_data_key()
    sealed = crypto.encrypt_field(key, user_id, "email", "ada@example.com")
    assert "ada" not in sealed
    assert crypto.decrypt_field(key, user_id, "email", sealed) == "ada@example.com"
    with pytest.raises(ValueError, match="failed to decrypt"):
        crypto.decrypt_field(key, other_user, "email", sealed)
    with pytest.raises(ValueError, match="failed to decrypt"):
        crypto.decrypt_field(key, user_id, "phone", sealed)
    with pytest.raises(ValueError, match="failed to decrypt"):
        crypto.decrypt_field(crypto.new_data_key(), user_id, "email", sealed)


def test_key_wrapping_bound_to_user():
    wrapping_key = crypto.new_data_key()
    user_id = uuid.uuid4()
    data_key = crypto.new_data_key()
    wrapped = crypto.wrap_key(wrapping_key, user_id, data_key)
    assert crypto.unwrap_key(wrapping_key, user_id, wrapped) == data_key
    with pytest.raises(Exception):
        crypto.unwrap_key(wrapping_key, uuid.uuid4(), wrapped)


def test_email_lookup_hash_ignores_case():
    secret = b"s" * 32
    assert crypto.email_lookup_hash(secret, " Ada@Example.COM ") == crypto.email_lookup_hash(secret, "ada@example.com")
    assert crypto.email_lookup_hash(secret, "ada@example.com") != crypto.email_lookup_hash(b"t" * 32, "ada@example.com")
    assert "ada" not in crypto.email_lookup_hash(secret, "ada@example.com")

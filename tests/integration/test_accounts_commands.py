"""Accounts use cases against the real PostgreSQL: keys, sessions, rate limits, forgetting."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace

import jwt
import pytest
import sqlalchemy as sa

from loansyncro.errors import Conflict, NotFound, RateLimited, Unauthorized, ValidationFailed
from loansyncro.eventstore.schema import events
from services.accounts.commands import Accounts
from services.accounts.keys import ensure_secret, ensure_signing_key
from services.accounts.passwords import Passwords
from services.accounts.store import AccountStore, Secrets
from services.accounts.tokens import AccessTokenIssuer

pytestmark = pytest.mark.integration

PASSWORD = "violet tractor sings at dawn"


@pytest.fixture(scope="module")
def account_settings(settings, tmp_path_factory):
    key_dir = tmp_path_factory.mktemp("keys")
    return replace(
        settings,
        key_dir=str(key_dir),
        access_token_private_key_file=str(key_dir / "signing.pem"),
        access_token_public_key_files=(str(key_dir / "signing.pub.pem"),),
        email_lookup_key_file=str(key_dir / "email-lookup.key"),
        data_key_wrapping_key_file=str(key_dir / "wrapping.key"),
        sign_in_max_failures_per_account=3,
        sign_in_max_failures_per_address=5,
    )


def make_accounts(engine, account_settings, **overrides) -> Accounts:
    settings = replace(account_settings, **overrides)
    secrets = Secrets(
        ensure_secret(settings.email_lookup_key_file, "EMAIL_LOOKUP_KEY_FILE", settings),
        ensure_secret(settings.data_key_wrapping_key_file, "DATA_KEY_WRAPPING_KEY_FILE", settings),
    )
    issuer = AccessTokenIssuer(ensure_signing_key(settings), settings.access_token_ttl_seconds)
    return Accounts(settings, AccountStore(engine, secrets), Passwords(settings), issuer)


@pytest.fixture(scope="module")
def accounts(engine, account_settings):
    return make_accounts(engine, account_settings)


def new_email() -> str:
    return f"user-{uuid.uuid4().hex[:12]}@example.com"


def register(accounts: Accounts, email: str | None = None, **profile) -> dict:
    return accounts.register(str(uuid.uuid4()), email or new_email(), PASSWORD, profile)


def session_of(accounts: Accounts, user: dict) -> str:
    tokens = accounts.sign_in(user["email"], PASSWORD, "10.1.0.1")
    return jwt.decode(tokens["access_token"], options={"verify_signature": False})["sid"]


def test_register_twice_same_command_one_user(accounts, engine):
    command_id, email = str(uuid.uuid4()), new_email()
    first = accounts.register(command_id, email, PASSWORD, {})
    second = accounts.register(command_id, email, PASSWORD, {})
    assert first["user_id"] == second["user_id"]
    with engine.connect() as conn:
        count = conn.execute(sa.select(sa.func.count()).select_from(events).where(events.c.stream_id == f"user-{first['user_id']}")).scalar()
    assert count == 1


def test_register_same_email_other_case_conflicts(accounts):
    email = new_email()
    register(accounts, email)
    with pytest.raises(Conflict, match="already exists"):
        register(accounts, email.upper())


def test_profile_update_is_idempotent(accounts):
    user = register(accounts)
    session_id = session_of(accounts, user)
    command_id = str(uuid.uuid4())
    accounts.update_profile(user["user_id"], session_id, {"display_name": "Ada"}, command_id)
    accounts.update_profile(user["user_id"], session_id, {"display_name": "Grace"}, str(uuid.uuid4()))
    # The first command arriving late again changes nothing.
    replayed = accounts.update_profile(user["user_id"], session_id, {"display_name": "Ada"}, command_id)
    assert replayed["display_name"] == "Grace"


def test_email_change_moves_lookup(accounts):
    user = register(accounts)
    taken = register(accounts)
    session_id = session_of(accounts, user)
    new = new_email()
    accounts.update_profile(user["user_id"], session_id, {"email": new}, str(uuid.uuid4()))
    assert accounts.sign_in(new.upper(), PASSWORD, "10.0.0.1")["user_id"] == user["user_id"]
    with pytest.raises(Conflict):
        accounts.update_profile(user["user_id"], session_id, {"email": taken["email"]}, str(uuid.uuid4()))


def test_write_with_other_users_id_refused(accounts):
    victim = register(accounts, display_name="Victim")
    attacker = register(accounts)
    attacker_session = session_of(accounts, attacker)
    with pytest.raises(Unauthorized):
        accounts.update_profile(victim["user_id"], attacker_session, {"display_name": "Owned"}, str(uuid.uuid4()))
    with pytest.raises(Unauthorized):
        accounts.change_reminder_preferences(victim["user_id"], attacker_session, {"channels": "none"}, str(uuid.uuid4()))
    with pytest.raises(Unauthorized):
        accounts.delete_account(victim["user_id"], attacker_session, PASSWORD, str(uuid.uuid4()))
    assert accounts.get_profile(victim["user_id"])["display_name"] == "Victim"


def test_refresh_rotates_and_reuse_revokes(accounts):
    user = register(accounts)
    tokens = accounts.sign_in(user["email"], PASSWORD, "10.0.0.2")
    rotated = accounts.refresh(tokens["refresh_token"])
    assert rotated["refresh_token"] != tokens["refresh_token"]
    session_id = jwt.decode(rotated["access_token"], options={"verify_signature": False})["sid"]
    assert accounts.check_session(user["user_id"], session_id)

    with pytest.raises(Unauthorized):
        accounts.refresh(tokens["refresh_token"])
    with pytest.raises(Unauthorized):
        accounts.refresh(rotated["refresh_token"])
    with pytest.raises(Unauthorized):
        accounts.check_session(user["user_id"], session_id)


def test_session_of_other_user_refused(accounts):
    first = register(accounts)
    second = register(accounts)
    tokens = accounts.sign_in(first["email"], PASSWORD, "10.0.0.3")
    session_id = jwt.decode(tokens["access_token"], options={"verify_signature": False})["sid"]
    with pytest.raises(Unauthorized):
        accounts.check_session(second["user_id"], session_id)
    # Signing out with another user's id leaves the session alone.
    accounts.sign_out(second["user_id"], session_id)
    assert accounts.check_session(first["user_id"], session_id)


def test_sign_in_rate_limited_per_address(accounts):
    address = f"192.0.2.{uuid.uuid4().int % 250}"
    for _ in range(5):
        with pytest.raises(Unauthorized):
            accounts.sign_in(new_email(), "wrong password attempt", address)
    with pytest.raises(RateLimited) as raised:
        accounts.sign_in(new_email(), "wrong password attempt", address)
    assert raised.value.retry_after_seconds > 0


def test_sign_in_rate_limited_per_account(accounts):
    user = register(accounts)
    for number in range(3):
        with pytest.raises(Unauthorized):
            accounts.sign_in(user["email"], "wrong password attempt", f"198.51.100.{number}")
    with pytest.raises(RateLimited):
        accounts.sign_in(user["email"], PASSWORD, "198.51.100.99")


def test_sign_in_rehashes_after_parameters_raised(engine, account_settings, accounts):
    user = register(accounts)
    stronger = make_accounts(engine, account_settings, argon2_time_cost=3)
    stronger.sign_in(user["email"], PASSWORD, "10.0.0.4")

    with engine.connect() as conn:
        stored = conn.execute(
            sa.select(events.c.event_type, events.c.data).where(events.c.stream_id == f"user-{user['user_id']}").order_by(events.c.version)
        ).all()
        loaded = stronger.store.load_user(conn, uuid.UUID(user["user_id"]))
    assert stored[-1].event_type == "PasswordChanged"
    assert stored[-1].data["reason"] == "rehashed"
    assert "t=3" in loaded.password_hash
    assert not stronger.passwords.needs_rehash(loaded.password_hash)
    assert stronger.sign_in(user["email"], PASSWORD, "10.0.0.4")


def test_deleted_user_unreadable_everywhere(accounts, admin_engine):
    email = new_email()
    user = register(accounts, email, display_name="Grace Hopper", phone="+15555550123")
    session_id = session_of(accounts, user)
    accounts.update_profile(user["user_id"], session_id, {"display_name": "Rear Admiral Hopper"}, str(uuid.uuid4()))
    assert accounts.get_contact(user["user_id"])["email"] == email

    with pytest.raises(ValidationFailed, match="Incorrect password"):
        accounts.delete_account(user["user_id"], session_id, "not the password at all", str(uuid.uuid4()))
    accounts.delete_account(user["user_id"], session_id, PASSWORD, str(uuid.uuid4()))

    with pytest.raises(NotFound):
        accounts.get_contact(user["user_id"])
    with pytest.raises(NotFound):
        accounts.get_profile(user["user_id"])
    with admin_engine.connect() as conn:
        rows = conn.execute(sa.select(events.c.data).where(events.c.stream_id == f"user-{user['user_id']}")).all()
        replayed = accounts.store.load_user(conn, uuid.UUID(user["user_id"]))
    dumped = json.dumps([row.data for row in rows])
    assert len(rows) == 3
    for secret in (email, "Grace", "Hopper", "+15555550123"):
        assert secret not in dumped
    assert replayed.deleted
    assert replayed.profile is None


def test_expired_sessions_deleted(accounts, admin_engine):
    user = register(accounts)
    session_id = session_of(accounts, user)
    with admin_engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE accounts.sessions SET expires_at = now() - interval '1 second' WHERE session_id = :id"),
            {"id": session_id},
        )
    assert accounts.store.delete_expired_sessions() >= 1
    with admin_engine.connect() as conn:
        sessions_left = conn.execute(sa.text("SELECT count(*) FROM accounts.sessions WHERE session_id = :id"), {"id": session_id}).scalar()
        tokens_left = conn.execute(sa.text("SELECT count(*) FROM accounts.refresh_tokens WHERE session_id = :id"), {"id": session_id}).scalar()
    assert sessions_left == 0
    assert tokens_left == 0

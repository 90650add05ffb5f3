"""Use cases of the accounts service, between the nameko entrypoints and the store.

Every state-changing command takes a `command_id`. Event ids derive from it,
so a command that arrives twice (a retry, or a late RPC whose caller gave up)
is applied once: the second time finds its event stored and returns the
current state.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from loansyncro.config import Settings
from loansyncro.errors import NotFound, RateLimited, Unauthorized, ValidationFailed
from loansyncro.eventstore import ConcurrencyError
from services.accounts import domain
from services.accounts.passwords import REDACTED, Passwords, check_password_policy
from services.accounts.store import AccountStore, event_id
from services.accounts.tokens import AccessTokenIssuer

log = logging.getLogger(__name__)

# The same message for an unknown email and a wrong password, so neither reveals registration.
INVALID_CREDENTIALS = "Invalid email or password: check both and try again."
MAX_ATTEMPTS = 3

T = TypeVar("T")


def _uuid(value: Any, field: str) -> uuid.UUID:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        raise ValidationFailed(field, value, f"Invalid {field}: expected a UUID.") from None


def profile_view(user: domain.User) -> dict[str, Any]:
    assert user.profile is not None
    profile = user.profile
    return {
        "user_id": str(user.user_id),
        "email": profile.email,
        "display_name": profile.display_name,
        "phone": profile.phone,
        "time_zone": profile.time_zone,
        "currency": profile.currency,
        "locale": profile.locale,
    }


class Accounts:
    def __init__(self, settings: Settings, store: AccountStore, passwords: Passwords, issuer: AccessTokenIssuer) -> None:
        self.settings = settings
        self.store = store
        self.passwords = passwords
        self.issuer = issuer

    # --- helpers ------------------------------------------------------------------------

    def check_caller_session(self, user_id: Any, session_id: Any) -> None:
        """Refuse a write unless `session_id` is an active session of `user_id`.

        The gateway passes the session from the verified token, so a caller
        that names another user's id without holding that user's session is refused.
        """
        if not self.store.session_is_active(_uuid(user_id, "user_id"), _uuid(session_id, "session_id")):
            log.warning("write rejected: session invalid or of another user", extra={"user_id": str(user_id)})
            raise Unauthorized("Session ended or belongs to another user: sign in again.")

    def _existing_user(self, user_id: Any) -> domain.User:
        return domain.check_user_exists(self.store.read_user(_uuid(user_id, "user_id")))

    def _decide(
        self,
        user_id: Any,
        command_id: str,
        event_type: str,
        decide: Callable[[domain.User, Any], dict[str, Any] | None],
        after: Callable[[Any, domain.User, domain.User], None] | None = None,
    ) -> domain.User:
        """Load the user, let `decide` return the event's clear data, append it, and return the new state.

        Retries when another command appended first; a command already applied returns the current state.
        """
        uid = _uuid(user_id, "user_id")
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                with self.store.engine.begin() as conn:
                    if self.store.events.get_event(event_id(uid, command_id, event_type), conn=conn) is not None:
                        return domain.check_user_exists(self.store.load_user(conn, uid))
                    user = domain.check_user_exists(self.store.load_user(conn, uid))
                    clear = decide(user, conn)
                    if clear is None:
                        return user  # nothing changed: no event
                    self.store.append(conn, user, command_id, event_type, clear)
                    if after is not None:
                        after(conn, user, self.store.load_user(conn, uid))
                    return self.store.load_user(conn, uid) if event_type != "UserDeleted" else user
            except ConcurrencyError:
                if attempt == MAX_ATTEMPTS:
                    raise
                log.info("user stream changed concurrently; retrying", extra={"user_id": str(uid), "attempt": attempt})
        raise AssertionError("unreachable")

    # --- registration and sessions ----------------------------------------------------

    def register(self, command_id: str, email: Any, password: Any, profile: Mapping[str, Any]) -> dict[str, Any]:
        new_profile = domain.build_profile(None, {**profile, "email": email})
        check_password_policy(password, "password", new_profile.email)
        password_hash = self.passwords.hash(password)
        user_id = self.store.register(command_id, new_profile, password_hash)
        return profile_view(self._existing_user(user_id))

    def sign_in(self, email: Any, password: Any, client_address: str) -> dict[str, Any]:
        if not isinstance(email, str) or not isinstance(password, str):
            raise Unauthorized(INVALID_CREDENTIALS)
        buckets = {
            f"account:{self.store.email_hash(email)}": self.settings.sign_in_max_failures_per_account,
            f"address:{client_address}": self.settings.sign_in_max_failures_per_address,
        }
        retry_after = self.store.retry_after(buckets, self.settings.sign_in_window_seconds)
        if retry_after is not None:
            log.warning("sign-in rate limited", extra={"client_address": client_address, "retry_after": retry_after})
            raise RateLimited(retry_after)

        with self.store.engine.connect() as conn:
            user_id = self.store.find_user_id(conn, email)
            user = self.store.load_user(conn, user_id) if user_id is not None else None
        if user is None or user.deleted or user.password_hash is None:
            self.passwords.verify_unknown_user(password)
            verified = False
        else:
            verified = self.passwords.verify(user.password_hash, password)
        if not verified:
            self.store.record_failure(list(buckets), self.settings.sign_in_window_seconds)
            log.warning("sign-in failed", extra={"client_address": client_address})
            raise Unauthorized(INVALID_CREDENTIALS)

        assert user is not None
        if self.passwords.needs_rehash(user.password_hash):
            new_hash = self.passwords.hash(password)
            self._decide(user.user_id, f"rehash:{uuid.uuid4()}", "PasswordChanged",
                         lambda _user, _conn: {"password_hash": new_hash, "reason": "rehashed"})
            log.info("password rehashed with current parameters", extra={"user_id": str(user.user_id)})
        session_id, refresh_token = self.store.create_session(user.user_id, self.settings.refresh_token_ttl_seconds)
        log.info("signed in", extra={"user_id": str(user.user_id), "session_id": str(session_id)})
        return self.issuer.token_response(user.user_id, session_id, refresh_token)

    def refresh(self, refresh_token: Any) -> dict[str, Any]:
        if not isinstance(refresh_token, str) or len(refresh_token) > 200:
            raise Unauthorized("Invalid or expired refresh token: sign in again.")
        user_id, session_id, new_token = self.store.rotate_refresh_token(refresh_token)
        self._existing_user_or_unauthorized(user_id)
        return self.issuer.token_response(user_id, session_id, new_token)

    def _existing_user_or_unauthorized(self, user_id: uuid.UUID) -> None:
        try:
            self._existing_user(user_id)
        except NotFound:
            raise Unauthorized("Invalid or expired refresh token: sign in again.") from None

    def sign_out(self, user_id: Any, session_id: Any) -> None:
        self.store.revoke_session(_uuid(user_id, "user_id"), _uuid(session_id, "session_id"), "signed out")
        log.info("signed out", extra={"user_id": str(user_id), "session_id": str(session_id)})

    def check_session(self, user_id: Any, session_id: Any) -> bool:
        if not self.store.session_is_active(_uuid(user_id, "user_id"), _uuid(session_id, "session_id")):
            raise Unauthorized("Session ended: sign in again.")
        return True

    # --- profile and preferences --------------------------------------------------------

    def get_profile(self, user_id: Any) -> dict[str, Any]:
        return profile_view(self._existing_user(user_id))

    def update_profile(self, user_id: Any, session_id: Any, changes: Mapping[str, Any], command_id: str) -> dict[str, Any]:
        self.check_caller_session(user_id, session_id)

        def decide(user: domain.User, conn: Any) -> dict[str, Any] | None:
            assert user.profile is not None
            new = domain.build_profile(user.profile, changes)
            if new == user.profile:
                return None
            if new.phone is None and user.preferences.channels in ("sms", "both"):
                raise ValidationFailed("phone", None, "SMS reminders need a phone number: change reminder channels first.")
            self.store.change_email_lookup(conn, user.user_id, user.profile.email, new.email)
            return {name: getattr(new, name) for name in domain.PROFILE_FIELDS}

        return profile_view(self._decide(user_id, command_id, "ProfileUpdated", decide))

    def get_reminder_preferences(self, user_id: Any) -> dict[str, Any]:
        return self._existing_user(user_id).preferences.as_dict()

    def change_reminder_preferences(
        self, user_id: Any, session_id: Any, changes: Mapping[str, Any], command_id: str
    ) -> dict[str, Any]:
        self.check_caller_session(user_id, session_id)

        def decide(user: domain.User, _conn: Any) -> dict[str, Any] | None:
            assert user.profile is not None
            new = domain.validate_preferences(user.preferences, changes, user.profile)
            if new == user.preferences:
                return None
            return {
                "channels": new.channels,
                "days_before": list(new.days_before),
                "overdue_alerts": new.overdue_alerts,
                "overdue_repeat_days": new.overdue_repeat_days,
                "quiet_hours_start": new.quiet_hours_start,
                "quiet_hours_end": new.quiet_hours_end,
            }

        return self._decide(user_id, command_id, "ReminderPreferencesChanged", decide).preferences.as_dict()

    # --- password and deletion -----------------------------------------------------------

    def _check_password(self, user: domain.User, password: Any, field: str) -> None:
        if not isinstance(password, str) or user.password_hash is None or not self.passwords.verify(user.password_hash, password):
            raise ValidationFailed(field, REDACTED, "Incorrect password: enter the account's current password.")

    def change_password(self, user_id: Any, session_id: Any, current_password: Any, new_password: Any, command_id: str) -> None:
        user = self._existing_user(user_id)
        if self.store.events.get_event(event_id(user.user_id, command_id, "PasswordChanged")) is not None:
            return
        self.check_caller_session(user_id, session_id)
        self._check_password(user, current_password, "current_password")
        assert user.profile is not None
        check_password_policy(new_password, "new_password", user.profile.email)
        new_hash = self.passwords.hash(new_password)
        keep = _uuid(session_id, "session_id")

        def revoke_other_sessions(conn: Any, _before: domain.User, _after: domain.User) -> None:
            self.store.revoke_all_sessions(conn, user.user_id, "password changed", keep=keep)

        self._decide(user.user_id, command_id, "PasswordChanged",
                     lambda _user, _conn: {"password_hash": new_hash, "reason": "changed"}, after=revoke_other_sessions)
        log.info("password changed", extra={"user_id": str(user.user_id)})

    def delete_account(self, user_id: Any, session_id: Any, password: Any, command_id: str) -> None:
        uid = _uuid(user_id, "user_id")
        if self.store.events.get_event(event_id(uid, command_id, "UserDeleted")) is not None:
            return
        self.check_caller_session(uid, session_id)
        user = self._existing_user(uid)
        self._check_password(user, password, "password")

        def forget(conn: Any, _before: domain.User, _after: domain.User) -> None:
            self.store.forget_user(conn, uid)

        self._decide(uid, command_id, "UserDeleted", lambda _user, _conn: {}, after=forget)
        log.info("account deleted and its data key destroyed", extra={"user_id": str(uid)})

    # --- for other services -------------------------------------------------------------

    def get_contact(self, user_id: Any) -> dict[str, Any]:
        """Return the decrypted contact data and reminder preferences; NotFound once deleted."""
        user = self._existing_user(user_id)
        return {**profile_view(user), "reminder_preferences": user.preferences.as_dict()}

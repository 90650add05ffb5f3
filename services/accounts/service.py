"""nameko entrypoints of the accounts service: identity, sessions, profile, preferences.

Every method takes the user id the gateway read from a verified token and
acts on that user only. Writes also take the token's session id and are
refused unless it is an active session of that user. Errors cross as
loansyncro.errors classes.
"""

from __future__ import annotations

import logging
from typing import Any

from nameko.extensions import DependencyProvider
from nameko.timer import timer
from sqlalchemy.exc import SQLAlchemyError

from loansyncro.service_kit import rpc
from loansyncro.config import load_settings
from loansyncro.db import make_engine
from loansyncro.logs import correlation_id
from services.accounts.commands import Accounts
from services.accounts.keys import ensure_secret, ensure_signing_key
from services.accounts.passwords import Passwords
from services.accounts.store import AccountStore, Secrets
from services.accounts.tokens import AccessTokenIssuer

log = logging.getLogger(__name__)


class AccountsProvider(DependencyProvider):
    """Build the Accounts use cases once per process: keys, secrets, engine."""

    accounts: Accounts | None = None

    def __init__(self) -> None:
        self._tokens: dict[Any, Any] = {}

    def setup(self) -> None:
        settings = load_settings()
        secrets = Secrets(
            email_lookup_key=ensure_secret(settings.email_lookup_key_file, "EMAIL_LOOKUP_KEY_FILE", settings),
            key_wrapping_key=ensure_secret(settings.data_key_wrapping_key_file, "DATA_KEY_WRAPPING_KEY_FILE", settings),
        )
        engine = make_engine(settings)
        issuer = AccessTokenIssuer(ensure_signing_key(settings), settings.access_token_ttl_seconds)
        self.accounts = Accounts(settings, AccountStore(engine, secrets), Passwords(settings), issuer)
        log.info("accounts starting", extra={"key_id": issuer.kid})

    def stop(self) -> None:
        if self.accounts is not None:
            self.accounts.store.engine.dispose()
        log.info("accounts stopped")

    def kill(self) -> None:
        self.stop()

    def get_dependency(self, worker_ctx: Any) -> Accounts:
        assert self.accounts is not None, "AccountsProvider used before setup"
        return self.accounts

    def worker_setup(self, worker_ctx: Any) -> None:
        # The gateway sends its request id in the RPC context: tag this worker's logs and events with it.
        self._tokens[worker_ctx] = correlation_id.set(worker_ctx.data.get("correlation_id"))

    def worker_teardown(self, worker_ctx: Any) -> None:
        token = self._tokens.pop(worker_ctx, None)
        if token is not None:
            correlation_id.reset(token)


class AccountsService:
    name = "accounts"
    accounts = AccountsProvider()

    @timer(interval=3600)
    def delete_expired_sessions(self) -> None:
        try:
            deleted = self.accounts.store.delete_expired_sessions()
        except SQLAlchemyError:
            log.exception("deleting expired sessions failed; the next run retries")
            return
        log.info("expired sessions deleted", extra={"count": deleted})

    @rpc(sensitive_arguments=("email", "password"))
    def register(self, command_id: str, email: str, password: str, profile: dict[str, Any]) -> dict[str, Any]:
        return self.accounts.register(command_id, email, password, profile)

    @rpc(sensitive_arguments=("email", "password"))
    def sign_in(self, email: str, password: str, client_address: str) -> dict[str, Any]:
        return self.accounts.sign_in(email, password, client_address)

    @rpc(sensitive_arguments=("refresh_token",))
    def refresh(self, refresh_token: str) -> dict[str, Any]:
        return self.accounts.refresh(refresh_token)

    @rpc
    def sign_out(self, user_id: str, session_id: str) -> None:
        self.accounts.sign_out(user_id, session_id)

    @rpc
    def check_session(self, user_id: str, session_id: str) -> bool:
        return self.accounts.check_session(user_id, session_id)

    @rpc
    def get_profile(self, user_id: str) -> dict[str, Any]:
        return self.accounts.get_profile(user_id)

    @rpc(sensitive_arguments=("changes",))
    def update_profile(self, user_id: str, session_id: str, changes: dict[str, Any], command_id: str) -> dict[str, Any]:
        return self.accounts.update_profile(user_id, session_id, changes, command_id)

    @rpc
    def get_reminder_preferences(self, user_id: str) -> dict[str, Any]:
        return self.accounts.get_reminder_preferences(user_id)

    @rpc
    def change_reminder_preferences(
        self, user_id: str, session_id: str, changes: dict[str, Any], command_id: str
    ) -> dict[str, Any]:
        return self.accounts.change_reminder_preferences(user_id, session_id, changes, command_id)

    @rpc(sensitive_arguments=("current_password", "new_password"))
    def change_password(self, user_id: str, session_id: str, current_password: str, new_password: str, command_id: str) -> None:
        self.accounts.change_password(user_id, session_id, current_password, new_password, command_id)

    @rpc(sensitive_arguments=("password",))
    def delete_account(self, user_id: str, session_id: str, password: str, command_id: str) -> None:
        self.accounts.delete_account(user_id, session_id, password, command_id)

    @rpc
    def get_contact(self, user_id: str) -> dict[str, Any]:
        """Decrypted email, phone, display name, time zone, locale, currency and reminder preferences."""
        return self.accounts.get_contact(user_id)

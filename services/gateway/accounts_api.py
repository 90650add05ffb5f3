"""Routes of the accounts area: registration, sessions, profile, reminder preferences."""

from __future__ import annotations

from typing import Any

from loansyncro.errors import Unauthorized
from services.gateway import accounts_schemas as schemas
from services.gateway.http import Reply, RequestContext, route


class AccountsApi:
    # `accounts_rpc` (an RPC proxy) and `gateway` (shared state) come from GatewayBase.
    accounts_rpc: Any
    gateway: Any

    @route("POST", "/api/v1/accounts", auth=False, body=schemas.Registration, response=schemas.Profile,
           status=201, summary="Register with email and password", tag="accounts")
    def register(self, ctx: RequestContext) -> Reply:
        body = dict(ctx.body)
        email, password = body.pop("email"), body.pop("password")
        profile = ctx.call(self.accounts_rpc.register, ctx.command_id, email, password, body)
        return Reply(201, profile, headers={"Location": "/api/v1/me/profile"})

    @route("POST", "/api/v1/sessions", auth=False, body=schemas.Credentials, response=schemas.Tokens, idempotent=False,
           summary="Sign in: returns an access token and a refresh token", tag="accounts")
    def sign_in(self, ctx: RequestContext) -> Reply:
        tokens = ctx.call(self.accounts_rpc.sign_in, ctx.body["email"], ctx.body["password"], ctx.client_address)
        return Reply(200, tokens)

    @route("POST", "/api/v1/sessions/refresh", auth=False, body=schemas.RefreshRequest, response=schemas.Tokens, idempotent=False,
           summary="Exchange a refresh token for new tokens (the old refresh token stops working)", tag="accounts")
    def refresh(self, ctx: RequestContext) -> Reply:
        try:
            return Reply(200, ctx.call(self.accounts_rpc.refresh, ctx.body["refresh_token"]))
        except Unauthorized:
            # A reused token revoked its whole session, which this cache may still hold as active.
            self.gateway.sessions.forget()
            raise

    @route("DELETE", "/api/v1/sessions/current", status=204, summary="Sign out: ends this session", tag="accounts")
    def sign_out(self, ctx: RequestContext) -> Reply:
        ctx.call(self.accounts_rpc.sign_out, ctx.user_id, ctx.session_id)
        self.gateway.sessions.forget(ctx.session_id)
        return Reply(204)

    @route("GET", "/api/v1/me/profile", response=schemas.Profile, summary="Read the profile", tag="accounts")
    def get_profile(self, ctx: RequestContext) -> Reply:
        return Reply(200, ctx.call(self.accounts_rpc.get_profile, ctx.user_id))

    @route("PATCH", "/api/v1/me/profile", body=schemas.ProfileChanges, response=schemas.Profile,
           summary="Change profile fields", tag="accounts")
    def update_profile(self, ctx: RequestContext) -> Reply:
        return Reply(200, ctx.call(self.accounts_rpc.update_profile, ctx.user_id, ctx.session_id, ctx.body, ctx.command_id))

    @route("GET", "/api/v1/me/reminder-preferences", response=schemas.ReminderPreferences,
           summary="Read the reminder preferences", tag="accounts")
    def get_reminder_preferences(self, ctx: RequestContext) -> Reply:
        return Reply(200, ctx.call(self.accounts_rpc.get_reminder_preferences, ctx.user_id))

    @route("PATCH", "/api/v1/me/reminder-preferences", body=schemas.ReminderPreferencesChanges,
           response=schemas.ReminderPreferences, summary="Change the reminder preferences", tag="accounts")
    def change_reminder_preferences(self, ctx: RequestContext) -> Reply:
        changes = ctx.call(
            self.accounts_rpc.change_reminder_preferences, ctx.user_id, ctx.session_id, ctx.body, ctx.command_id
        )
        return Reply(200, changes)

    @route("POST", "/api/v1/me/password", body=schemas.PasswordChange, status=204,
           summary="Change the password; other sessions end", tag="accounts")
    def change_password(self, ctx: RequestContext) -> Reply:
        body = ctx.body
        ctx.call(self.accounts_rpc.change_password, ctx.user_id, ctx.session_id,
                 body["current_password"], body["new_password"], ctx.command_id)
        self.gateway.sessions.forget()
        return Reply(204)

    @route("DELETE", "/api/v1/me", body=schemas.AccountDeletion, status=204,
           summary="Delete the account; its personal data becomes unreadable", tag="accounts")
    def delete_account(self, ctx: RequestContext) -> Reply:
        ctx.call(self.accounts_rpc.delete_account, ctx.user_id, ctx.session_id, ctx.body["password"], ctx.command_id)
        self.gateway.sessions.forget()
        return Reply(204)

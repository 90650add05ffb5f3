"""The gateway's shared state and its own routes: health, readiness, OpenAPI, fallbacks."""

from __future__ import annotations

import logging
from typing import Any

import eventlet
import sqlalchemy as sa
from kombu import Connection
from nameko.extensions import DependencyProvider
from nameko.timer import timer
from werkzeug.wrappers import Request, Response

from loansyncro.config import Settings, load_settings
from loansyncro.db import make_engine
from loansyncro.service_kit import rpc_proxy
from services.gateway.auth import SessionCache, TokenVerifier
from services.gateway.http import (
    http,
    CORRELATION_ID_ENVIRON_KEY,
    Reply,
    RequestContext,
    bearer_token,
    call,
    correlation_id_of,
    cors_preflight,
    decorate_response,
    problem,
    route,
)
from services.gateway.idempotency import IdempotencyStore

log = logging.getLogger(__name__)

READINESS_TIMEOUT_SECONDS = 2.0
CLEANUP_INTERVAL_SECONDS = 3600


def gateway_engine(settings: Settings) -> sa.Engine:
    """Create the gateway's engine, whose waits for a connection, a lock or a query end within RPC_TIMEOUT.

    The gateway replies to every request within its RPC timeout. Its own tables
    (idempotency keys) must not hold a request longer, even when a migration
    or a stuck session locks them.
    """
    return make_engine(settings, wait_timeout=settings.rpc_timeout)


class GatewayState:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine = gateway_engine(settings)
        self.idempotency = IdempotencyStore(self.engine, stale_after_seconds=max(30.0, settings.rpc_timeout * 3))
        self.verifier = TokenVerifier(settings.access_token_public_key_files)
        self.sessions = SessionCache(settings.session_check_cache_seconds)
        self.openapi_document: dict[str, Any] | None = None


class Gateway(DependencyProvider):
    """One GatewayState per gateway process, shared by every worker."""

    state: GatewayState | None = None

    def setup(self) -> None:
        self.state = GatewayState(load_settings())
        log.info("gateway starting", extra={"port": self.state.settings.gateway_port})

    def stop(self) -> None:
        if self.state is not None:
            self.state.engine.dispose()
        log.info("gateway stopped")

    def kill(self) -> None:
        self.stop()

    def get_dependency(self, worker_ctx: Any) -> GatewayState:
        assert self.state is not None, "Gateway used before setup"
        return self.state

    def worker_setup(self, worker_ctx: Any) -> None:
        # nameko copies worker_ctx.data into the context of every RPC the worker
        # makes, so the request id reaches the services' logs and event metadata.
        request = worker_ctx.args[0] if worker_ctx.args else None
        if isinstance(request, Request):
            correlation_id = correlation_id_of(request)
            request.environ[CORRELATION_ID_ENVIRON_KEY] = correlation_id
            worker_ctx.data["correlation_id"] = correlation_id


class GatewayBase:
    """Base of GatewayService: what `http.route` needs, plus the gateway's own endpoints."""

    gateway = Gateway()
    accounts_rpc = rpc_proxy("accounts")

    # --- what route() calls -----------------------------------------------------------

    def gateway_settings(self) -> Settings:
        return self.gateway.settings

    @property
    def idempotency(self) -> IdempotencyStore:
        return self.gateway.idempotency

    def authenticate(self, ctx: RequestContext) -> tuple[str, str]:
        """Verify the bearer token and its session; return (user id, session id)."""
        claims = self.gateway.verifier.verify(bearer_token(ctx.request))
        user_id, session_id = str(claims["sub"]), str(claims["sid"])
        self.gateway.sessions.check(
            session_id,
            user_id,
            lambda user, session: ctx.call(self.accounts_rpc.check_session, user, session),
        )
        return user_id, session_id

    @timer(interval=CLEANUP_INTERVAL_SECONDS)
    def delete_expired_idempotency_keys(self) -> None:
        try:
            deleted = self.gateway.idempotency.delete_expired()
        except sa.exc.SQLAlchemyError:
            log.exception("deleting expired idempotency keys failed; the next run retries")
            return
        log.info("expired idempotency keys deleted", extra={"count": deleted})

    # --- health and documents -----------------------------------------------------------

    @http("GET", "/healthz")
    def healthz(self, request: Request) -> Response:
        response = Reply(200, {"status": "ok"}).to_response()
        decorate_response(response, self.gateway.settings, request, correlation_id_of(request))
        return response

    @http("GET", "/readyz")
    def readyz(self, request: Request) -> Response:
        checks = {"postgresql": self._postgres_ready(), "rabbitmq": self._rabbitmq_ready()}
        ready = all(checks.values())
        payload = {"status": "ready" if ready else "not ready", "checks": {k: "ok" if v else "unreachable" for k, v in checks.items()}}
        if ready:
            reply = Reply(200, payload)
        else:
            down = ", ".join(name for name, ok in checks.items() if not ok)
            reply = problem(503, "not-ready", "Not ready", f"Unreachable: {down}.", checks=payload["checks"])
        response = reply.to_response()
        decorate_response(response, self.gateway.settings, request, correlation_id_of(request))
        return response

    def _postgres_ready(self) -> bool:
        try:
            with eventlet.Timeout(READINESS_TIMEOUT_SECONDS):
                with self.gateway.engine.connect() as conn:
                    conn.execute(sa.text("SELECT 1"))
            return True
        except (Exception, eventlet.Timeout) as error:  # noqa: BLE001 - any failure means not ready
            log.warning("readiness check failed", extra={"dependency": "postgresql", "error": repr(error)})
            return False

    def _rabbitmq_ready(self) -> bool:
        try:
            with eventlet.Timeout(READINESS_TIMEOUT_SECONDS):
                with Connection(self.gateway.settings.amqp_uri, connect_timeout=READINESS_TIMEOUT_SECONDS) as connection:
                    connection.ensure_connection(max_retries=1, timeout=READINESS_TIMEOUT_SECONDS)
            return True
        except (Exception, eventlet.Timeout) as error:  # noqa: BLE001 - any failure means not ready
            log.warning("readiness check failed", extra={"dependency": "rabbitmq", "error": repr(error)})
            return False

    @route("GET", "/api/v1/openapi.json", auth=False, summary="OpenAPI 3 document of this API", tag="meta")
    def openapi(self, ctx: RequestContext) -> Reply:
        from services.gateway.openapi import build_document

        if self.gateway.openapi_document is None:
            self.gateway.openapi_document = build_document(type(self))
        return Reply(200, self.gateway.openapi_document)

    # --- fallbacks ----------------------------------------------------------------------

    @http("OPTIONS", "/<path:any_path>")
    def preflight(self, request: Request, any_path: str) -> Response:
        """Handle CORS preflights on every path. ProblemWsgiApp handles other requests that match no route."""
        return cors_preflight(self.gateway.settings, request)


__all__ = ["GatewayBase", "call"]

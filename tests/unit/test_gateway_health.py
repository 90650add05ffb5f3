"""Readiness and CORS without a running gateway: handlers called directly."""

from __future__ import annotations

import json
from dataclasses import replace

from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request, Response

from loansyncro.config import Settings
from services.gateway.base import GatewayBase, GatewayState
from services.gateway.http import cors_preflight, decorate_response

# Port 1 on loopback: nothing listens there, so connecting fails at once.
UNREACHABLE = replace(
    Settings(),
    database_url="postgresql://postgres@127.0.0.1:1/loansyncro",
    amqp_uri="amqp://guest:guest@127.0.0.1:1/",
)


def get(path: str, **headers: str) -> Request:
    return Request(EnvironBuilder(method="GET", path=path, headers=headers).get_environ())


def test_readyz_503_when_dependencies_unreachable():
    gateway = GatewayBase()
    gateway.gateway = GatewayState(UNREACHABLE)
    try:
        response = GatewayBase.readyz(gateway, get("/readyz"))
    finally:
        gateway.gateway.engine.dispose()
    body = json.loads(response.get_data())
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert body["checks"] == {"postgresql": "unreachable", "rabbitmq": "unreachable"}
    assert "postgresql" in body["detail"]


def test_healthz_needs_no_dependencies():
    gateway = GatewayBase()
    gateway.gateway = GatewayState(UNREACHABLE)
    try:
        response = GatewayBase.healthz(gateway, get("/healthz"))
    finally:
        gateway.gateway.engine.dispose()
    assert response.status_code == 200


def test_cors_allowed_origin_gets_headers():
    settings = replace(Settings(), cors_allowed_origins=("https://app.example.com",))
    response = Response("{}")
    decorate_response(response, settings, get("/api/v1/me/profile", Origin="https://app.example.com"), "req-1")
    assert response.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert response.headers["Vary"] == "Origin"

    preflight = cors_preflight(settings, get("/api/v1/me/profile", Origin="https://app.example.com"))
    assert "Idempotency-Key" in preflight.headers["Access-Control-Allow-Headers"]
    assert "Content-Type" not in preflight.headers


def test_cors_preflight_lists_the_routes_methods():
    from services.gateway.service import GatewayService

    settings = replace(Settings(), cors_allowed_origins=("https://app.example.com",))
    preflight = cors_preflight(settings, get("/api/v1/me/profile", Origin="https://app.example.com"))
    specs = [getattr(getattr(GatewayService, name), "__route_spec__", None) for name in dir(GatewayService)]
    route_methods = {spec.method for spec in specs if spec is not None}
    assert set(preflight.headers["Access-Control-Allow-Methods"].split(", ")) == route_methods


def test_cors_other_origin_gets_nothing():
    settings = replace(Settings(), cors_allowed_origins=("https://app.example.com",))
    response = Response("{}")
    decorate_response(response, settings, get("/api/v1/me/profile", Origin="https://evil.example"), "req-1")
    assert "Access-Control-Allow-Origin" not in response.headers
    preflight = cors_preflight(settings, get("/api/v1/me/profile", Origin="https://evil.example"))
    assert "Access-Control-Allow-Methods" not in preflight.headers


def test_cors_origin_must_match_exactly():
    settings = replace(Settings(), cors_allowed_origins=("https://app.example.com",))
    response = Response("{}")
    decorate_response(response, settings, get("/api/v1/me/profile", Origin="https://app.example.com//"), "req-1")
    assert "Access-Control-Allow-Origin" not in response.headers

"""Gateway plumbing without a server: error mapping, body loading, request hashing, OpenAPI."""

from __future__ import annotations

import json

import eventlet
import marshmallow
import pytest
from marshmallow import fields
from nameko.exceptions import UnknownService
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from loansyncro.errors import Conflict, NotFound, RateLimited, Unauthorized, ValidationFailed
from services.gateway.http import (
    FieldErrors,
    RequestTooLarge,
    ServiceTimeout,
    ServiceUnavailable,
    call,
    error_reply,
    load_with,
    read_json_body,
    request_hash,
)


class Loan(marshmallow.Schema):
    name = fields.String(required=True)
    installments = fields.Integer(strict=True)


def make_request(body: bytes, content_type: str = "application/json", **kwargs) -> Request:
    return Request(EnvironBuilder(method="POST", path="/api/v1/loans", data=body, content_type=content_type, **kwargs).get_environ())


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (ValidationFailed("phone", "123", "Invalid phone"), 422),
        (NotFound("loan", "42"), 404),
        (Conflict("closed"), 409),
        (Unauthorized(), 401),
        (RateLimited(30), 429),
        (RequestTooLarge(65536), 413),
        (eventlet.Timeout(None), 504),
        (ServiceTimeout("no reply within 10 s"), 504),
        (ServiceUnavailable("down"), 503),
        (UnknownService("loans"), 503),
        (ConnectionRefusedError(), 503),
        (KeyError("bug"), 503),
    ],
)
def test_error_mapping_table(error, status):
    reply = error_reply(error, "req-1")
    assert reply.status == status
    assert reply.content_type == "application/problem+json"
    assert set(reply.payload) >= {"type", "title", "status", "detail"}


def test_unexpected_error_leaks_nothing(caplog):
    reply = error_reply(RuntimeError("password=hunter2 at line 7"), "req-9")
    assert reply.status == 503
    assert "hunter2" not in json.dumps(reply.payload)
    assert "req-9" in reply.payload["detail"]
    assert any(record.exc_info for record in caplog.records)


def test_rate_limited_sets_retry_after():
    assert error_reply(RateLimited(17), None).headers["Retry-After"] == "17"


def test_validation_failed_names_field_and_value():
    payload = error_reply(ValidationFailed("time_zone", "Mars/Olympus", "Unknown time zone: use an IANA name."), None).payload
    assert payload["errors"] == [{"field": "time_zone", "value": "Mars/Olympus", "detail": "Unknown time zone: use an IANA name."}]


def test_unknown_fields_rejected_by_name():
    with pytest.raises(FieldErrors) as raised:
        load_with(Loan(), {"name": "Car", "owner_id": "someone", "balance": "0"})
    assert sorted(error["field"] for error in raised.value.errors) == ["balance", "owner_id"]
    assert all("Unknown field" in error["detail"] for error in raised.value.errors)


def test_wrong_types_name_field_and_value():
    with pytest.raises(FieldErrors) as raised:
        load_with(Loan(), {"name": 5, "installments": "12"})
    errors = {error["field"]: error for error in raised.value.errors}
    assert errors["name"]["value"] == 5
    assert errors["installments"]["value"] == "12"


def test_non_object_body_rejected():
    with pytest.raises(FieldErrors, match="body"):
        load_with(Loan(), [1, 2])


def test_body_over_limit_rejected():
    with pytest.raises(RequestTooLarge):
        read_json_body(make_request(b'{"name": "' + b"x" * 2000 + b'"}'), limit=1024)


def test_malformed_json_reports_position():
    with pytest.raises(FieldErrors) as raised:
        read_json_body(make_request(b'{"name": }'), limit=1024)
    assert "line 1 column 10" in raised.value.errors[0]["detail"]


def test_decimals_parsed_exactly():
    body = read_json_body(make_request(b'{"rate": 0.1}'), limit=1024)
    assert str(body["rate"]) == "0.1"


def test_request_hash_ignores_key_order():
    first = make_request(b'{"a": 1, "b": 2}')
    second = make_request(b'{"b": 2, "a": 1}')
    assert request_hash(first, {"a": 1, "b": 2}) == request_hash(second, {"b": 2, "a": 1})
    assert request_hash(first, {"a": 1}) != request_hash(first, {"a": 2})


def test_call_times_out():
    import time

    def slow_rpc():
        eventlet.sleep(5)

    started = time.monotonic()
    with pytest.raises(ServiceTimeout):
        call(slow_rpc, timeout=0.1)
    assert time.monotonic() - started < 1


def test_call_timeout_reaches_exception_handlers():
    def slow_rpc():
        eventlet.sleep(5)

    try:
        call(slow_rpc, timeout=0.1)
    except Exception as error:  # noqa: BLE001 - the point: a handler's `except Exception` sees the timeout
        assert error_reply(error, "req-1").status == 504
    else:
        pytest.fail("call returned without a reply")


def test_outer_deadline_passes_through_call():
    def slow_rpc():
        eventlet.sleep(5)

    with pytest.raises(eventlet.Timeout), eventlet.Timeout(0.1):
        call(slow_rpc, timeout=10)


def test_call_maps_unknown_service():
    def missing_rpc():
        raise UnknownService("accounts")

    with pytest.raises(ServiceUnavailable):
        call(missing_rpc, timeout=1)


def test_openapi_document_valid():
    from openapi_spec_validator import validate

    from services.gateway.openapi import build_document
    from services.gateway.service import GatewayService

    document = build_document(GatewayService)
    validate(document)
    assert "/api/v1/sessions" in document["paths"]
    assert document["paths"]["/api/v1/me/profile"]["get"]["security"] == [{"bearer": []}]


def test_cors_origins_validated():
    from loansyncro.config import ConfigError, load_settings

    assert load_settings({}).cors_allowed_origins == ()
    assert load_settings({"CORS_ALLOWED_ORIGINS": "https://app.example.com/, http://127.0.0.1:5173"}).cors_allowed_origins == (
        "https://app.example.com",
        "http://127.0.0.1:5173",
    )
    with pytest.raises(ConfigError, match="CORS_ALLOWED_ORIGINS"):
        load_settings({"CORS_ALLOWED_ORIGINS": "app.example.com"})


def test_session_cache_is_keyed_by_user_and_session():
    from services.gateway.auth import SessionCache

    checked: list[tuple[str, str]] = []
    cache = SessionCache(ttl_seconds=60)
    cache.check("session-1", "alice", lambda user, session: checked.append((user, session)))
    cache.check("session-1", "alice", lambda user, session: checked.append((user, session)))
    cache.check("session-1", "bob", lambda user, session: checked.append((user, session)))

    assert checked == [("alice", "session-1"), ("bob", "session-1")]


@pytest.mark.parametrize(
    ("body", "field", "detail"),
    [
        ({"name": "a\x00b"}, "name", "NUL character"),
        ({"notes": ["ok", "x\ud800y"]}, "notes[1]", "unpaired surrogate"),
    ],
)
def test_body_text_postgres_cannot_store_rejected(body, field, detail):
    from services.gateway.http import FieldErrors, check_json_text

    with pytest.raises(FieldErrors) as raised:
        check_json_text(body, "", 0)

    assert raised.value.errors[0]["field"] == field
    assert detail in raised.value.errors[0]["detail"]


def test_deep_nesting_rejected():
    from services.gateway.http import MAX_JSON_DEPTH, FieldErrors, check_json_text

    nested: object = "leaf"
    for _ in range(MAX_JSON_DEPTH + 2):
        nested = [nested]
    with pytest.raises(FieldErrors) as raised:
        check_json_text(nested, "", 0)
    assert "nested deeper" in raised.value.errors[0]["detail"]


def test_duplicate_json_key_rejected():
    from services.gateway.http import FieldErrors, read_json_body

    body = b'{"principal": "1.00", "principal": "90000.00"}'
    request = Request(EnvironBuilder(method="POST", data=body, content_type="application/json").get_environ())

    with pytest.raises(FieldErrors) as raised:
        read_json_body(request, 65536)

    assert raised.value.errors[0]["field"] == "principal"
    assert "more than once" in raised.value.errors[0]["detail"]

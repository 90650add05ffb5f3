"""Accounts over HTTP, with every service running as its own process."""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

import jwt
import pytest
import requests
import sqlalchemy as sa

from loansyncro.eventstore.schema import events
from tests.e2e.api_client import ApiClient, ApiError

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

PASSWORD = "violet tractor sings at dawn"
JSON = {"Content-Type": "application/json"}


def new_email() -> str:
    return f"user-{uuid.uuid4().hex[:12]}@example.com"


def event_count(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(events)).scalar_one())


def signed_in(base_url: str, **profile: Any) -> tuple[ApiClient, str, dict[str, Any]]:
    client = ApiClient(base_url)
    email = new_email()
    client.register(email, PASSWORD, **profile)
    tokens = client.sign_in(email, PASSWORD)
    return client, email, tokens


def assert_problem(response: requests.Response, status: int, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    assert body["type"].startswith("https://")
    assert body["title"]
    assert body["detail"]
    if field is not None:
        assert field in [error["field"] for error in body["errors"]], body
    return body


def b64url(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


# --- the main path ------------------------------------------------------------------


def test_sign_up_to_sign_out_path(base_url):
    client = ApiClient(base_url)
    email = new_email()

    registered = client.register(email, PASSWORD, display_name="Ada Lovelace", time_zone="Europe/London", currency="GBP", locale="en-GB")
    assert registered["email"] == email
    assert registered["locale"] == "en_GB"

    tokens = client.sign_in(email.upper(), PASSWORD)
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] <= 600

    profile = client.profile()
    assert profile["display_name"] == "Ada Lovelace"
    assert profile["time_zone"] == "Europe/London"

    changed = client.update_profile(phone="+447700900123", display_name="Ada King")
    assert changed["phone"] == "+447700900123"
    assert client.profile()["display_name"] == "Ada King"

    preferences = client.change_reminder_preferences(
        channels="both", days_before=[1, 3], overdue_repeat_days=2, quiet_hours={"start": "22:00", "end": "07:00"}
    )
    assert preferences["days_before"] == [3, 1]
    assert client.reminder_preferences()["quiet_hours"] == {"start": "22:00", "end": "07:00"}

    refreshed = client.refresh(tokens["refresh_token"])
    assert refreshed["refresh_token"] != tokens["refresh_token"]
    assert client.profile()["email"] == email

    client.sign_out()
    response = client.request("GET", "/api/v1/me/profile")
    assert_problem(response, 401)
    response = client.request("POST", "/api/v1/sessions/refresh", json={"refresh_token": refreshed["refresh_token"]})
    assert_problem(response, 401)


def test_password_change_ends_other_sessions(base_url):
    first, email, _ = signed_in(base_url)
    second = ApiClient(base_url)
    second.sign_in(email, PASSWORD)

    first.change_password(PASSWORD, "a brand new passphrase here")

    assert_problem(second.request("GET", "/api/v1/me/profile"), 401)
    assert first.profile()["email"] == email
    with pytest.raises(ApiError):
        ApiClient(base_url).sign_in(email, PASSWORD)
    ApiClient(base_url).sign_in(email, "a brand new passphrase here")


def test_weak_and_common_passwords_rejected(base_url, engine):
    before = event_count(engine)
    for password in ("short pass", "password1234", "qwertyuiopasdf", "iloveyou2024!!"):
        response = requests.post(f"{base_url}/api/v1/accounts", json={"email": new_email(), "password": password}, timeout=30)
        body = assert_problem(response, 422, "password")
        assert password not in response.text, "a rejected password must not be echoed"
        assert body["errors"][0]["value"] == "[redacted]"
    assert event_count(engine) == before


def test_email_unique_ignoring_case(base_url):
    email = new_email()
    ApiClient(base_url).register(email, PASSWORD)
    response = requests.post(f"{base_url}/api/v1/accounts", json={"email": email.upper(), "password": PASSWORD}, timeout=30)
    assert_problem(response, 409)


# --- token attacks -------------------------------------------------------------------


def test_tampered_token_rejected(base_url):
    client, _, tokens = signed_in(base_url)
    header, payload, signature = tokens["access_token"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = str(uuid.uuid4())
    forged = ".".join([header, b64url(claims), signature])

    response = requests.get(f"{base_url}/api/v1/me/profile", headers={"Authorization": f"Bearer {forged}"}, timeout=30)
    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_alg_none_token_rejected(base_url):
    _, _, tokens = signed_in(base_url)
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    header = jwt.get_unverified_header(tokens["access_token"])
    unsigned = f"{b64url({**header, 'alg': 'none'})}.{b64url(claims)}."

    response = requests.get(f"{base_url}/api/v1/me/profile", headers={"Authorization": f"Bearer {unsigned}"}, timeout=30)
    assert_problem(response, 401)


def test_hmac_with_public_key_rejected(base_url, settings):
    _, _, tokens = signed_in(base_url)
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    header = jwt.get_unverified_header(tokens["access_token"])
    public_pem = open(settings.access_token_public_key_files[0], "rb").read()
    # PyJWT refuses to use a PEM as an HMAC secret, so sign by hand as an attacker would.
    import hashlib
    import hmac

    signing_input = f"{b64url({**header, 'alg': 'HS256'})}.{b64url(claims)}"
    signature = base64.urlsafe_b64encode(hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()).rstrip(b"=").decode()

    response = requests.get(
        f"{base_url}/api/v1/me/profile", headers={"Authorization": f"Bearer {signing_input}.{signature}"}, timeout=30
    )
    assert_problem(response, 401)


def test_expired_token_rejected(base_url):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    _, _, tokens = signed_in(base_url)
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    header = jwt.get_unverified_header(tokens["access_token"])
    # A key the gateway does not know, with the right kid: rejected by signature...
    stranger = jwt.encode(claims, Ed25519PrivateKey.generate(), algorithm="EdDSA", headers={"kid": header["kid"]})
    response = requests.get(f"{base_url}/api/v1/me/profile", headers={"Authorization": f"Bearer {stranger}"}, timeout=30)
    assert_problem(response, 401)


def test_expired_token_signed_by_accounts_rejected(base_url, settings):
    from services.accounts.keys import ensure_signing_key
    from services.accounts.tokens import AccessTokenIssuer

    client, _, tokens = signed_in(base_url)
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    issuer = AccessTokenIssuer(ensure_signing_key(settings), 600)
    expired = jwt.encode(
        {**claims, "iat": int(time.time()) - 1200, "exp": int(time.time()) - 600},
        issuer.private_key,
        algorithm="EdDSA",
        headers={"kid": issuer.kid},
    )
    response = requests.get(f"{base_url}/api/v1/me/profile", headers={"Authorization": f"Bearer {expired}"}, timeout=30)
    assert_problem(response, 401)
    assert client.profile()["user_id"] == claims["sub"]


def test_missing_and_garbage_tokens_rejected(base_url):
    for header in ({}, {"Authorization": "Bearer"}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer a.b.c"}):
        response = requests.get(f"{base_url}/api/v1/me/profile", headers=header, timeout=30)
        assert_problem(response, 401)


def test_refresh_token_reuse_revokes_family(base_url):
    client, _, tokens = signed_in(base_url)
    rotated = client.refresh(tokens["refresh_token"])

    reuse = requests.post(f"{base_url}/api/v1/sessions/refresh", json={"refresh_token": tokens["refresh_token"]}, timeout=30)
    assert_problem(reuse, 401)

    # The thief's reuse ended the whole session: the newest tokens stop working too.
    after = requests.post(f"{base_url}/api/v1/sessions/refresh", json={"refresh_token": rotated["refresh_token"]}, timeout=30)
    assert_problem(after, 401)
    assert_problem(client.request("GET", "/api/v1/me/profile"), 401)


# --- other users, mass assignment ----------------------------------------------------


def test_second_user_cannot_touch_first_profile(base_url, engine):
    first, first_email, _ = signed_in(base_url, display_name="First")
    second, _, _ = signed_in(base_url, display_name="Second")
    before = event_count(engine)

    # There is no route taking a user id: a foreign id can only be smuggled in a body or path.
    response = second.request("PATCH", "/api/v1/me/profile", json={"user_id": first.user_id, "display_name": "Owned"})
    assert_problem(response, 422, "user_id")
    response = second.request("GET", f"/api/v1/users/{first.user_id}/profile")
    assert_problem(response, 404)

    assert second.profile()["display_name"] == "Second"
    assert first.profile()["display_name"] == "First"
    assert first.profile()["email"] == first_email
    assert event_count(engine) == before


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/api/v1/accounts", {"email": "x@example.com", "password": PASSWORD, "user_id": "u"}, "user_id"),
        ("POST", "/api/v1/sessions", {"email": "x@example.com", "password": PASSWORD, "session_id": "s"}, "session_id"),
        ("POST", "/api/v1/sessions/refresh", {"refresh_token": "rt1.x", "user_id": "u"}, "user_id"),
        ("PATCH", "/api/v1/me/profile", {"display_name": "A", "owner_id": "o"}, "owner_id"),
        ("PATCH", "/api/v1/me/profile", {"display_name": "A", "deleted": True}, "deleted"),
        ("PATCH", "/api/v1/me/reminder-preferences", {"channels": "email", "user_id": "u"}, "user_id"),
        ("POST", "/api/v1/me/password", {"current_password": PASSWORD, "new_password": PASSWORD + "x", "status": "x"}, "status"),
        ("DELETE", "/api/v1/me", {"password": PASSWORD, "user_id": "u"}, "user_id"),
    ],
)
def test_server_fields_rejected_everywhere(base_url, engine, method, path, body, field):
    client, _, _ = signed_in(base_url)
    before = event_count(engine)
    response = client.request(method, path, json=body)
    assert_problem(response, 422, field)
    assert event_count(engine) == before


# --- malformed input writes nothing ----------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"email": 42}, "email"),
        ({"phone": "0151 1234567"}, "phone"),
        ({"phone": "+0123456789"}, "phone"),
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"time_zone": ["UTC"]}, "time_zone"),
        ({"currency": "XYZ"}, "currency"),
        ({"locale": "zz-QQ"}, "locale"),
        ({"display_name": ""}, "display_name"),
        ({}, "body"),
    ],
)
def test_invalid_profile_fields_named(base_url, engine, body, field):
    client, _, _ = signed_in(base_url)
    before = event_count(engine)
    problem = assert_problem(client.request("PATCH", "/api/v1/me/profile", json=body), 422, field)
    if field != "body":
        assert problem["errors"][0]["value"] is not None
    assert event_count(engine) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"channels": "pigeon"}, "channels"),
        ({"channels": "sms"}, "channels"),
        ({"days_before": [1, 1]}, "days_before"),
        ({"days_before": ["3"]}, "days_before.0"),
        ({"overdue_alerts": "yes"}, "overdue_alerts"),
        ({"overdue_repeat_days": 0}, "overdue_repeat_days"),
        ({"quiet_hours": {"start": "25:00", "end": "07:00"}}, "quiet_hours.start"),
    ],
)
def test_invalid_preferences_named(base_url, engine, body, field):
    client, _, _ = signed_in(base_url)
    before = event_count(engine)
    assert_problem(client.request("PATCH", "/api/v1/me/reminder-preferences", json=body), 422, field)
    assert event_count(engine) == before


def test_malformed_json_and_wrong_types(base_url, engine):
    client, _, _ = signed_in(base_url)
    before = event_count(engine)

    response = client.request("PATCH", "/api/v1/me/profile", data=b'{"display_name": ', headers=JSON)
    assert "Malformed JSON" in assert_problem(response, 422, "body")["detail"]
    response = client.request("PATCH", "/api/v1/me/profile", data=b"[1, 2]", headers=JSON)
    assert_problem(response, 422, "body")
    response = client.request("PATCH", "/api/v1/me/profile", data=b"\xff\xfe", headers=JSON)
    assert_problem(response, 422, "body")
    response = client.request("PATCH", "/api/v1/me/profile", data=b"display_name=x", headers={"Content-Type": "text/plain"})
    assert_problem(response, 415)
    response = requests.post(f"{base_url}/api/v1/accounts", data=b"", headers=JSON, timeout=30)
    assert_problem(response, 422, "body")
    response = requests.post(f"{base_url}/api/v1/accounts", json={"email": new_email(), "password": 123456789012345}, timeout=30)
    assert_problem(response, 422, "password")

    assert event_count(engine) == before


def test_huge_body_rejected_413(base_url, engine):
    client, _, _ = signed_in(base_url)
    before = event_count(engine)
    huge = json.dumps({"display_name": "x" * (70 * 1024)})
    response = client.request("PATCH", "/api/v1/me/profile", data=huge, headers=JSON)
    assert_problem(response, 413)

    def chunks():
        yield b'{"display_name": "'
        for _ in range(100):
            yield b"x" * 1024
        yield b'"}'

    response = client.request("PATCH", "/api/v1/me/profile", data=chunks(), headers=JSON)
    assert_problem(response, 413)
    assert event_count(engine) == before


def test_unknown_path_and_query_give_problems(base_url):
    assert_problem(requests.get(f"{base_url}/api/v1/nothing-here", timeout=30), 404)
    client, _, _ = signed_in(base_url)
    assert_problem(client.request("GET", "/api/v1/me/profile?admin=true"), 422, "admin")


@pytest.mark.parametrize("method", ["DELETE", "PUT", "TRACE", "PROPFIND"])
def test_wrong_method_gives_405_problem(base_url, method):
    response = requests.request(method, f"{base_url}/api/v1/me/profile", timeout=30)
    problem = assert_problem(response, 405)
    assert response.headers["Allow"] == "GET, HEAD, OPTIONS, PATCH"
    assert method in problem["detail"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("method", ["GET", "POST", "TRACE"])
def test_unknown_path_gives_404_for_any_method(base_url, method):
    response = requests.request(method, f"{base_url}/api/v1/nothing-here", timeout=30)
    problem = assert_problem(response, 404)
    assert "/api/v1/nothing-here" in problem["detail"]


@pytest.mark.parametrize("path", ["/api//v1/me/profile", "/api/v1//me/profile"])
def test_doubled_slash_gives_404_not_redirect(base_url, path):
    response = requests.get(base_url + path, headers={"Host": "evil.example"}, allow_redirects=False, timeout=30)
    assert_problem(response, 404)
    assert "Location" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"


def test_empty_reply_has_no_content_type(base_url):
    client, _, _ = signed_in(base_url)
    response = client.request("DELETE", "/api/v1/sessions/current")
    assert response.status_code == 204
    assert response.content == b""
    assert "Content-Type" not in response.headers


# --- idempotency -----------------------------------------------------------------------


def test_idempotency_key_replays_first_result(base_url, engine):
    client, _, _ = signed_in(base_url)
    key = str(uuid.uuid4())
    headers = {"Idempotency-Key": key}

    first = requests.post(f"{base_url}/api/v1/accounts", json={"email": new_email(), "password": PASSWORD}, headers=headers, timeout=30)
    assert first.status_code == 201, first.text
    after_first = event_count(engine)
    again = requests.post(f"{base_url}/api/v1/accounts", json=json.loads(first.request.body), headers=headers, timeout=30)
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert event_count(engine) == after_first

    other_body = requests.post(f"{base_url}/api/v1/accounts", json={"email": new_email(), "password": PASSWORD}, headers=headers, timeout=30)
    assert_problem(other_body, 422, "Idempotency-Key")
    assert event_count(engine) == after_first


def test_idempotency_keys_scoped_per_user(base_url):
    key = str(uuid.uuid4())
    body = {"current_password": PASSWORD, "new_password": "another long passphrase"}
    first, _, _ = signed_in(base_url)
    second, _, _ = signed_in(base_url)

    assert first.request("POST", "/api/v1/me/password", json=body, headers={"Idempotency-Key": key}).status_code == 204
    # The same key from another user is that user's own first request, not a replay.
    wrong = dict(body, current_password="not the right password at all")
    response = second.request("POST", "/api/v1/me/password", json=wrong, headers={"Idempotency-Key": key})
    assert_problem(response, 422, "current_password")


def test_invalid_idempotency_key_rejected(base_url):
    response = requests.post(
        f"{base_url}/api/v1/accounts", json={"email": new_email(), "password": PASSWORD}, headers={"Idempotency-Key": "short"}, timeout=30
    )
    assert_problem(response, 422, "Idempotency-Key")


# --- sign-in behaviour -----------------------------------------------------------------


def test_unknown_email_and_wrong_password_look_alike(base_url):
    email = new_email()
    ApiClient(base_url).register(email, PASSWORD)

    def attempt(address: str) -> tuple[requests.Response, float]:
        started = time.perf_counter()
        response = requests.post(f"{base_url}/api/v1/sessions", json={"email": address, "password": "wrong password attempt"}, timeout=30)
        return response, time.perf_counter() - started

    wrong_password, wrong_time = attempt(email)
    unknown_email, unknown_time = attempt(new_email())
    assert wrong_password.status_code == unknown_email.status_code == 401
    assert wrong_password.json()["detail"] == unknown_email.json()["detail"]
    assert {k: v for k, v in wrong_password.json().items() if k != "request_id"} == unknown_email.json()
    # Both run one argon2 verification; allow generous noise on a shared machine.
    assert unknown_time > wrong_time / 4


def test_sign_in_rate_limited_per_account(base_url, settings):
    email = new_email()
    ApiClient(base_url).register(email, PASSWORD)
    for _ in range(settings.sign_in_max_failures_per_account):
        response = requests.post(f"{base_url}/api/v1/sessions", json={"email": email, "password": "wrong password attempt"}, timeout=30)
        assert response.status_code == 401

    response = requests.post(f"{base_url}/api/v1/sessions", json={"email": email, "password": PASSWORD}, timeout=30)
    assert_problem(response, 429)
    assert int(response.headers["Retry-After"]) > 0


# --- deletion makes personal data unreadable ------------------------------------------------------


def test_deleted_account_email_unrecoverable(base_url, admin_engine):
    client, email, _ = signed_in(base_url, display_name="Grace Hopper", phone="+15555550123")
    user_stream = f"user-{client.user_id}"

    client.delete_account(PASSWORD)

    assert_problem(client.request("GET", "/api/v1/me/profile"), 401)
    with pytest.raises(ApiError):
        ApiClient(base_url).sign_in(email, PASSWORD)
    with admin_engine.connect() as conn:
        stored = conn.execute(
            sa.select(events.c.event_type, events.c.data).where(events.c.stream_id == user_stream).order_by(events.c.version)
        ).all()
        key_rows = conn.execute(sa.text("SELECT count(*) FROM accounts.user_keys WHERE user_id = :id"), {"id": client.user_id}).scalar()
        lookup_rows = conn.execute(sa.text("SELECT count(*) FROM accounts.email_lookup WHERE user_id = :id"), {"id": client.user_id}).scalar()
    assert [row.event_type for row in stored][0] == "UserRegistered"
    assert stored[-1].event_type == "UserDeleted"
    dumped = json.dumps([row.data for row in stored])
    for secret in (email, email.split("@")[0], "Grace Hopper", "+15555550123"):
        assert secret not in dumped
    assert key_rows == 0
    assert lookup_rows == 0
    # The same email may register again, as a new person.
    assert ApiClient(base_url).register(email, PASSWORD)["user_id"] != client.user_id


# --- gateway behaviour -------------------------------------------------------------------


def test_security_headers_present(base_url):
    client, _, _ = signed_in(base_url)
    response = client.request("GET", "/api/v1/me/profile")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Request-Id"]


def test_cors_denied_by_default(base_url):
    response = requests.options(
        f"{base_url}/api/v1/me/profile", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}, timeout=30
    )
    assert response.status_code == 204
    assert "Access-Control-Allow-Origin" not in response.headers
    assert "Content-Type" not in response.headers


def test_health_and_readiness(base_url):
    assert requests.get(f"{base_url}/healthz", timeout=30).json() == {"status": "ok"}
    ready = requests.get(f"{base_url}/readyz", timeout=30)
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"postgresql": "ok", "rabbitmq": "ok"}


def test_openapi_document_valid(base_url):
    from openapi_spec_validator import validate

    document = requests.get(f"{base_url}/api/v1/openapi.json", timeout=30).json()
    validate(document)
    assert "/api/v1/me/profile" in document["paths"]
    assert set(document["paths"]["/api/v1/me/profile"]) == {"get", "patch"}
    assert "Idempotency-Key" in json.dumps(document["paths"]["/api/v1/accounts"])


def test_stopped_accounts_gives_504_not_hang(system, base_url, settings):
    system.kill("accounts")
    try:
        started = time.perf_counter()
        response = requests.post(
            f"{base_url}/api/v1/sessions", json={"email": new_email(), "password": PASSWORD}, timeout=settings.rpc_timeout + 20
        )
        elapsed = time.perf_counter() - started
        assert response.status_code in (503, 504), response.text
        assert_problem(response, response.status_code)
        assert elapsed < settings.rpc_timeout + 5
    finally:
        system.restart("accounts")
        system.wait_until_ready(timeout=60)
    # Requests work again once accounts is back.
    signed_in(base_url)


def test_request_id_reaches_event_metadata(base_url, engine):
    client, _, _ = signed_in(base_url)
    request_id = f"req-{uuid.uuid4().hex[:12]}"
    response = client.request("PATCH", "/api/v1/me/profile", json={"display_name": "Traced"}, headers={"X-Request-Id": request_id})
    assert response.status_code == 200
    assert response.headers["X-Request-Id"] == request_id
    with engine.connect() as conn:
        metadata = conn.execute(
            sa.select(events.c.metadata).where(events.c.stream_id == f"user-{client.user_id}", events.c.event_type == "ProfileUpdated")
        ).scalar_one()
    assert metadata["correlation_id"] == request_id
    assert metadata["actor"] == client.user_id


def test_refresh_with_idempotency_key_is_never_replayed(base_url):
    client, _, tokens = signed_in(base_url)
    headers = {"Idempotency-Key": "refresh-key-0001"}
    body = {"refresh_token": tokens["refresh_token"]}
    first = requests.post(f"{base_url}/api/v1/sessions/refresh", json=body, headers=headers, timeout=30)
    assert first.status_code == 200

    # A thief holding the spent token and the key must not get the stored tokens back.
    replay = requests.post(f"{base_url}/api/v1/sessions/refresh", json=body, headers=headers, timeout=30)

    assert_problem(replay, 401)
    assert "Idempotent-Replayed" not in replay.headers
    assert_problem(client.request("GET", "/api/v1/me/profile"), 401)

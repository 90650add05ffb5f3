"""HTTP plumbing of the gateway: routes, bodies, problem responses, auth, RPC calls.

How to add a route mixin (for example `services/gateway/loans_api.py`):

    from loansyncro.service_kit import rpc_proxy
    from services.gateway.http import Reply, RequestContext, route

    class LoansApi:
        loans_rpc = rpc_proxy("loans")

        @route("POST", "/api/v1/loans", body=LoanInput, response=LoanOutput, status=201,
               summary="Create a loan", tag="loans")
        def create_loan(self, ctx: RequestContext) -> Reply:
            loan = ctx.call(self.loans_rpc.create_loan, ctx.user_id, ctx.body, ctx.command_id)
            return Reply(201, LoanOutput().dump(loan))

        @route("GET", "/api/v1/loans/<uuid:loan_id>", response=LoanOutput, summary="Read a loan")
        def get_loan(self, ctx: RequestContext, loan_id: uuid.UUID) -> Reply:
            return Reply(200, LoanOutput().dump(ctx.call(self.loans_rpc.get_loan, ctx.user_id, str(loan_id))))

Add the mixin to `_MIXINS` in `service.py`. `route` does the rest. It
registers the nameko `@http` entrypoint and verifies the access token (routes
are authenticated unless `auth=False`). It loads the body and query with the
marshmallow schemas, rejecting unknown fields, and replays or records the
Idempotency-Key of a POST. It maps any exception to a problem response through
`ERROR_STATUS`, adds the security headers, and lists the route in the OpenAPI
document. `ctx.call` wraps the RPC in the configured timeout. Pass
`ctx.command_id` to every state-changing RPC: it is the same for a retried
request with the same Idempotency-Key, so the service can derive
deterministic event ids and apply a late duplicate once.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import re
import socket
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final

import eventlet
import marshmallow
import sqlalchemy as sa
import werkzeug.exceptions
import werkzeug.routing
from kombu.exceptions import OperationalError as BrokerError
from nameko.exceptions import MethodNotFound, RemoteError, RpcTimeout, UnknownService
from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import WebServer, WsgiApp
from werkzeug.exceptions import ClientDisconnected
from werkzeug.wrappers import Request, Response

import loansyncro.service_kit  # noqa: F401 - registers the cross-service errors with nameko
from loansyncro import logs
from loansyncro.config import Settings, load_settings
from loansyncro.errors import Conflict, NotFound, RateLimited, Unauthorized, ValidationFailed

log = logging.getLogger(__name__)

# Default seconds a client connection may stay silent (nameko config key
# CLIENT_SOCKET_TIMEOUT). eventlet's WSGI server waits forever by default, so a
# client that never finishes its headers or body would hold a connection and
# a greenthread for good.
CLIENT_SOCKET_TIMEOUT: Final = 30.0


class TimedWebServer(WebServer):
    """nameko's web server with a timeout on idle client sockets and problem JSON for unrouted requests."""

    def get_wsgi_app(self) -> Any:
        return ProblemWsgiApp(self)

    def get_wsgi_server(self, sock: Any, wsgi_app: Any, *args: Any, **kwargs: Any) -> Any:
        server = super().get_wsgi_server(sock, wsgi_app, *args, **kwargs)
        server.socket_timeout = float(self.container.config.get("CLIENT_SOCKET_TIMEOUT", CLIENT_SOCKET_TIMEOUT))
        return server


class ProblemWsgiApp(WsgiApp):
    """nameko's WSGI app, which returns problem JSON for requests that match no route.

    nameko returns werkzeug's HTML error page when the URL map has no rule
    for the path and method. The gateway's catch-all route takes only
    OPTIONS (CORS preflights on any path). So a method that the path has no
    rule for gets a 405 listing the allowed methods, and an unknown path gets a 404.
    """

    def __init__(self, server: WebServer) -> None:
        super().__init__(server)
        self.settings = load_settings()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ, shallow=True)
        adapter = self.url_map.bind_to_environ(environ)
        try:
            provider, values = adapter.match()
        except werkzeug.exceptions.MethodNotAllowed as error:
            valid = set(error.valid_methods or ())
            if valid - {"OPTIONS", "HEAD"}:
                allowed = sorted(valid | ({"HEAD"} if "GET" in valid else set()))
                response = self._problem(request, MethodNotAllowed(request.method, request.path, allowed))
            else:  # only the OPTIONS catch-all matched: no route serves this path
                response = self._problem(request, NotFound("path", request.path))
            return response(environ, start_response)
        except (werkzeug.exceptions.NotFound, werkzeug.routing.RequestRedirect):
            # werkzeug redirects a path with doubled slashes to the merged one and
            # builds the target from the client's Host header. No route of this
            # API is served at such a path, so it is unknown like any other.
            return self._problem(request, NotFound("path", request.path))(environ, start_response)

        request.path_values = values
        return provider.handle_request(request)(environ, start_response)

    def _problem(self, request: Request, error: Exception) -> Response:
        correlation_id = correlation_id_of(request)
        response = error_reply(error, correlation_id).to_response()
        decorate_response(response, self.settings, request, correlation_id)
        return response


class TimedHttpRequestHandler(HttpRequestHandler):
    server = TimedWebServer()


# Every gateway route must use this decorator: two web server classes in one
# service would both try to listen on the gateway's port.
http = TimedHttpRequestHandler.decorator

PROBLEM_TYPE_BASE: Final = "https://loansyncro.example/problems/"
JSON_TYPE: Final = "application/json"
PROBLEM_JSON_TYPE: Final = "application/problem+json"
IDEMPOTENCY_HEADER: Final = "Idempotency-Key"
# Printable ASCII without spaces; long enough for a UUID or a client's own scheme.
IDEMPOTENCY_KEY_PATTERN: Final = re.compile(r"^[\x21-\x7e]{8,128}$")
REQUEST_ID_PATTERN: Final = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# WSGI environ key under which the worker setup leaves the request id for `handle`.
CORRELATION_ID_ENVIRON_KEY: Final = "loansyncro.correlation_id"
# Applied to every response: the API returns JSON only, so nothing may be framed, run or sniffed.
SECURITY_HEADERS: Final = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
}


class ServiceTimeout(Exception):
    """A service did not reply to an RPC within the gateway's timeout."""


class ServiceUnavailable(Exception):
    """A service the request needs is unreachable: it is stopped or unknown, or the broker is down."""


class RequestTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit


class RequestTimeout(Exception):
    """The client stopped sending its body before Content-Length bytes arrived."""


class UnsupportedMediaType(Exception):
    def __init__(self, content_type: str) -> None:
        super().__init__(content_type)
        self.content_type = content_type


class MethodNotAllowed(Exception):
    """The path exists, but not for this HTTP method."""

    def __init__(self, method: str, path: str, allowed: list[str]) -> None:
        super().__init__(method, path, allowed)
        self.method = method
        self.path = path
        self.allowed = allowed


class FieldErrors(Exception):
    """Several invalid fields at once, as marshmallow reports them."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors)
        self.errors = errors


@dataclass(frozen=True)
class ErrorMapping:
    status: int
    slug: str
    title: str


# The one table that turns exceptions into HTTP statuses. Order matters:
# the first class the exception is an instance of wins.
ERROR_STATUS: Final[tuple[tuple[type[BaseException], ErrorMapping], ...]] = (
    (FieldErrors, ErrorMapping(422, "validation-failed", "The request contains invalid fields")),
    (ValidationFailed, ErrorMapping(422, "validation-failed", "The request contains invalid fields")),
    (NotFound, ErrorMapping(404, "not-found", "Resource not found")),
    (MethodNotAllowed, ErrorMapping(405, "method-not-allowed", "Method not allowed")),
    (Conflict, ErrorMapping(409, "conflict", "The request conflicts with the current state")),
    (Unauthorized, ErrorMapping(401, "unauthorized", "Authentication required")),
    (RateLimited, ErrorMapping(429, "rate-limited", "Too many requests")),
    (RequestTooLarge, ErrorMapping(413, "request-too-large", "Request body too large")),
    (RequestTimeout, ErrorMapping(408, "request-timeout", "The request body did not arrive in time")),
    (UnsupportedMediaType, ErrorMapping(415, "unsupported-media-type", "Unsupported media type")),
    (ServiceTimeout, ErrorMapping(504, "service-timeout", "A service did not respond in time")),
    (eventlet.Timeout, ErrorMapping(504, "service-timeout", "A service did not respond in time")),
    (RpcTimeout, ErrorMapping(504, "service-timeout", "A service did not respond in time")),
    (ServiceUnavailable, ErrorMapping(503, "service-unavailable", "A service is unavailable")),
    (UnknownService, ErrorMapping(503, "service-unavailable", "A service is unavailable")),
    (MethodNotFound, ErrorMapping(503, "service-unavailable", "A service is unavailable")),
    (BrokerError, ErrorMapping(503, "service-unavailable", "A service is unavailable")),
    # The gateway's own database: unreachable, or a connection, lock or query wait that outlasted RPC_TIMEOUT.
    (sa.exc.TimeoutError, ErrorMapping(503, "service-unavailable", "A service is unavailable")),
    (sa.exc.OperationalError, ErrorMapping(503, "service-unavailable", "A service is unavailable")),
    (ConnectionError, ErrorMapping(503, "service-unavailable", "A service is unavailable")),
    (socket.error, ErrorMapping(503, "service-unavailable", "A service is unavailable")),
)
UNEXPECTED: Final = ErrorMapping(503, "unexpected-error", "The request could not be completed")


def to_json(value: Any) -> Any:
    """JSON default for the API's values: amounts as strings, dates in ISO 8601."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


@dataclass
class Reply:
    """A route's result: status, JSON payload (None for an empty body) and extra headers."""

    status: int = 200
    payload: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = JSON_TYPE

    def to_response(self) -> Response:
        if self.payload is None:
            # An empty body (204) has no media type to announce.
            response = Response(status=self.status)
            response.headers.pop("Content-Type", None)
        else:
            body = json.dumps(self.payload, default=to_json, ensure_ascii=False)
            response = Response(body, status=self.status, content_type=self.content_type)
        for name, value in self.headers.items():
            response.headers[name] = value
        return response


def problem(status: int, slug: str, title: str, detail: str, **extra: Any) -> Reply:
    """Build an RFC 9457 problem reply."""
    payload = {"type": PROBLEM_TYPE_BASE + slug, "title": title, "status": status, "detail": detail, **extra}
    return Reply(status, payload, content_type=PROBLEM_JSON_TYPE)


def _field_errors_from_marshmallow(messages: Any, data: Any, prefix: str = "") -> list[dict[str, Any]]:
    """Flatten marshmallow's nested messages into [{field, value, detail}]."""
    errors: list[dict[str, Any]] = []
    if isinstance(messages, Mapping):
        for key, nested in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if key == "_schema":
                name = prefix or "body"
            child = data.get(key) if isinstance(data, Mapping) else (
                data[key] if isinstance(data, list) and isinstance(key, int) and key < len(data) else None
            )
            errors.extend(_field_errors_from_marshmallow(nested, child, name))
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        detail = " ".join(messages)
        if detail == "Unknown field.":
            detail = "Unknown field: remove it (this field cannot be set by the client)."
        errors.append({"field": prefix or "body", "value": _printable(data), "detail": detail})
    else:
        errors.append({"field": prefix or "body", "value": _printable(data), "detail": str(messages)})
    return errors


def _printable(value: Any) -> Any:
    # Echo the rejected value, but never a huge or nested one in full.
    if isinstance(value, (str, int, float, bool)) or value is None:
        text = value if not isinstance(value, str) or len(value) <= 200 else value[:200] + "..."
        return text
    return json.dumps(value, default=str)[:200]


def error_reply(error: BaseException, correlation_id: str | None) -> Reply:
    """Map an exception to its problem reply; unexpected ones are logged and get a generic 503."""
    for error_class, mapping in ERROR_STATUS:
        if isinstance(error, error_class):
            break
    else:
        log.exception("request failed unexpectedly", extra={"correlation_id": correlation_id}, exc_info=error)
        return problem(
            UNEXPECTED.status,
            UNEXPECTED.slug,
            UNEXPECTED.title,
            f"The request could not be completed and nothing more is known to the client; "
            f"retry later, quoting request id {correlation_id}.",
            request_id=correlation_id,
        )

    if isinstance(error, FieldErrors):
        detail = "; ".join(f"{item['field']}: {item['detail']}" for item in error.errors)
        return problem(mapping.status, mapping.slug, mapping.title, detail, errors=error.errors)
    if isinstance(error, ValidationFailed):
        item = {"field": error.field, "value": error.value, "detail": error.detail}
        return problem(mapping.status, mapping.slug, mapping.title, f"{error.field}: {error.detail}", errors=[item])
    if isinstance(error, RateLimited):
        reply = problem(mapping.status, mapping.slug, mapping.title, str(error))
        reply.headers["Retry-After"] = str(error.retry_after_seconds)
        return reply
    if isinstance(error, MethodNotAllowed):
        allowed = ", ".join(error.allowed)
        reply = problem(mapping.status, mapping.slug, mapping.title, f"{error.method} is not allowed on {error.path}: use {allowed}.")
        reply.headers["Allow"] = allowed
        return reply
    if isinstance(error, RequestTooLarge):
        detail = f"The body is larger than {error.limit} bytes: send a smaller request."
        return problem(mapping.status, mapping.slug, mapping.title, detail)
    if isinstance(error, RequestTimeout):
        detail = "The connection went silent before the whole body arrived: send the body Content-Length announces."
        return problem(mapping.status, mapping.slug, mapping.title, detail)
    if isinstance(error, UnsupportedMediaType):
        detail = f"Content-Type {error.content_type!r} is not supported: send application/json."
        return problem(mapping.status, mapping.slug, mapping.title, detail)
    if mapping.status == 504:
        log.warning("rpc timed out", extra={"correlation_id": correlation_id})
        detail = "A service did not respond in time; the request may still be applied. Retry with the same Idempotency-Key."
        return problem(mapping.status, mapping.slug, mapping.title, detail, request_id=correlation_id)
    if mapping.status == 503:
        log.warning("service unavailable", extra={"correlation_id": correlation_id, "error": repr(error)})
        detail = "A service needed for this request is unavailable; retry later with the same Idempotency-Key."
        return problem(mapping.status, mapping.slug, mapping.title, detail, request_id=correlation_id)
    if isinstance(error, Unauthorized):
        reply = problem(mapping.status, mapping.slug, mapping.title, str(error))
        reply.headers["WWW-Authenticate"] = 'Bearer realm="loansyncro"'
        return reply
    return problem(mapping.status, mapping.slug, mapping.title, str(error))


# --- RPC calls -------------------------------------------------------------------


def call(rpc_method: Callable[..., Any], *args: Any, timeout: float, **kwargs: Any) -> Any:
    """Call a nameko RPC proxy method, giving up after `timeout` seconds.

    Raises ServiceTimeout (mapped to 504) when no reply arrives in time, and
    ServiceUnavailable (503) when the broker or the service's queue is gone. The
    service's own errors (ValidationFailed, NotFound, ...) pass through unchanged.
    """
    timer = eventlet.Timeout(timeout)
    try:
        return rpc_method(*args, **kwargs)
    except eventlet.Timeout as error:
        if error is not timer:
            raise  # an outer deadline, not this call's
        # eventlet.Timeout derives from BaseException, so `except Exception`
        # in a handler's fallback would miss it; ServiceTimeout does not.
        raise ServiceTimeout(f"no reply within {timeout:g} s") from None
    except (UnknownService, MethodNotFound) as error:
        raise ServiceUnavailable(str(error)) from error
    except RemoteError as error:
        # An exception class the gateway does not know: a bug in the service.
        raise ServiceUnavailable(f"{error.exc_type}: {error.value}") from error
    finally:
        timer.cancel()


# --- request parsing ---------------------------------------------------------------


def read_json_body(request: Request, limit: int) -> Any:
    """Read and parse the JSON body, rejecting bodies over `limit` bytes (413) and bad JSON (422)."""
    if request.content_length is not None and request.content_length > limit:
        raise RequestTooLarge(limit)
    if request.content_length is None and "chunked" in request.headers.get("Transfer-Encoding", "").lower():
        # werkzeug's stream is empty for chunked bodies unless the server marks
        # the input as terminated, which eventlet's does not; eventlet's own input decodes the chunks.
        try:
            raw = request.environ["wsgi.input"].read(limit + 1)
        except ValueError:  # eventlet's ChunkReadError: a chunk size that is not hexadecimal
            detail = "Malformed chunked body: send valid chunked encoding or a Content-Length."
            raise FieldErrors([{"field": "body", "value": None, "detail": detail}]) from None
        except TimeoutError:
            raise RequestTimeout() from None
    else:
        try:
            raw = request.stream.read(limit + 1)
        except (TimeoutError, ClientDisconnected):  # werkzeug reports a read timeout as a disconnect
            raise RequestTimeout() from None
    if len(raw) > limit:
        raise RequestTooLarge(limit)
    if not raw.strip():
        raise FieldErrors([{"field": "body", "value": None, "detail": "Missing JSON body: send a JSON object."}])
    content_type = (request.mimetype or "").lower()
    if content_type and content_type != JSON_TYPE and not content_type.endswith("+json"):
        raise UnsupportedMediaType(request.mimetype)
    try:
        data = json.loads(raw.decode("utf-8"), parse_float=Decimal, object_pairs_hook=_object_without_duplicates)
    except UnicodeDecodeError:
        raise FieldErrors([{"field": "body", "value": None, "detail": "The body is not UTF-8: send UTF-8 JSON."}]) from None
    except json.JSONDecodeError as error:
        detail = f"Malformed JSON at line {error.lineno} column {error.colno}: {error.msg}; send a valid JSON object."
        raise FieldErrors([{"field": "body", "value": None, "detail": detail}]) from None
    except DuplicateKey as error:
        detail = f"The key {error.key!r} appears more than once in an object: send each field once."
        raise FieldErrors([{"field": error.key, "value": None, "detail": detail}]) from None
    except RecursionError:
        detail = f"JSON nested deeper than Python can parse: keep nesting under {MAX_JSON_DEPTH} levels."
        raise FieldErrors([{"field": "body", "value": None, "detail": detail}]) from None
    except ValueError as error:
        # Integers longer than Python's int limit (4,300 digits) land here.
        raise FieldErrors([{"field": "body", "value": None, "detail": f"Invalid JSON value: {error}."}]) from None
    check_json_text(data, "", 0)
    return data


class DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Build a JSON object, rejecting a repeated key: which copy a parser keeps differs by parser."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise DuplicateKey(key)
        result[key] = value
    return result


# Deeper bodies are rejected: no API body nests more than a few levels.
MAX_JSON_DEPTH = 32


def check_json_text(value: Any, path: str, depth: int) -> None:
    """Reject nesting beyond MAX_JSON_DEPTH, NUL characters and lone surrogates anywhere in a body.

    PostgreSQL stores neither NUL nor unpaired surrogates in text or JSON, so
    they would fail deep in a service instead of as a clear 422 here.
    """
    if depth > MAX_JSON_DEPTH:
        detail = f"JSON nested deeper than {MAX_JSON_DEPTH} levels: flatten the body."
        raise FieldErrors([{"field": path or "body", "value": None, "detail": detail}])
    if isinstance(value, str):
        if "\x00" in value:
            raise FieldErrors([{"field": path or "body", "value": None, "detail": "Text contains a NUL character: remove it."}])
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            detail = "Text contains an unpaired surrogate (an invalid \\u escape): send valid Unicode text."
            raise FieldErrors([{"field": path or "body", "value": None, "detail": detail}]) from None
    elif isinstance(value, dict):
        for key, item in value.items():
            check_json_text(key, path or "body", depth + 1)
            check_json_text(item, f"{path}.{key}" if path else str(key), depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            check_json_text(item, f"{path}[{index}]" if path else f"[{index}]", depth + 1)


def load_with(schema: marshmallow.Schema, data: Any, location: str = "body") -> Any:
    """Load `data` with `schema`; unknown fields and type errors raise FieldErrors naming each field."""
    if location == "body" and not isinstance(data, Mapping):
        kind = type(data).__name__ if data is not None else "null"
        raise FieldErrors([{"field": "body", "value": _printable(data), "detail": f"Expected a JSON object, got {kind}."}])
    try:
        return schema.load(data, unknown=marshmallow.RAISE)
    except marshmallow.ValidationError as error:
        raise FieldErrors(_field_errors_from_marshmallow(error.messages, data, "" if location == "body" else "")) from None


def load_query(request: Request, schema: marshmallow.Schema) -> Any:
    """Load the query string: a repeated parameter becomes a list only if the schema field is a List."""
    data: dict[str, Any] = {}
    for key in request.args:
        values = request.args.getlist(key)
        declared = schema.fields.get(key)
        data[key] = values if isinstance(declared, marshmallow.fields.List) else values[-1]
    check_json_text(data, "", 0)
    return load_with(schema, data, location="query")


# --- routes ------------------------------------------------------------------------


@dataclass(frozen=True)
class RouteSpec:
    """Route metadata for the OpenAPI document."""

    method: str
    path: str
    summary: str
    tag: str
    auth: bool
    status: int
    body: type[marshmallow.Schema] | None
    query: type[marshmallow.Schema] | None
    response: type[marshmallow.Schema] | None
    response_many: bool
    idempotent: bool


@dataclass
class RequestContext:
    """Everything a route handler needs; the user id comes only from the verified token."""

    request: Request
    settings: Settings
    correlation_id: str
    user_id: str | None = None
    session_id: str | None = None
    body: Any = None
    query: Any = None
    # Idempotency key for the RPC: derived from the client's Idempotency-Key, else random.
    command_id: str = ""
    idempotency_key: str | None = None

    def call(self, rpc_method: Callable[..., Any], *args: Any, timeout: float | None = None, **kwargs: Any) -> Any:
        return call(rpc_method, *args, timeout=self.settings.rpc_timeout if timeout is None else timeout, **kwargs)

    @property
    def client_address(self) -> str:
        return self.request.remote_addr or "unknown"


def route(
    method: str,
    path: str,
    *,
    summary: str,
    tag: str = "api",
    auth: bool = True,
    body: type[marshmallow.Schema] | None = None,
    query: type[marshmallow.Schema] | None = None,
    response: type[marshmallow.Schema] | None = None,
    response_many: bool = False,
    status: int = 200,
    idempotent: bool | None = None,
) -> Callable[[Callable[..., Reply]], Callable[..., Response]]:
    """Declare an API route on a gateway mixin; see the module docstring.

    POST routes honour Idempotency-Key unless `idempotent=False`: routes that
    hand out credentials must never replay a stored response.

    The handler is called as `handler(self, ctx, **path_values)` and returns a
    Reply. The gateway class must provide `self.gateway_settings()`,
    `self.authenticate(ctx)` and `self.idempotency` (GatewayService does).
    """
    spec = RouteSpec(
        method=method.upper(),
        path=path,
        summary=summary,
        tag=tag,
        auth=auth,
        status=status,
        body=body,
        query=query,
        response=response,
        response_many=response_many,
        idempotent=method.upper() == "POST" if idempotent is None else idempotent,
    )

    def decorate(handler: Callable[..., Reply]) -> Callable[..., Response]:
        @functools.wraps(handler)
        def entrypoint(self: Any, request: Request, **path_values: Any) -> Response:
            return handle(self, spec, handler, request, path_values)

        entrypoint.__route_spec__ = spec  # type: ignore[attr-defined]
        return http(spec.method, path)(entrypoint)

    return decorate


def correlation_id_of(request: Request) -> str:
    """Return the request id: the one chosen at worker setup, the client's valid X-Request-Id, or a new UUID."""
    chosen = request.environ.get(CORRELATION_ID_ENVIRON_KEY)
    if chosen:
        return str(chosen)
    supplied = request.headers.get("X-Request-Id", "")
    return supplied if REQUEST_ID_PATTERN.match(supplied) else str(uuid.uuid4())


def request_hash(request: Request, raw_body: Any) -> str:
    """Hash the method, path, query and parsed body, so whitespace or key order do not matter."""
    canonical = json.dumps(
        [request.method, request.path, sorted(request.args.items(multi=True)), raw_body],
        sort_keys=True,
        default=to_json,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def handle(service: Any, spec: RouteSpec, handler: Callable[..., Reply], request: Request, path_values: dict[str, Any]) -> Response:
    """Run one request through auth, loading, idempotency and the handler.

    Every exception except interpreter exits becomes a problem response, so nameko never returns its own 500.
    """
    correlation_id = correlation_id_of(request)
    token = logs.correlation_id.set(correlation_id)
    settings = service.gateway_settings()
    ctx = RequestContext(request=request, settings=settings, correlation_id=correlation_id, command_id=str(uuid.uuid4()))
    try:
        reply = _run(service, spec, handler, ctx, path_values)
    except BaseException as error:  # noqa: BLE001 - every failure becomes a problem response, never a 500
        if isinstance(error, (KeyboardInterrupt, SystemExit, GeneratorExit)):
            raise
        reply = error_reply(error, correlation_id)
    finally:
        logs.correlation_id.reset(token)
    response = reply.to_response()
    decorate_response(response, settings, request, correlation_id)
    return response


def _run(service: Any, spec: RouteSpec, handler: Callable[..., Reply], ctx: RequestContext, path_values: dict[str, Any]) -> Reply:
    request = ctx.request
    if spec.auth:
        ctx.user_id, ctx.session_id = service.authenticate(ctx)

    raw_body = None
    if spec.body is not None:
        raw_body = read_json_body(request, ctx.settings.max_body_bytes)
        ctx.body = load_with(spec.body(), raw_body)
    elif request.content_length:
        # A body sent to a route that takes none is rejected rather than ignored.
        raise FieldErrors([{"field": "body", "value": None, "detail": "This endpoint takes no body: send none."}])
    if spec.query is not None:
        ctx.query = load_query(request, spec.query())
    elif request.args:
        names = ", ".join(sorted(request.args))
        raise FieldErrors([{"field": names, "value": None, "detail": "Unknown query parameter: remove it."}])

    key = request.headers.get(IDEMPOTENCY_HEADER)
    if not (spec.idempotent and key is not None):
        return handler(service, ctx, **path_values)

    if not IDEMPOTENCY_KEY_PATTERN.match(key):
        raise ValidationFailed(
            IDEMPOTENCY_HEADER, key, "Invalid Idempotency-Key: use 8 to 128 printable ASCII characters, such as a UUID."
        )
    scope = ctx.user_id or "anonymous"
    ctx.idempotency_key = key
    ctx.command_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"loansyncro:{scope}:{key}"))
    return service.idempotency.run(
        scope, key, request_hash(request, raw_body), lambda: handler(service, ctx, **path_values), ctx.correlation_id
    )


def decorate_response(response: Response, settings: Settings, request: Request, correlation_id: str) -> None:
    """Add the security, cache and CORS headers and the request id."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    # Responses carry personal or per-user data, so no cache may keep them.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Request-Id"] = correlation_id
    origin = request.headers.get("Origin")
    if origin and origin in settings.cors_allowed_origins:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = "X-Request-Id, Retry-After, Location"
        response.headers["Vary"] = "Origin"


def cors_preflight(settings: Settings, request: Request) -> Response:
    """Respond to an OPTIONS preflight: allowed origins get the methods and headers, others nothing."""
    response = Reply(204).to_response()
    origin = request.headers.get("Origin")
    if origin and origin in settings.cors_allowed_origins:
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, PATCH, DELETE"
        response.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type, Idempotency-Key, X-Request-Id"
        response.headers["Access-Control-Max-Age"] = "600"
    decorate_response(response, settings, request, correlation_id_of(request))
    return response


def bearer_token(request: Request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Missing access token: send 'Authorization: Bearer <access token>'.")
    return token.strip()

"""OpenAPI 3 document built from the routes' marshmallow schemas (apispec).

Every method decorated with `http.route` carries a RouteSpec. `build_document`
collects them from the gateway class, so a mixin's routes appear without any
registration of their own.
"""

from __future__ import annotations

import re
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.common import resolve_schema_cls

from services.gateway.http import PROBLEM_JSON_TYPE, RouteSpec

_CONVERTER = re.compile(r"<(?:(\w+):)?(\w+)>")
_PARAMETER_SCHEMAS = {
    "uuid": {"type": "string", "format": "uuid"},
    "int": {"type": "integer"},
    None: {"type": "string"},
    "string": {"type": "string"},
}

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "request_id": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "detail"],
                "properties": {"field": {"type": "string"}, "value": {}, "detail": {"type": "string"}},
            },
        },
    },
}


def route_specs(service_class: type) -> list[RouteSpec]:
    specs = []
    for name in dir(service_class):
        spec = getattr(getattr(service_class, name, None), "__route_spec__", None)
        if isinstance(spec, RouteSpec):
            specs.append(spec)
    return sorted(specs, key=lambda spec: (spec.path, spec.method))


def _schema_name(schema: Any) -> str:
    name = resolve_schema_cls(schema).__name__
    return name[: -len("Schema")] if name.endswith("Schema") and name != "Schema" else name


def build_document(service_class: type, version: str = "1.0.0") -> dict[str, Any]:
    spec = APISpec(
        title="LoanSyncro API",
        version=version,
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin(schema_name_resolver=_schema_name)],
        info={"description": "Track several loans: balances, schedules, arrears, reminders and statements."},
    )
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    spec.components.schema("Problem", PROBLEM_SCHEMA)
    problem_ref = {"$ref": "#/components/schemas/Problem"}

    paths: dict[str, dict[str, Any]] = {}
    for route in route_specs(service_class):
        parameters: list[dict[str, Any]] = [
            {"in": "path", "name": name, "required": True, "schema": _PARAMETER_SCHEMAS.get(kind, {"type": "string"})}
            for kind, name in _CONVERTER.findall(route.path)
        ]
        if route.query is not None:
            parameters.append({"in": "query", "schema": route.query})
        if route.idempotent:
            parameters.append(
                {
                    "in": "header",
                    "name": "Idempotency-Key",
                    "required": False,
                    "schema": {"type": "string", "minLength": 8, "maxLength": 128},
                    "description": "Replays the first result for the same key and body; 422 for another body.",
                }
            )
        success: dict[str, Any] = {"description": "Success"}
        if route.response is not None:
            schema: Any = route.response
            if route.response_many:
                schema = {"type": "array", "items": route.response}
            success["content"] = {"application/json": {"schema": schema}}
        responses: dict[str, Any] = {str(route.status): success}
        failure_codes = ["422", "503", "504"] + (["401"] if route.auth else []) + (["413"] if route.body else [])
        for code in failure_codes:
            responses[code] = {"description": "Problem", "content": {PROBLEM_JSON_TYPE: {"schema": problem_ref}}}
        operation: dict[str, Any] = {
            "summary": route.summary,
            "tags": [route.tag],
            "parameters": parameters,
            "responses": responses,
        }
        if route.body is not None:
            operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": route.body}}}
        if route.auth:
            operation["security"] = [{"bearer": []}]
        openapi_path = _CONVERTER.sub(lambda match: "{" + match.group(2) + "}", route.path)
        paths.setdefault(openapi_path, {})[route.method.lower()] = operation

    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()

"""Real responses match the response schemas the OpenAPI document publishes, field for field."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
import requests

from tests.e2e.test_loans_http import CAR, signed_in

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def json_schema(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    """Turn an OpenAPI 3.0 schema into JSON Schema that rejects fields the document does not list."""
    if "$ref" in schema:
        return json_schema(components[schema["$ref"].rsplit("/", 1)[-1]], components)
    converted = {key: value for key, value in schema.items() if key not in ("nullable", "description", "format")}
    if "properties" in converted:
        converted["properties"] = {name: json_schema(value, components) for name, value in converted["properties"].items()}
        converted["additionalProperties"] = False
    if "items" in converted:
        converted["items"] = json_schema(converted["items"], components)
    for combinator in ("anyOf", "allOf", "oneOf"):
        if combinator in converted:
            converted[combinator] = [json_schema(part, components) for part in converted[combinator]]
    if schema.get("nullable"):
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


@pytest.fixture(scope="module")
def document(base_url) -> dict[str, Any]:
    return requests.get(f"{base_url}/api/v1/openapi.json", timeout=30).json()


def assert_matches(document: dict[str, Any], method: str, path: str, response: requests.Response) -> None:
    operation = document["paths"][path][method]
    content = operation["responses"][str(response.status_code)]["content"]["application/json"]
    schema = json_schema(content["schema"], document["components"]["schemas"])
    jsonschema.validate(response.json(), schema)


def test_loan_routes_match_document(base_url, document):
    client = signed_in(base_url)
    loan_path = "/api/v1/loans/{loan_id}"

    created = client.request("POST", "/api/v1/loans", 201, json=CAR)
    assert_matches(document, "post", "/api/v1/loans", created)
    loan_id = created.json()["id"]
    logged = client.request("POST", f"/api/v1/loans/{loan_id}/repayments", 201, json={"amount": "225.00", "paid_on": "2024-02-15"})
    assert_matches(document, "post", loan_path + "/repayments", logged)

    reads = [
        ("get", loan_path, f"/api/v1/loans/{loan_id}"),
        ("get", "/api/v1/loans", "/api/v1/loans"),
        ("get", loan_path + "/schedule", f"/api/v1/loans/{loan_id}/schedule"),
        ("get", loan_path + "/repayments", f"/api/v1/loans/{loan_id}/repayments"),
        ("get", loan_path + "/repayments/{repayment_id}", logged.headers["Location"]),
        ("get", "/api/v1/dashboard", "/api/v1/dashboard"),
        ("get", "/api/v1/notifications", "/api/v1/notifications"),
    ]
    for method, documented, actual in reads:
        assert_matches(document, method, documented, client.request(method.upper(), actual, 200))

    changed = client.request("PATCH", f"/api/v1/loans/{loan_id}", 200, json={"notes": "second-hand"})
    assert_matches(document, "patch", loan_path, changed)
    terms = client.request("POST", f"/api/v1/loans/{loan_id}/terms", 201, json={"effective_date": "2024-07-15", "annual_rate": "3.9"})
    assert_matches(document, "post", loan_path + "/terms", terms)
    repayment_id = logged.json()["id"]
    reversed_ = client.request("POST", f"/api/v1/loans/{loan_id}/repayments/{repayment_id}/reverse", 200, json={"reason": "typo"})
    assert_matches(document, "post", loan_path + "/repayments/{repayment_id}/reverse", reversed_)
    test_reminder = client.request("POST", "/api/v1/notifications/test", 202)
    assert_matches(document, "post", "/api/v1/notifications/test", test_reminder)
    closed = client.request("POST", f"/api/v1/loans/{loan_id}/close", 200, json={"closed_on": "2024-03-01"})
    assert_matches(document, "post", loan_path + "/close", closed)


def test_schema_check_rejects_undocumented_field(document):
    response = requests.Response()
    response.status_code = 200
    response._content = b'{"items": [], "total": 0, "limit": 20, "offset": 0, "surprise": 1}'
    with pytest.raises(jsonschema.ValidationError):
        assert_matches(document, "get", "/api/v1/notifications", response)

from __future__ import annotations

from collections import Counter
from typing import Any

import orjson
import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator

from apishield.inventory.endpoint import Endpoint, ParamStats
from apishield.inventory.export import export_openapi
from apishield.inventory.spec import spec_from_document

T0 = 1_700_000_000.0


def endpoint(
    method: str,
    template: str,
    *,
    host: str = "api.example.com",
    params: tuple[tuple[str, str, str], ...] = (),
    statuses: dict[int, int] | None = None,
    auth: dict[str, int] | None = None,
    **extra: Any,
) -> Endpoint:
    statuses = {200: 10} if statuses is None else statuses
    found = Endpoint(
        method,
        host,
        template,
        requests=sum(statuses.values()),
        first_seen=T0,
        last_seen=T0 + 3600,
        statuses=Counter(statuses),
        auth=Counter(auth if auth is not None else {"bearer": 10}),
        **extra,
    )
    for location, name, kind in params:
        found.params[(location, name)] = ParamStats(location, name, 10, Counter({kind: 10}))
    return found


def inventory() -> list[Endpoint]:
    return [
        endpoint(
            "GET",
            "/customers/{id}",
            params=(
                ("path", "id", "integer"),
                ("query", "since", "date"),
                ("header", "accept", "string"),
            ),
            data_classes=Counter({"email": 4, "phone": 2}),
            response_fields={"contact.email": "email"},
        ),
        endpoint("GET", "/customers/{id}", host="eu.example.com", statuses={200: 5, 404: 1}),
        endpoint(
            "POST",
            "/customers",
            params=(("body", "email", "email"),),
            statuses={201: 3, 422: 1},
            auth={"api_key": 3, "none": 1},
        ),
        endpoint("GET", "orders/{id}/items/{id}", auth={"none": 4}),
        endpoint("GET", "/health", statuses={}, auth={}),
    ]


def assert_valid(doc: dict[str, Any]) -> None:
    errors = [
        f"{list(e.absolute_path)}: {e.message}" for e in OpenAPIV31SpecValidator(doc).iter_errors()
    ]
    assert errors == []


def test_export_is_valid_openapi_3_1_and_round_trips() -> None:
    doc = export_openapi(inventory(), title="Customers", version="2024.1")
    assert_valid(doc)
    assert doc["info"]["title"] == "Customers" and doc["info"]["version"] == "2024.1"
    spec = spec_from_document(orjson.loads(orjson.dumps(doc)))
    assert spec.warnings == []
    assert sorted(spec.paths) == [
        "/customers",
        "/customers/{id}",
        "/health",
        "/orders/{id}/items/{id2}",
    ]
    read = spec.match("GET", "/customers/{id}")
    assert read is not None
    assert {(p.location, p.name): p.schema for p in read.parameters} == {
        ("path", "id"): {"type": "integer"},
        ("query", "since"): {"type": "string", "format": "date"},
    }, "Accept is described by content negotiation, not as a parameter"
    create = spec.match("POST", "/customers")
    assert create is not None and create.security == (), "some requests came without credentials"
    assert create.request_schema == {
        "type": "object",
        "properties": {"email": {"type": "string", "format": "email"}},
    }


def test_hosts_become_servers() -> None:
    doc = export_openapi(inventory(), title="t", version="1")
    assert doc["servers"] == [{"url": "https://api.example.com"}, {"url": "https://eu.example.com"}]
    assert "servers" not in doc["paths"]["/customers/{id}"], "served by every host"
    assert doc["paths"]["/customers"]["servers"] == [{"url": "https://api.example.com"}]


def test_operations_carry_what_traffic_showed() -> None:
    read = export_openapi(inventory(), title="t", version="1")["paths"]["/customers/{id}"]["get"]
    assert read["responses"] == {
        "200": {"description": "OK", "x-apishield-count": 15},
        "404": {"description": "Not Found", "x-apishield-count": 1},
    }
    assert read["x-apishield-requests"] == 16
    assert read["x-apishield-first-seen"] == "2023-11-14T22:13:20Z"
    assert read["x-apishield-last-seen"] == "2023-11-14T23:13:20Z"
    assert read["x-apishield-data-classes"] == {"email": 4, "phone": 2}
    assert read["x-apishield-response-fields"] == {"contact.email": "email"}
    assert read["security"] == [{"bearerAuth": []}]


def test_security_schemes_seen_are_declared() -> None:
    doc = export_openapi(inventory(), title="t", version="1")
    schemes = doc["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {"type": "http", "scheme": "bearer"}
    assert schemes["apiKeyAuth"]["type"] == "apiKey"
    assert set(schemes) == {"bearerAuth", "apiKeyAuth"}
    paths = doc["paths"]
    assert paths["/customers"]["post"]["security"] == [{"apiKeyAuth": []}, {}]
    assert paths["/orders/{id}/items/{id2}"]["get"]["security"] == [], "never authenticated"
    assert "security" not in paths["/health"]["get"], "no requests, so nothing is known"
    assert paths["/health"]["get"]["responses"] == {
        "default": {"description": "No response was observed."}
    }


@pytest.mark.parametrize(
    ("kind", "schema"),
    [
        ("integer", {"type": "integer"}),
        ("number", {"type": "number"}),
        ("boolean", {"type": "boolean"}),
        ("uuid", {"type": "string", "format": "uuid"}),
        ("date", {"type": "string", "format": "date"}),
        ("date-time", {"type": "string", "format": "date-time"}),
        ("email", {"type": "string", "format": "email"}),
        ("phone", {"type": "string", "format": "phone"}),
        ("hex", {"type": "string", "format": "hex"}),
        ("token", {"type": "string", "format": "token"}),
        ("string", {"type": "string"}),
    ],
)
def test_observed_types_map_to_json_schema(kind: str, schema: dict[str, str]) -> None:
    doc = export_openapi(
        [endpoint("GET", "/x", params=(("query", "v", kind),))], title="t", version="1"
    )
    (param,) = doc["paths"]["/x"]["get"]["parameters"]
    assert param == {
        "name": "v",
        "in": "query",
        "required": False,
        "schema": schema,
        "x-apishield-seen": 10,
    }


SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "Customers", "version": "1"},
    "servers": [{"url": "https://api.example.com/v1"}],
    "paths": {
        "/customers/{customerId}": {
            "get": {
                "operationId": "getCustomer",
                "summary": "Read one customer",
                "deprecated": True,
                "parameters": [
                    {
                        "name": "customerId",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer"},
                    }
                ],
                "responses": {"200": {"description": "ok"}},
            }
        }
    },
}


def test_a_spec_lends_templates_and_names() -> None:
    spec = spec_from_document(SPEC)
    learned = [
        endpoint("GET", "/v1/customers/{id}", params=(("path", "id", "integer"),)),
        endpoint("GET", "/v1/customers/{id}", host="eu.example.com"),
        endpoint("GET", "/v1/debug/{id}"),
    ]
    doc = export_openapi(learned, title="t", version="1", spec=spec)
    assert_valid(doc)
    read = doc["paths"]["/v1/customers/{customerId}"]["get"]
    assert read["operationId"] == "getCustomer" and read["deprecated"] is True
    assert read["summary"] == "Read one customer"
    assert read["x-apishield-documented"] is True and read["x-apishield-requests"] == 20
    assert read["parameters"][0]["schema"] == {"type": "integer"}
    assert doc["paths"]["/v1/debug/{id}"]["get"]["x-apishield-documented"] is False


def test_other_methods_are_listed_outside_paths() -> None:
    doc = export_openapi(
        [endpoint("PROPFIND", "/dav"), endpoint("GET", "/dav")], title="t", version="1"
    )
    assert_valid(doc)
    assert doc["x-apishield-other-methods"] == [
        {"method": "PROPFIND", "path": "/dav", "host": "api.example.com"}
    ]


def test_export_is_deterministic() -> None:
    first = export_openapi(inventory(), title="t", version="1")
    again = export_openapi(list(reversed(inventory())), title="t", version="1")
    assert orjson.dumps(first) == orjson.dumps(again)

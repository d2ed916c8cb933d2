from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest

from apishield.inventory.diff import (
    OperationUse,
    ParamIssue,
    ShadowEndpoint,
    StatusIssue,
    diff_spec,
)
from apishield.inventory.endpoint import Endpoint, ParamStats
from apishield.inventory.spec import ApiSpec, spec_from_document

CORPORA = Path(__file__).parents[3] / "shared" / "corpora" / "openapi"
T0 = 1_700_000_000.0


def endpoint(
    method: str,
    template: str,
    *,
    params: tuple[tuple[str, str, str], ...] = (),
    statuses: dict[int, int] | None = None,
    sample_path: str = "",
) -> Endpoint:
    statuses = {200: 10} if statuses is None else statuses
    found = Endpoint(
        method,
        "api.example.com",
        template,
        requests=sum(statuses.values()),
        first_seen=T0,
        last_seen=T0 + 60,
        statuses=Counter(statuses),
        sample_path=sample_path,
    )
    for location, name, kind in params:
        found.params[(location, name)] = ParamStats(location, name, 10, Counter({kind: 10}))
    return found


def param(name: str, where: str = "query", **schema: Any) -> dict[str, Any]:
    return {"name": name, "in": where, "required": where == "path", "schema": schema}


def op(*codes: str, **extra: Any) -> dict[str, Any]:
    return {"responses": {code: {"description": code} for code in codes or ("200",)}} | extra


CUSTOMER_ID = param("customerId", "path", type="integer")

SPEC = spec_from_document(
    {
        "openapi": "3.0.3",
        "info": {"title": "Shop", "version": "1"},
        "servers": [{"url": "https://api.example.com/v1"}],
        "paths": {
            "/customers/{customerId}": {
                "parameters": [CUSTOMER_ID],
                "get": op("200", "404", operationId="getCustomer", parameters=[param("fields")]),
                "delete": op("204", operationId="deleteCustomer", deprecated=True),
            },
            "/customers/{customerId}/orders": {"get": op(operationId="listOrders")},
            "/search": {"get": op(parameters=[param("limit", type="integer")])},
            "/orders": {"post": op("201", "4XX", operationId="createOrder")},
            "/users/me": {"get": op(operationId="me")},
        },
    }
)


def traffic() -> list[Endpoint]:
    return [
        endpoint(
            "GET",
            "/v1/customers/{id}",
            params=(
                ("path", "id", "integer"),
                ("query", "fields", "string"),
                ("query", "debug", "boolean"),
            ),
            statuses={200: 40, 404: 2, 500: 1},
        ),
        endpoint("DELETE", "/v1/customers/{id}", statuses={204: 3}),
        endpoint("GET", "/v1/internal/export", statuses={200: 7}),
        endpoint("GET", "/v1/search", params=(("query", "limit", "string"),)),
        endpoint("POST", "/v1/orders", statuses={201: 5, 422: 2, 503: 1}),
        endpoint("GET", "/v1/users/{id}", sample_path="/v1/users/me"),
        endpoint("GET", "/v1/never", statuses={}),
    ]


def test_shadow_endpoints_are_traffic_the_spec_does_not_describe() -> None:
    diff = diff_spec(traffic(), SPEC)
    assert diff.shadow == [
        ShadowEndpoint("GET", "api.example.com", "/v1/internal/export", 7, T0 + 60)
    ]
    assert diff.documented == 5


def test_unused_operations_had_no_traffic() -> None:
    diff = diff_spec(traffic(), SPEC)
    assert diff.unused == [OperationUse("GET", "/v1/customers/{customerId}/orders", "listOrders")]


def test_deprecated_operations_still_called_are_flagged() -> None:
    diff = diff_spec(traffic(), SPEC)
    assert diff.deprecated_in_use == [
        OperationUse("DELETE", "/v1/customers/{customerId}", "deleteCustomer", 3, T0 + 60)
    ]


def test_undocumented_query_parameters() -> None:
    diff = diff_spec(traffic(), SPEC)
    assert diff.undocumented_params == [
        ParamIssue("GET", "/v1/customers/{customerId}", "query", "debug", "boolean", 10)
    ]


def test_type_disagreements() -> None:
    diff = diff_spec(traffic(), SPEC)
    assert diff.type_mismatches == [
        ParamIssue("GET", "/v1/search", "query", "limit", "string", 10, "integer")
    ]


def test_undocumented_status_codes() -> None:
    diff = diff_spec(traffic(), SPEC)
    assert diff.undocumented_statuses == [
        StatusIssue("GET", "/v1/customers/{customerId}", 500, 1),
        StatusIssue("POST", "/v1/orders", 503, 1),
    ], "422 is covered by 4XX"


def test_summary_and_json() -> None:
    diff = diff_spec(traffic(), SPEC)
    assert diff.summary() == {
        "documented": 5,
        "shadow": 1,
        "unused": 1,
        "deprecated_in_use": 1,
        "undocumented_params": 1,
        "type_mismatches": 1,
        "undocumented_statuses": 2,
    }
    data = json.loads(orjson.dumps(diff.to_dict()))
    assert data["summary"] == diff.summary()
    assert data["shadow"][0]["template"] == "/v1/internal/export"
    assert data["type_mismatches"][0] == {
        "method": "GET",
        "path": "/v1/search",
        "location": "query",
        "name": "limit",
        "observed": "string",
        "seen": 10,
        "documented": "integer",
    }


def one_param_spec(schema: dict[str, Any], responses: tuple[str, ...] = ("200",)) -> ApiSpec:
    parameters = [{"name": "v", "in": "query", "schema": schema}]
    doc = {
        "openapi": "3.1.0",
        "info": {"title": "t", "version": "1"},
        "paths": {"/x": {"get": op(*responses, parameters=parameters)}},
    }
    return spec_from_document(doc)


@pytest.mark.parametrize(
    ("schema", "observed", "documented"),
    [
        ({"type": "integer"}, "integer", None),
        ({"type": "integer"}, "uuid", "integer"),
        ({"type": "number"}, "integer", None),
        ({"type": "integer"}, "number", "integer"),
        ({"type": "boolean"}, "string", "boolean"),
        ({"type": ["integer", "null"]}, "integer", None),
        ({"type": ["integer", "boolean"]}, "boolean", None),
        ({"type": "string"}, "integer", None),
        ({"type": "string", "format": "uuid"}, "uuid", None),
        ({"type": "string", "format": "uuid"}, "string", "string (uuid)"),
        ({"type": "string", "format": "date-time"}, "date", "string (date-time)"),
        ({"type": "string", "format": "snowflake"}, "string", None),
        ({"type": "array", "items": {"type": "integer"}}, "string", None),
        ({}, "hex", None),
    ],
)
def test_which_types_disagree(
    schema: dict[str, Any], observed: str, documented: str | None
) -> None:
    diff = diff_spec(
        [endpoint("GET", "/x", params=(("query", "v", observed),))], one_param_spec(schema)
    )
    found = [issue.documented for issue in diff.type_mismatches]
    assert found == ([documented] if documented else [])


def test_default_response_documents_every_status() -> None:
    spec = one_param_spec({}, responses=("200", "default"))
    diff = diff_spec([endpoint("GET", "/x", statuses={200: 1, 500: 1, 302: 1})], spec)
    assert diff.undocumented_statuses == []


def test_against_twilio() -> None:
    path = CORPORA / "twilio_api_v2010.json"
    if not path.exists():
        pytest.skip(f"{path} is absent: the OpenAPI corpora live in shared/ beside the repo")
    spec = spec_from_document(orjson.loads(path.read_bytes()))
    learned = [
        endpoint("GET", "/2010-04-01/Accounts/{id}/Calls/{id}.json", statuses={200: 3, 418: 1}),
        endpoint(
            "GET",
            "/2010-04-01/Accounts/{id}/Messages.json",
            params=(("query", "PageSize", "string"), ("query", "Verbose", "boolean")),
        ),
        endpoint("GET", "/2010-04-01/Accounts/{id}/Secrets.json"),
    ]
    diff = diff_spec(learned, spec)
    assert [s.template for s in diff.shadow] == ["/2010-04-01/Accounts/{id}/Secrets.json"]
    assert len(diff.unused) == 197 - 2
    assert [(s.path, s.status) for s in diff.undocumented_statuses] == [
        ("/2010-04-01/Accounts/{AccountSid}/Calls/{Sid}.json", 418)
    ]
    assert [i.name for i in diff.undocumented_params] == ["Verbose"]
    assert [(i.name, i.documented) for i in diff.type_mismatches] == [("PageSize", "integer")]

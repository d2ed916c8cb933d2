from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from apishield.inventory.spec import (
    ApiSpec,
    SpecDocumentError,
    SpecOperation,
    json_path,
    spec_from_document,
    template_key,
)

CORPORA = Path(__file__).parents[3] / "shared" / "corpora" / "openapi"


def corpus(name: str) -> Any:
    path = CORPORA / name
    if not path.exists():
        pytest.skip(f"{path} is absent: the OpenAPI corpora live in shared/ beside the repo")
    text = path.read_text(encoding="utf-8")
    return json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)


def openapi(paths: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"openapi": "3.0.3", "info": {"title": "T", "version": "1"}, "paths": paths} | extra


def get(**op: Any) -> dict[str, Any]:
    return {"get": {"responses": {"200": {"description": "ok"}}} | op}


SWAGGER: dict[str, Any] = {
    "swagger": "2.0",
    "info": {"title": "Shop", "version": "2"},
    "basePath": "/v1/",
    "securityDefinitions": {
        "key": {"type": "apiKey", "in": "header", "name": "X-Key"},
        "user": {"type": "basic"},
        "oauth": {
            "type": "oauth2",
            "flow": "implicit",
            "authorizationUrl": "https://x",
            "scopes": {},
        },
    },
    "security": [{"key": []}],
    "parameters": {"Limit": {"name": "limit", "in": "query", "type": "integer", "maximum": 100}},
    "paths": {
        "/customers/{customerId}": {
            "parameters": [
                {"name": "customerId", "in": "path", "required": True, "type": "string"},
                {"$ref": "#/parameters/Limit"},
            ],
            "get": {
                "operationId": "getCustomer",
                "summary": "One customer",
                "parameters": [
                    {"name": "customerId", "in": "path", "required": True, "type": "integer"}
                ],
                "responses": {
                    "200": {"description": "ok", "schema": {"$ref": "#/definitions/Customer"}}
                },
            },
            "put": {
                "deprecated": True,
                "security": [{"user": []}, {"oauth": []}],
                "parameters": [
                    {"name": "body", "in": "body", "schema": {"$ref": "#/definitions/Customer"}}
                ],
                "responses": {"204": {"description": "done"}},
            },
        },
        "/login": {
            "post": {
                "security": [],
                "parameters": [
                    {"name": "user", "in": "formData", "type": "string", "required": True},
                    {"name": "X-Trace", "in": "header", "type": "string"},
                ],
                "responses": {"default": {"description": "any"}},
            }
        },
    },
    "definitions": {
        "Customer": {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "referrer": {"$ref": "#/definitions/Customer"},
                "default": {"$ref": "#/definitions/Address"},
            },
        },
        "Address": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def test_swagger_2_reads_base_path_parameters_bodies_and_security() -> None:
    spec = spec_from_document(SWAGGER)
    assert (spec.title, spec.version, spec.openapi_version) == ("Shop", "2", "2.0")
    assert spec.base_paths == ("/v1",)
    assert spec.paths == ["/v1/customers/{customerId}", "/v1/login"]
    get_op = spec.operations[0]
    assert (get_op.method, get_op.operation_id, get_op.summary) == (
        "GET",
        "getCustomer",
        "One customer",
    )
    params = {p.name: p for p in get_op.parameters}
    assert params["customerId"].schema == {"type": "integer"}, "operation level wins"
    assert params["limit"].schema == {"type": "integer", "maximum": 100}
    assert params["limit"].required is False and params["customerId"].required is True
    assert get_op.security == ("api_key",)
    assert get_op.response_schemas["200"]["properties"]["id"] == {"type": "integer"}
    put_op = spec.operations[1]
    assert put_op.deprecated and put_op.security == ("basic", "oauth2")
    assert put_op.request_schema is not None and put_op.request_schema["type"] == "object"
    assert put_op.response_schemas == {"204": {}}
    login = spec.operations[2]
    assert login.security == ()
    assert login.request_schema == {
        "type": "object",
        "properties": {"user": {"type": "string"}},
        "required": ["user"],
    }
    assert [(p.name, p.location) for p in login.parameters] == [("x-trace", "header")]
    assert spec.warnings == []


def test_recursive_schemas_are_cut_where_a_ref_repeats() -> None:
    customer = spec_from_document(SWAGGER).operations[0].response_schemas["200"]
    assert customer["properties"]["referrer"] == {"x-apishield-cut": "#/definitions/Customer"}
    assert customer["properties"]["default"]["properties"]["city"] == {"type": "string"}, (
        "a property named like a keyword is still a schema"
    )


SERVERS = [
    {
        "url": "https://{env}.example.com/{base}/",
        "variables": {"env": {"default": "api"}, "base": {"default": "v2"}},
    },
    {"url": "https://sandbox.example.com/beta"},
]

SCHEMES = {
    "jwt": {"type": "http", "scheme": "bearer"},
    "session": {"type": "apiKey", "in": "cookie", "name": "sid"},
    "oidc": {"type": "openIdConnect", "openIdConnectUrl": "https://x"},
}


def test_openapi_3_servers_security_and_bodies() -> None:
    doc = openapi(
        {
            "/": get(),
            "/me": get(security=[{"session": []}, {}]),
            "/orders": {
                "servers": [{"url": "/internal"}],
                "post": {
                    "security": [{"jwt": [], "oidc": []}],
                    "requestBody": {"$ref": "#/components/requestBodies/Order"},
                    "responses": {"201": {"$ref": "#/components/responses/Created"}, "4XX": {}},
                },
            },
        },
        servers=SERVERS,
        security=[{"jwt": []}],
        components={
            "securitySchemes": SCHEMES,
            "requestBodies": {
                "Order": {
                    "content": {
                        "text/plain": {"schema": {"type": "string"}},
                        "application/vnd.shop+json; charset=utf-8": {"schema": {"type": "object"}},
                    }
                }
            },
            "responses": {
                "Created": {
                    "description": "made",
                    "content": {"application/json": {"schema": {"type": "integer"}}},
                }
            },
        },
    )
    spec = spec_from_document(doc)
    assert spec.base_paths == ("/v2", "/beta")
    assert spec.paths == ["/v2", "/v2/me", "/internal/orders"]
    root, me, orders = spec.operations
    assert root.security == ("bearer",) and me.security == ()
    assert orders.security == ("bearer", "openid")
    assert orders.request_schema == {"type": "object"}
    assert orders.response_schemas == {"201": {"type": "integer"}, "4XX": {}}


def test_parameters_merge_resolve_refs_and_read_content() -> None:
    doc = openapi(
        {
            "/items/{id}": {
                "parameters": [
                    {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}},
                    {"$ref": "#/components/parameters/Filter"},
                ],
                "get": {
                    "parameters": [
                        {"name": "id", "in": "path", "schema": {"$ref": "#/components/schemas/Id"}},
                        {"name": "X-Tenant", "in": "header", "required": True, "schema": {}},
                    ],
                    "responses": {"200": {"description": "ok"}},
                },
            }
        },
        components={
            "schemas": {"Id": {"type": "integer", "format": "int64"}},
            "parameters": {
                "Filter": {
                    "name": "filter",
                    "in": "query",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                }
            },
        },
    )
    (op,) = spec_from_document(doc).operations
    params = {(p.location, p.name): p for p in op.parameters}
    assert params["path", "id"].schema == {"type": "integer", "format": "int64"}
    assert params["path", "id"].required is True, "path parameters are always required"
    assert params["query", "filter"].schema == {"type": "object"}
    assert params["header", "x-tenant"].required is True


def test_unusable_parts_are_skipped_with_warnings_naming_where() -> None:
    doc = openapi(
        {
            "/broken": {"get": "oops"},
            "/ok": get(
                parameters=[
                    {"in": "query"},
                    {"name": "q", "in": "body-ish"},
                    {"name": "x", "in": "query", "schema": {"$ref": "#/components/schemas/Nope"}},
                    {"name": "y", "in": "query", "schema": {"$ref": "other.yaml#/Y"}},
                ],
                security=[{"undefined": []}],
            ),
        }
    )
    spec = spec_from_document(doc)
    assert spec.paths == ["/ok"]
    assert spec.operations[0].security == ()
    assert {p.name: p.schema for p in spec.operations[0].parameters} == {"x": {}, "y": {}}
    text = "\n".join(spec.warnings)
    assert '$.paths["/broken"].get: operation is not an object' in text
    assert '$.paths["/ok"].get.parameters[0]: parameter without a name' in text
    assert "parameters[1].in: unknown location 'body-ish'" in text
    assert "'#/components/schemas/Nope' does not resolve" in text
    assert "'other.yaml#/Y' points into another document, which is never fetched" in text
    assert "scheme 'undefined' is not defined" in text


@pytest.mark.parametrize(
    ("doc", "pointer", "words"),
    [
        (["not", "a", "dict"], "$", "expected an object, got list"),
        ({"info": {}, "paths": {}}, "$", "no openapi or swagger version field"),
        ({"swagger": "1.2", "paths": {}}, "$.swagger", "unsupported version '1.2'"),
        ({"openapi": "4.0", "paths": {}}, "$.openapi", "unsupported version '4.0'"),
        ({"openapi": "3.1.0", "paths": ["/a"]}, "$.paths", "is a list"),
    ],
)
def test_documents_that_are_not_api_descriptions_are_refused(
    doc: Any, pointer: str, words: str
) -> None:
    with pytest.raises(SpecDocumentError) as caught:
        spec_from_document(doc, source="api.yaml")
    assert caught.value.pointer == pointer
    assert str(caught.value).startswith(f"api.yaml: {pointer}: {words}. ")


def test_json_path_is_readable_for_path_templates() -> None:
    assert json_path(["paths", "/users/{id}", "get", "parameters", 2]) == (
        '$.paths["/users/{id}"].get.parameters[2]'
    )


ROUTES = openapi(
    {
        "/users/{userId}": get(operationId="user"),
        "/users/me": get(operationId="me"),
        "/users/{userId}/posts/{postId}": get(operationId="post"),
        "/users/me/posts/latest": get(operationId="latest"),
        "/files/{name}.json": get(operationId="json-file"),
        "/files/{name}": get(operationId="file"),
        "/": get(operationId="root"),
    },
    servers=[{"url": "https://api.example.com/v1"}],
)


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/v1/users/42", "user"),
        ("GET", "/v1/users/me", "me"),
        ("GET", "/v1/users/me/", "me"),
        ("get", "/v1/users/me", "me"),
        ("HEAD", "/v1/users/me", "me"),
        ("GET", "/v1/users/me/posts/7", "post"),
        ("GET", "/v1/users/me/posts/latest", "latest"),
        ("GET", "/v1/files/report.json", "json-file"),
        ("GET", "/v1/files/report.csv", "file"),
        ("GET", "/v1", "root"),
        ("GET", "/v1/users//posts/1", None),
        ("POST", "/v1/users/42", None),
        ("GET", "/users/42", None),
        ("GET", "/v1/users/42/extra", None),
    ],
)
def test_match_path_prefers_literal_segments(method: str, path: str, expected: str | None) -> None:
    op = spec_from_document(ROUTES).match_path(method, path)
    assert (op.operation_id if op else None) == expected


def test_match_ignores_parameter_names() -> None:
    spec = spec_from_document(ROUTES)
    assert spec.match("GET", "/v1/users/{id}/posts/{n}") is spec.operations[2]
    assert spec.match("GET", "/v1/users/{id}/posts/{n}/") is spec.operations[2]
    assert spec.match("HEAD", "/v1/files/{f}.json") is spec.operations[4]
    assert spec.match("GET", "/v1/users/{id}/comments") is None
    assert template_key("/a/{x}/b{y}.json/") == "a/{}/b{}.json"


def test_match_sees_operations_added_after_construction() -> None:
    spec = ApiSpec(title="t", version="1", openapi_version="3.1.0")
    assert spec.match_path("GET", "/a/1") is None
    spec.operations.append(SpecOperation("GET", "/a/{id}", "a", "", False, (), ()))
    assert spec.match_path("GET", "/a/1") is spec.operations[0]


def test_twilio_reads_every_operation() -> None:
    spec = spec_from_document(corpus("twilio_api_v2010.json"))
    assert spec.openapi_version == "3.0.1" and spec.base_paths == ("/",)
    assert len(spec.operations) == 197
    assert len(spec.paths) == 116, "5 of the 121 path items hold no operation"
    assert {op.security for op in spec.operations} == {("basic",)}
    assert spec.warnings == []
    update = spec.match("POST", "/2010-04-01/Accounts/{AccountSid}.json")
    assert update is not None and update.operation_id == "UpdateAccount"
    assert update.request_schema is not None
    assert set(update.request_schema["properties"]) == {"FriendlyName", "Status"}
    assert spec.match_path("GET", "/2010-04-01/Accounts/AC123.json") is spec.match(
        "GET", "/2010-04-01/Accounts/{Sid}.json"
    )


def test_discord_3_1_prefixes_paths_with_the_server_path() -> None:
    spec = spec_from_document(corpus("discord_openapi.json"))
    assert spec.openapi_version == "3.1.0" and spec.base_paths == ("/api/v10",)
    assert len(spec.operations) == 242
    assert all(path.startswith("/api/v10/") for path in spec.paths)
    me = spec.match_path("GET", "/api/v10/applications/@me")
    other = spec.match_path("GET", "/api/v10/applications/1234")
    assert me is not None and me.operation_id == "get_my_application"
    assert other is not None and other.operation_id == "get_application"
    assert other.security == ("api_key",)
    assert other.response_schemas["200"]["properties"]["icon"] == {"type": ["string", "null"]}


def test_vonage_yaml_reads_form_bodies_and_enums() -> None:
    spec = spec_from_document(corpus("vonage_sms.yml"))
    (op,) = spec.operations
    assert op.path == "/sms/{format}" and op.operation_id == "send-an-sms"
    assert op.parameters[0].schema["enum"] == ["json", "xml"]
    assert op.request_schema is not None
    assert {"api_key", "to", "from"} <= set(op.request_schema["properties"])

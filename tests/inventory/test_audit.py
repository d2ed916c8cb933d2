"""The spec audit: each rule fires on the risky shape and stays quiet on the safe one."""

from __future__ import annotations

from typing import Any

from apishield.exchange import Severity
from apishield.inventory.audit import audit
from apishield.inventory.spec import spec_from_document

PERSON = {
    "type": "object",
    "properties": {"id": {"type": "string"}, "email": {"type": "string"}},
}
BEARER = {"bearer": {"type": "http", "scheme": "bearer"}}


def _spec(paths: dict[str, Any], *, secured: bool = True) -> Any:
    document: dict[str, Any] = {
        "openapi": "3.0.3",
        "info": {"title": "audited", "version": "1"},
        "paths": paths,
        "components": {"securitySchemes": BEARER},
    }
    if secured:
        document["security"] = [{"bearer": []}]
    return spec_from_document(document)


def _answer(schema: dict[str, Any]) -> dict[str, Any]:
    content = {"application/json": {"schema": schema}}
    return {"200": {"description": "ok", "content": content}}


def _found(paths: dict[str, Any], secured: bool = True) -> dict[tuple[str, str, str], Severity]:
    return {(f.rule, f.method, f.path): f.severity for f in audit(_spec(paths, secured=secured))}


def test_an_operation_anyone_may_call_is_graded_by_what_it_does() -> None:
    found = _found(
        {
            "/customers/{cid}": {
                "get": {"parameters": [_path("cid", "string")], "responses": _answer(PERSON)}
            },
            "/orders": {"post": {"responses": {"201": {"description": "made"}}}},
            "/plans": {"get": {"responses": _answer({"type": "array"})}},
            "/auth/login": {"post": {"responses": _answer(PERSON)}},
        },
        secured=False,
    )
    assert found[("audit.unauthenticated", "GET", "/customers/{cid}")] is Severity.HIGH
    assert found[("audit.unauthenticated", "POST", "/orders")] is Severity.HIGH
    assert found[("audit.unauthenticated", "GET", "/plans")] is Severity.LOW
    # A sign-in is called without credentials by design, but should not hand out records.
    assert ("audit.unauthenticated", "POST", "/auth/login") not in found
    assert found[("audit.public-personal-data", "POST", "/auth/login")] is Severity.MEDIUM
    assert not any(rule == "audit.unauthenticated" for rule, *_ in _found(
        {"/plans": {"get": {"responses": _answer({"type": "array"})}}}
    ))  # fmt: skip


def _path(name: str, kind: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": kind}}


def test_integer_object_ids_are_guessable_and_uuids_are_not() -> None:
    found = _found(
        {
            "/accounts/{accountId}": {
                "get": {"parameters": [_path("accountId", "integer")], "responses": _answer({})}
            },
            "/orders/{orderId}": {
                "get": {"parameters": [_path("orderId", "string")], "responses": _answer({})}
            },
        }
    )
    assert found[("audit.guessable-id", "GET", "/accounts/{accountId}")] is Severity.MEDIUM
    assert ("audit.guessable-id", "GET", "/orders/{orderId}") not in found


def test_secrets_in_answers_outside_the_operation_that_issues_them() -> None:
    keyed = {"type": "object", "properties": {"sid": {"type": "string"}, "auth_token": {}}}
    found = _found(
        {
            "/accounts/{sid}": {
                "get": {"parameters": [_path("sid", "string")], "responses": _answer(keyed)}
            },
            "/keys": {"post": {"responses": _answer(keyed)}},
        }
    )
    assert found[("audit.secret-in-answer", "GET", "/accounts/{sid}")] is Severity.HIGH
    assert ("audit.secret-in-answer", "POST", "/keys") not in found


def test_credentials_in_the_url_outside_a_security_scheme() -> None:
    token = {"name": "webhook_token", "in": "path", "required": True, "schema": {"type": "string"}}
    found = _found(
        {"/webhooks/{id}/{webhook_token}": {"post": {"parameters": [_path("id", "string"), token],
                                                      "responses": _answer({})}}},
        secured=False,
    )  # fmt: skip
    key = ("audit.credentials-in-request", "POST", "/webhooks/{id}/{webhook_token}")
    assert found[key] is Severity.MEDIUM
    assert ("audit.unauthenticated", "POST", "/webhooks/{id}/{webhook_token}") not in found


def test_open_request_bodies_and_page_sizes_without_a_ceiling() -> None:
    body = {"type": "object", "properties": {"name": {"type": "string"}}}
    closed = {**body, "additionalProperties": False}
    limit = {"name": "limit", "in": "query", "schema": {"type": "integer"}}
    capped = {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 100}}
    found = _found(
        {
            "/open": {"post": {"requestBody": _body(body), "responses": _answer({})}},
            "/closed": {"post": {"requestBody": _body(closed), "responses": _answer({})}},
            "/all": {"get": {"parameters": [limit], "responses": _answer({})}},
            "/some": {"get": {"parameters": [capped], "responses": _answer({})}},
        }
    )
    assert found[("audit.open-request-body", "POST", "/open")] is Severity.LOW
    assert ("audit.open-request-body", "POST", "/closed") not in found
    assert found[("audit.unbounded-page", "GET", "/all")] is Severity.MEDIUM
    assert ("audit.unbounded-page", "GET", "/some") not in found


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def test_deprecated_operations_and_old_versions_beside_new_ones() -> None:
    found = _found(
        {
            "/v1/customers": {"get": {"responses": _answer({})}},
            "/v2/customers": {"get": {"responses": _answer({})}},
            "/v1/plans": {"get": {"responses": _answer({})}},
            "/v2/legacy": {"get": {"deprecated": True, "responses": _answer({})}},
        }
    )
    assert found[("audit.old-version", "GET", "/v1/customers")] is Severity.MEDIUM
    assert ("audit.old-version", "GET", "/v1/plans") not in found  # no newer one beside it
    assert found[("audit.deprecated", "GET", "/v2/legacy")] is Severity.LOW


def test_findings_come_most_severe_first_with_their_category_and_fix() -> None:
    findings = audit(
        _spec(
            {
                "/a": {"post": {"requestBody": _body({"properties": {"x": {}}}), "responses": {}}},
                "/b": {"delete": {"responses": {}}},
            },
            secured=False,
        )
    )
    assert [f.severity for f in findings] == sorted((f.severity for f in findings), reverse=True)
    assert all(f.category.startswith("API") and f.fix for f in findings)


def test_personal_data_in_urls_and_sign_ins_without_a_documented_limit() -> None:
    email = {"name": "email", "in": "query", "schema": {"type": "string"}}
    msisdn = {"name": "msisdn", "in": "path", "required": True, "schema": {"type": "string"}}
    limited = {"200": {"description": "ok"}, "429": {"description": "slow down"}}
    found = _found(
        {
            "/users": {"get": {"parameters": [email], "responses": _answer({})}},
            "/numbers/{msisdn}": {"get": {"parameters": [msisdn], "responses": _answer({})}},
            "/auth/login": {"post": {"security": [], "responses": {"200": {"description": "ok"}}}},
            "/auth/token": {"post": {"security": [], "responses": limited}},
            "/keys/tokens": {"post": {"responses": {"200": {"description": "ok"}}}},
        }
    )
    assert found[("audit.personal-data-in-url", "GET", "/users")] is Severity.MEDIUM
    assert found[("audit.personal-data-in-url", "GET", "/numbers/{msisdn}")] is Severity.MEDIUM
    assert found[("audit.sign-in-without-rate-limit", "POST", "/auth/login")] is Severity.LOW
    assert ("audit.sign-in-without-rate-limit", "POST", "/auth/token") not in found
    # Issuing tokens to a caller that already signed in is not a sign-in.
    assert ("audit.sign-in-without-rate-limit", "POST", "/keys/tokens") not in found

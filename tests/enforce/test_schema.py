"""OpenAPI validation per endpoint, on real specs: the demo telco API (with the simulator's own
answers), Discord (3.1), Twilio (3.0, form bodies) and small Swagger 2.0 and 3.1 documents."""

from __future__ import annotations

import json
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apishield.checks import Check, CheckContext, CheckStage, Phase
from apishield.enforce.schema import (
    MASS_ASSIGNMENT,
    REQUEST_INVALID,
    RESPONSE_UNDOCUMENTED,
    Override,
    SchemaSettings,
    SchemaValidation,
    shown,
)
from apishield.exchange import Action, Exchange, Finding, Severity
from apishield.inventory.spec import ApiSpec, spec_from_document
from apishield.sim.telco import bodies
from apishield.sim.telco.api import TelcoApi
from apishield.sim.telco.population import Customer, Population, build_population, password_of
from apishield.testing import make_exchange

CORPORA = Path(__file__).parents[3] / "shared" / "corpora" / "openapi"
HOST = "api.telco.example"


def corpus(name: str) -> ApiSpec:
    path = CORPORA / name
    if not path.exists():
        pytest.skip(f"{path} is absent: the OpenAPI corpora live in shared/ beside the repo")
    return spec_from_document(json.loads(path.read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def telco() -> ApiSpec:
    raw = resources.files("apishield.sim").joinpath("data/telco-openapi.yaml").read_bytes()
    return spec_from_document(yaml.safe_load(raw))


@pytest.fixture(scope="module")
def discord() -> ApiSpec:
    return corpus("discord_openapi.json")


@pytest.fixture(scope="module")
def twilio() -> ApiSpec:
    return corpus("twilio_api_v2010.json")


@pytest.fixture(scope="module")
def population() -> Population:
    return build_population(3, 400)


def request(
    method: str,
    path: str,
    body: Any = None,
    *,
    route: str | None = None,
    form: bool = False,
    query: str = "",
    headers: dict[str, str] | None = None,
) -> Exchange:
    media = "application/x-www-form-urlencoded" if form else "application/json"
    raw = body if isinstance(body, bytes) or body is None else orjson.dumps(body)
    exchange = make_exchange(
        method,
        path,
        query=query,
        headers={"host": HOST, "content-type": media, **(headers or {})},
        body=raw,
        status=None,
    )
    exchange.route = route
    return exchange


def answer(method: str, path: str, body: Any, status: int = 200) -> Exchange:
    return make_exchange(
        method,
        path,
        status=status,
        response_headers={"content-type": "application/json"},
        response_body=body if isinstance(body, bytes) else orjson.dumps(body),
    )


def rules(findings: list[Finding]) -> set[str]:
    return {f.rule_id for f in findings}


def one(findings: list[Finding], rule_id: str) -> Finding:
    (finding,) = [f for f in findings if f.rule_id == rule_id]
    return finding


def evidence_text(findings: list[Finding]) -> str:
    return " ".join(f"{k}={v}" for f in findings for k, v in f.evidence.items())


# -- the demo telco API ----------------------------------------------------------------------


def login_body(population: Population, customer: Customer) -> dict[str, str]:
    return {
        "username": customer.email,
        "password": password_of(population.seed, customer.customer_id),
    }


def test_every_documented_answer_of_the_simulator_conforms(
    telco: ApiSpec, population: Population
) -> None:
    api = TelcoApi(population)
    validation = SchemaValidation(telco)
    customer = population.subscribers[0]
    login = request("POST", "/v2/auth/login", login_body(population, customer))
    login.response = api.handle(login.request, login.started)
    token = orjson.loads(login.response.body or b"")["access_token"]
    line = customer.lines[0]
    paths = [
        "/health",
        "/v2/plans",
        f"/v2/customers/{customer.customer_id}",
        f"/v2/customers/{customer.customer_id}/lines",
        f"/v2/customers/{customer.customer_id}/lines/{line.msisdn}",
        f"/v2/accounts/{customer.account_number}/bills",
        f"/v2/numbers/{line.msisdn}/lookup",
        f"/v1/customers/{customer.customer_id}",
        "/v2/customers/1",  # a 404 with the documented error body
    ]
    exchanges = [login]
    for path in paths:
        exchange = request("GET", path, headers={"authorization": f"Bearer {token}"})
        exchange.response = api.handle(exchange.request, exchange.started)
        exchanges.append(exchange)
    answered = set()
    for exchange in exchanges:
        assert exchange.response is not None
        answered.add(exchange.response.status)
        assert validation.check_request(exchange) == [], exchange.request.path
        assert validation.check_response(exchange) == [], exchange.request.path
    assert answered == {200, 404}


def test_mass_assignment_on_login_names_the_fields_and_no_values(
    telco: ApiSpec, population: Population
) -> None:
    sent = {"role": "superuser", "is_admin": 1}
    body: dict[str, Any] = {**login_body(population, population.subscribers[0]), **sent}
    findings = SchemaValidation(telco).check_request(request("POST", "/v2/auth/login", body))
    finding = one(findings, MASS_ASSIGNMENT)
    assert finding.severity is Severity.MEDIUM and finding.category == "API3:2023"
    assert finding.evidence == {
        "operation": "POST /v2/auth/login",
        "mode": "log",
        "fields": "$.is_admin, $.role",
        "count": "2",
    }
    assert rules(findings) == {MASS_ASSIGNMENT}
    text = evidence_text(findings)
    assert body["password"] not in text and "superuser" not in text


def test_operator_injection_shapes_are_medium_and_client_slips_low(telco: ApiSpec) -> None:
    validation = SchemaValidation(telco)
    nosql = validation.check_request(
        request("POST", "/v2/auth/login", {"username": {"$ne": None}, "password": {"$gt": ""}})
    )
    finding = one(nosql, REQUEST_INVALID)
    assert finding.severity is Severity.MEDIUM
    assert (
        finding.evidence["problems"] == "$.username: expected string; $.password: expected string"
    )
    slip = validation.check_request(request("POST", "/v2/auth/password-reset", {"user": "a@b.c"}))
    assert rules(slip) == {MASS_ASSIGNMENT, REQUEST_INVALID}
    invalid = one(slip, REQUEST_INVALID)
    assert (
        invalid.severity is Severity.LOW and invalid.evidence["problems"] == "$: missing username"
    )
    assert "a@b.c" not in evidence_text(slip)


def test_an_answer_that_dumps_a_whole_record_is_excessive_exposure(
    telco: ApiSpec, population: Population
) -> None:
    customer = population.subscribers[1]
    leaked = bodies.fixture_record(customer)  # what the internal test endpoint dumps
    exchange = answer("GET", f"/v2/customers/{customer.customer_id}", leaked)
    findings = SchemaValidation(telco).check_response(exchange)
    finding = one(findings, RESPONSE_UNDOCUMENTED)
    assert finding.severity is Severity.MEDIUM and finding.category == "API3:2023"
    assert finding.evidence == {
        "operation": "GET /v2/customers/{customer_id}",
        "status": "200",
        "fields": "$.dob, $.id, $.password_hash",
        "count": "3",
        "stripped": "false",
    }
    text = evidence_text(findings)
    assert customer.password_hash not in text and customer.date_of_birth not in text


def test_strip_returns_the_answer_without_what_the_spec_does_not_document(
    telco: ApiSpec, population: Population
) -> None:
    customer = population.subscribers[1]
    leaked = bodies.fixture_record(customer)
    settings = SchemaSettings(
        endpoints={"GET /v2/customers/{id}": Override(strip_undocumented=True)}
    )
    validation = SchemaValidation(telco, settings)
    validation.enforced = True  # as an enforcing in-line guard sets it
    exchange = answer("GET", f"/v2/customers/{customer.customer_id}", leaked)
    assert validation.strips(exchange)
    stripped = orjson.loads(validation.strip(exchange) or b"")
    assert stripped == {k: v for k, v in leaked.items() if k not in ("id", "dob", "password_hash")}
    assert one(validation.check_response(exchange), RESPONSE_UNDOCUMENTED).evidence["stripped"] == (
        "true"
    )
    profile = TelcoApi(population).bodies.profile(customer)
    documented = answer("GET", f"/v2/customers/{customer.customer_id}", profile)
    assert validation.strips(documented) and validation.strip(documented) is None
    other = answer("GET", "/v2/plans", orjson.loads(bodies.PLANS))
    assert not validation.strips(other) and validation.strip(other) is None


def test_the_evidence_says_stripped_only_where_answers_are_altered(
    telco: ApiSpec, population: Population
) -> None:
    """Only an enforcing guard strips: in replay, and under enforce.mode monitor or off, the
    evidence must not claim it did."""
    customer = population.subscribers[1]
    validation = SchemaValidation(telco, SchemaSettings(strip_undocumented=True))
    exchange = answer(
        "GET", f"/v2/customers/{customer.customer_id}", bodies.fixture_record(customer)
    )

    def stripped() -> str:
        return one(validation.check_response(exchange), RESPONSE_UNDOCUMENTED).evidence["stripped"]

    assert not validation.enforced and stripped() == "false"  # a replay strips nothing
    validation.enforced = True
    assert stripped() == "true"
    validation.enforced = False
    assert stripped() == "false"
    assert SchemaValidation(telco).check_response(exchange)[0].evidence["stripped"] == "false"


# -- real public specs -------------------------------------------------------------------------


def test_discord_mass_assignment_on_the_own_user(discord: ApiSpec) -> None:
    validation = SchemaValidation(discord)
    path = "/api/v10/users/@me"
    assert (
        validation.check_request(request("PATCH", path, {"username": "ann", "avatar": None})) == []
    )
    sneaky = {"username": "ann", "verified": True, "flags": 1 << 22, "premium_type": 2}
    finding = one(validation.check_request(request("PATCH", path, sneaky)), MASS_ASSIGNMENT)
    assert finding.evidence["fields"] == "$.flags, $.premium_type, $.verified"
    assert finding.evidence["operation"] == "PATCH /api/v10/users/@me"


def test_discord_alternatives_accept_any_documented_field(discord: ApiSpec) -> None:
    validation = SchemaValidation(discord)
    path = "/api/v10/channels/1234567890123456789"
    update = {"name": "general", "topic": "release notes", "nsfw": False, "icon": None}
    assert validation.check_request(request("PATCH", path, update)) == []
    findings = validation.check_request(request("PATCH", path, {**update, "guild_id": "1"}))
    assert one(findings, MASS_ASSIGNMENT).evidence["fields"] == "$.guild_id"


def test_discord_roles_types_nested_objects_and_answers(discord: ApiSpec) -> None:
    validation = SchemaValidation(discord)
    path = "/api/v10/guilds/1234567890123456789/roles"
    role = {"name": "Mods", "permissions": 8, "colors": {"primary_color": 255}, "hoist": True}
    assert validation.check_request(request("POST", path, role)) == []
    bad = {**role, "permissions": {"$gt": 0}, "colors": {"primary_color": 255, "glow": 1}}
    findings = validation.check_request(request("POST", path, bad))
    assert one(findings, MASS_ASSIGNMENT).evidence["fields"] == "$.colors.glow"
    invalid = one(findings, REQUEST_INVALID)
    assert invalid.severity is Severity.MEDIUM
    assert invalid.evidence["problems"] == "$.permissions: expected null/integer"
    listed = {
        "id": "1",
        "name": "Mods",
        "permissions": "8",
        "position": 1,
        "color": 0,
        "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
        "hoist": False,
        "managed": False,
        "mentionable": True,
        "icon": None,
        "unicode_emoji": None,
        "flags": 0,
    }
    documented = answer("GET", path, [listed, listed])
    assert validation.check_response(documented) == []
    leaky = answer("GET", path, [listed, {**listed, "audit_notes": "x", "tags": {"owner": "9"}}])
    finding = one(validation.check_response(leaky), RESPONSE_UNDOCUMENTED)
    assert finding.evidence["fields"] == "$[].audit_notes, $[].tags.owner"


def test_twilio_form_bodies_are_typed_by_their_properties(twilio: ApiSpec) -> None:
    validation = SchemaValidation(twilio)
    path = "/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Calls.json"
    form = (
        "To=%2B14155550123&From=%2B14155550199&Url=https%3A%2F%2Fh.example.com%2Fa&Timeout=30"
        "&Record=true&StatusCallbackEvent=initiated&StatusCallbackEvent=answered"
    )
    assert validation.check_request(request("POST", path, form.encode(), form=True)) == []
    bad = form.replace("Timeout=30", "Timeout=soon").replace("To=%2B14155550123&", "") + "&Price=0"
    findings = validation.check_request(request("POST", path, bad.encode(), form=True))
    assert one(findings, MASS_ASSIGNMENT).evidence["fields"] == "$.Price"
    assert one(findings, REQUEST_INVALID).evidence["problems"] == (
        "$: missing To; $.Timeout: expected integer"
    )


SWAGGER = {
    "swagger": "2.0",
    "info": {"title": "Users", "version": "1"},
    "basePath": "/api",
    "paths": {
        "/users": {
            "post": {
                "operationId": "createUser",
                "parameters": [
                    {"in": "body", "name": "user", "schema": {"$ref": "#/definitions/User"}},
                    {"in": "header", "name": "X-Tenant", "required": True, "type": "string"},
                    {"in": "query", "name": "dry_run", "required": True, "type": "boolean"},
                    {"in": "header", "name": "Authorization", "required": True, "type": "string"},
                ],
                "responses": {"201": {"description": "", "schema": {"$ref": "#/definitions/User"}}},
            }
        }
    },
    "definitions": {
        "User": {
            "type": "object",
            "required": ["id", "email"],
            "properties": {
                "id": {"type": "integer", "readOnly": True},
                "email": {"type": "string"},
                "nickname": {"type": "string", "x-nullable": True},
            },
        }
    },
}


def test_swagger_2_read_only_fields_and_required_parameters() -> None:
    validation = SchemaValidation(spec_from_document(SWAGGER))
    sent = {"x-tenant": "acme"}
    good = request("POST", "/api/users", {"email": "a@b.c", "nickname": None}, headers=sent)
    good.request.query = "dry_run=false"
    assert validation.check_request(good) == []
    bad = request("POST", "/api/users", {"id": 1, "email": "a@b.c"}, query="verbose=1")
    findings = validation.check_request(bad)
    mass = one(findings, MASS_ASSIGNMENT)
    assert mass.title == "Request sets read-only properties"
    assert (mass.evidence["fields"], mass.evidence["read_only"]) == ("$.id", "$.id")
    assert one(findings, REQUEST_INVALID).evidence["problems"] == (
        "header.x-tenant: missing; query.dry_run: missing"
    )
    created = answer("POST", "/api/users", {"id": 1, "email": "a@b.c"}, status=201)
    assert validation.check_response(created) == []


OPENAPI_31 = {
    "openapi": "3.1.0",
    "info": {"title": "Accounts", "version": "1"},
    "paths": {
        "/accounts/{id}": {
            "get": {
                "parameters": [{"name": "id", "in": "path", "required": True}],
                "responses": {
                    "200": {
                        "description": "",
                        "content": {"application/json": {"schema": {"$ref": "#/$defs/Account"}}},
                    },
                    "default": {
                        "description": "",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    },
                },
            }
        }
    },
    "$defs": {
        "Account": {
            "type": "object",
            "properties": {
                "id": {"type": "string"},
                "owner": {"type": ["string", "null"]},
                "password": {"type": "string", "writeOnly": True},
            },
        }
    },
}


def test_openapi_3_1_write_only_fields_in_an_answer_are_exposure() -> None:
    validation = SchemaValidation(spec_from_document(OPENAPI_31))
    assert validation.check_response(answer("GET", "/accounts/7", {"id": "7", "owner": None})) == []
    findings = validation.check_response(answer("GET", "/accounts/7", {"id": "7", "password": "p"}))
    finding = one(findings, RESPONSE_UNDOCUMENTED)
    assert (finding.evidence["fields"], finding.evidence["write_only"]) == (
        "$.password",
        "$.password",
    )
    error = answer("GET", "/accounts/7", {"error": "nope", "trace": "..."}, status=500)
    assert validation.check_response(error) == []  # "default" documents a free-form object


def test_what_cannot_be_judged_gives_nothing(telco: ApiSpec) -> None:
    validation = SchemaValidation(telco)
    undocumented = request("POST", "/internal/test/customers", {"a": 1})
    assert validation.check_request(undocumented) == []
    cut = request("POST", "/v2/auth/login", b'{"username": "a", "role": "admin"}')
    cut.request.body_size = 10_000_000  # the capture kept only the start of a larger body
    assert validation.check_request(cut) == []
    plain = request("POST", "/v2/auth/login", b"username=a&password=b&role=x", form=True)
    assert rules(validation.check_request(plain)) == {MASS_ASSIGNMENT}  # forms are read too
    for status, body in ((204, b""), (200, b"not json"), (418, b'{"a": 1}')):
        assert validation.check_response(answer("GET", "/v2/plans", body, status)) == []


# -- modes -------------------------------------------------------------------------------------

ROLE = {"username": "a", "password": "b", "role": "admin"}


def test_log_mode_reports_and_never_refuses(telco: ApiSpec) -> None:
    validation = SchemaValidation(telco)
    exchange = request("POST", "/v2/auth/login", ROLE)
    exchange.findings.extend(validation.check_request(exchange))
    assert exchange.findings and validation.decide(exchange) is None


def test_block_mode_refuses_with_the_reason(telco: ApiSpec) -> None:
    validation = SchemaValidation(telco, SchemaSettings(requests="block"))
    exchange = request("POST", "/v2/auth/login", ROLE)
    exchange.findings.extend(validation.check_request(exchange))
    decision = validation.decide(exchange)
    assert decision is not None and decision.refuses and decision.action is Action.BLOCK
    assert decision.rule == "enforce.schema"
    assert decision.reason == "schema.mass-assignment: $.role"
    clean = request("POST", "/v2/auth/login", {"username": "a", "password": "b"})
    clean.findings.extend(validation.check_request(clean))
    assert validation.decide(clean) is None


@pytest.mark.parametrize("key", ["POST /v2/auth/login", "/v2/auth/login", "login"])
def test_an_endpoint_is_named_by_method_and_path_path_alone_or_operation_id(
    telco: ApiSpec, key: str
) -> None:
    settings = SchemaSettings(endpoints={key: Override(requests="block")})
    validation = SchemaValidation(telco, settings)
    login = request("POST", "/v2/auth/login", ROLE)
    login.findings.extend(validation.check_request(login))
    assert validation.decide(login) is not None
    reset = request("POST", "/v2/auth/password-reset", {"username": "a", "role": "admin"})
    reset.findings.extend(validation.check_request(reset))
    assert reset.findings and validation.decide(reset) is None


def test_the_more_specific_setting_wins_and_off_validates_nothing(telco: ApiSpec) -> None:
    settings = SchemaSettings(
        endpoints={"login": Override(requests="block"), "/v2/auth/login": Override(requests="off")}
    )
    validation = SchemaValidation(telco, settings)
    assert validation.rule(validation.spec.operations[2]).requests == "block"
    off = SchemaValidation(telco, SchemaSettings(requests="off", responses="off"))
    assert off.check_request(request("POST", "/v2/auth/login", ROLE)) == []
    leaked = answer("GET", "/v2/plans", {"plans": [], "internal": 1})
    assert off.check_response(leaked) == []
    assert rules(SchemaValidation(telco).check_response(leaked)) == {RESPONSE_UNDOCUMENTED}


def test_a_documented_parameter_of_the_wrong_type_is_refused_on_block_endpoints(
    telco: ApiSpec,
) -> None:
    settings = SchemaSettings(endpoints={"GET /v2/customers/{id}": Override(requests="block")})
    validation = SchemaValidation(telco, settings)
    exchange = request("GET", "/v2/customers/1%27%20or%201=1", route="/v2/customers/{customer_id}")
    mismatch = Finding("schema.type_mismatch", "t", Severity.MEDIUM, {"source": "spec"})
    exchange.findings.append(mismatch)
    decision = validation.decide(exchange)
    assert decision is not None and decision.reason == "schema.type_mismatch"
    learned = Finding("schema.type_mismatch", "t", Severity.LOW, {"source": "learned"})
    exchange.findings[:] = [learned]
    assert validation.decide(exchange) is None


# -- wiring: the check registry -----------------------------------------


def test_the_checks_run_in_a_check_stage(telco: ApiSpec) -> None:
    validation = SchemaValidation(telco)
    checks = (
        Check("schema-request", Phase.REQUEST, validation.check_request),
        Check("schema-response", Phase.RESPONSE, validation.check_response),
    )
    exchange = request("POST", "/v2/auth/login", ROLE)
    CheckStage(Phase.REQUEST, checks, CheckContext())(exchange)
    exchange.response = answer("POST", "/v2/auth/login", {"access_token": "t", "debug": 1}).response
    CheckStage(Phase.RESPONSE, checks, CheckContext())(exchange)
    assert rules(exchange.findings) == {MASS_ASSIGNMENT, RESPONSE_UNDOCUMENTED}


def test_validators_are_compiled_once_per_operation(telco: ApiSpec) -> None:
    validation = SchemaValidation(telco)
    for _ in range(3):
        validation.check_request(request("POST", "/v2/auth/login", ROLE))
    op = validation.spec.match("POST", "/v2/auth/login")
    assert op is not None
    plan = validation._request_plan(op)
    assert plan is validation._request_plan(op) and len(validation._requests) == 1


def test_warm_up_compiles_every_validator_before_traffic(telco: ApiSpec) -> None:
    validation = SchemaValidation(telco)
    requests = sum(op.request_schema is not None for op in telco.operations)
    answers = sum(bool(s) for op in telco.operations for s in op.response_schemas.values())
    assert validation.warm_up() == requests + answers
    assert len(validation._requests) == len(telco.operations)
    off = SchemaValidation(telco, SchemaSettings(requests="off", responses="off"))
    assert off.warm_up() == 0


def test_a_schema_that_cannot_compile_leaves_its_operation_unvalidated() -> None:
    doc = json.loads(json.dumps(OPENAPI_31))
    doc["$defs"]["Account"]["properties"]["id"]["type"] = "strnig"
    validation = SchemaValidation(spec_from_document(doc))
    assert validation.check_response(answer("GET", "/accounts/7", {"id": "7", "x": 1})) == []
    assert list(validation.uncompiled) == [("GET", "/accounts/{id}")]


def test_names_that_look_like_data_are_masked_in_evidence() -> None:
    assert [shown(n) for n in ("is_admin", "x-api-key", "$set")] == [
        "is_admin",
        "x-api-key",
        "$set",
    ]
    assert [shown(n) for n in ("ann@example.com", "40213377", "acct_55512345", "a b")] == ["*"] * 4


# -- properties: documented instances are never flagged, undocumented fields always are --------


def merged(base: Mapping[str, Any], branch: Mapping[str, Any]) -> dict[str, Any]:
    out = {**base, **branch}
    out["properties"] = {**base.get("properties", {}), **branch.get("properties", {})}
    out["required"] = [*base.get("required", ()), *branch.get("required", ())]
    return out


def instances(schema: Any, depth: int = 0) -> st.SearchStrategy[Any]:
    """Values made only of what the schema documents (constraints honoured where simple)."""
    if not isinstance(schema, Mapping) or not schema or "x-apishield-cut" in schema:
        return st.none() | st.integers(0, 9) | st.text(max_size=4)
    schema = dict(schema)
    for part in schema.pop("allOf", ()):
        schema = merged(schema, part)
    if "const" in schema:
        return st.just(schema["const"])
    if schema.get("enum"):
        return st.sampled_from(schema["enum"])
    alternatives = schema.pop("oneOf", None) or schema.pop("anyOf", None)
    if alternatives:
        return st.one_of([instances(merged(schema, alt), depth) for alt in alternatives])
    kind = schema.get("type") or ("object" if schema.get("properties") else "string")
    kinds = kind if isinstance(kind, list) else [kind]
    return st.one_of([_typed(k, schema, depth) for k in kinds])


def _typed(kind: str, schema: Mapping[str, Any], depth: int) -> st.SearchStrategy[Any]:
    if kind == "null" or (schema.get("nullable") and depth % 2):
        return st.none()
    if kind == "boolean":
        return st.booleans()
    if kind in ("integer", "number"):
        low, high = schema.get("minimum", -(2**31)), schema.get("maximum", 2**31)
        return st.integers(int(low), int(high))
    if kind == "array":
        items = instances(schema.get("items"), depth + 1)
        low = schema.get("minItems", 0)
        return st.lists(items, min_size=low, max_size=max(low, 2), unique_by=orjson.dumps)
    if kind == "object":
        return _object(schema, depth)
    low, high = schema.get("minLength", 0), min(schema.get("maxLength", 12), 12)
    if "pattern" in schema:
        return st.from_regex(schema["pattern"], fullmatch=True).filter(lambda s: len(s) <= 40)
    return st.text(st.characters(codec="utf-8"), min_size=low, max_size=max(low, high))


def _object(schema: Mapping[str, Any], depth: int) -> st.SearchStrategy[Any]:
    properties = schema.get("properties") or {}
    if not properties:
        return st.dictionaries(st.text(max_size=4), st.integers(0, 9), max_size=2)
    required = set(schema.get("required", ())) & set(properties)
    return st.fixed_dictionaries(
        {name: instances(properties[name], depth + 1) for name in required},
        optional={}
        if depth > 3
        else {n: instances(s, depth + 1) for n, s in properties.items() if n not in required},
    )


PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

TELCO_REQUESTS = ["login", "requestPasswordReset", "confirmPasswordReset", "swapSim"]
DISCORD_REQUESTS = [
    ("PATCH", "/api/v10/users/@me"),
    ("POST", "/api/v10/guilds/{guild_id}/roles"),
    ("PATCH", "/api/v10/channels/{channel_id}"),
    ("POST", "/api/v10/guilds/{guild_id}/channels"),
    ("POST", "/api/v10/channels/{channel_id}/messages"),
    ("POST", "/api/v10/guilds/{guild_id}/auto-moderation/rules"),
    ("POST", "/api/v10/guilds/{guild_id}/scheduled-events"),
]


def by_id(spec: ApiSpec, operation_id: str) -> Any:
    (op,) = [op for op in spec.operations if op.operation_id == operation_id]
    return op


@pytest.mark.parametrize("operation_id", TELCO_REQUESTS)
def test_valid_telco_requests_are_never_flagged(telco: ApiSpec, operation_id: str) -> None:
    op = by_id(telco, operation_id)
    validation = SchemaValidation(telco)

    @PROPERTY
    @given(body=instances(op.request_schema))
    def check(body: Any) -> None:
        exchange = request(op.method, op.path, body, route=op.path)
        assert validation.check_request(exchange) == []

    check()


@pytest.mark.parametrize(("method", "route"), DISCORD_REQUESTS)
def test_documented_discord_fields_are_never_mass_assignment(
    discord: ApiSpec, method: str, route: str
) -> None:
    op = discord.match(method, route)
    assert op is not None
    validation = SchemaValidation(discord)

    @PROPERTY
    @given(body=instances(op.request_schema))
    def check(body: Any) -> None:
        exchange = request(method, route, body, route=route)
        assert MASS_ASSIGNMENT not in rules(validation.check_request(exchange))

    check()


def test_documented_telco_answers_are_never_exposure(telco: ApiSpec) -> None:
    validation = SchemaValidation(telco)
    documented = [
        (op, status, schema)
        for op in telco.operations
        for status, schema in op.response_schemas.items()
        if schema
    ]

    @PROPERTY
    @given(st.data())
    def check(data: st.DataObject) -> None:
        op, status, schema = data.draw(st.sampled_from(documented))
        exchange = answer(op.method, op.path, data.draw(instances(schema)), int(status))
        exchange.route = op.path
        assert validation.check_response(exchange) == []

    check()


@pytest.mark.parametrize(
    ("spec_name", "operation"),
    [("telco", "login"), ("telco", "swapSim"), ("discord", ("PATCH", "/api/v10/users/@me"))],
)
def test_an_added_undocumented_field_is_always_reported(
    telco: ApiSpec, discord: ApiSpec, spec_name: str, operation: Any
) -> None:
    spec = telco if spec_name == "telco" else discord
    op = by_id(spec, operation) if isinstance(operation, str) else spec.match(*operation)
    assert op is not None
    validation = SchemaValidation(spec)
    names = st.from_regex(r"zz_[a-z]{1,8}", fullmatch=True)

    @PROPERTY
    @given(body=instances(op.request_schema), name=names, value=instances({}))
    def check(body: dict[str, Any], name: str, value: Any) -> None:
        exchange = request(op.method, op.path, {**body, name: value}, route=op.path)
        finding = one(validation.check_request(exchange), MASS_ASSIGNMENT)
        assert finding.evidence["fields"] == f"$.{name}"

    check()

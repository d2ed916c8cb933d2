"""OpenAPI request and response validation, per endpoint: block, log or off.

A request body is held to its operation's documented schema, closed (see `closed_schema`):
properties the spec does not document, or documents as read-only, are mass assignment
(`schema.mass-assignment`); wrong types, missing required properties or parameters and values
outside an enum are `schema.request-invalid`. A JSON response is held to the schema of its
status, and fields the spec does not document (or documents as write-only) are excessive data
exposure (`schema.response-undocumented-fields`); a copy without them can replace the answer.

Each operation's validators are compiled once, on its first request (or all at start-up, by
`warm_up`), and kept; one schema object shared by many operations is compiled once. Evidence names
JSON paths and field names, never values; a field name that looks like data (an e-mail, a
long number, anything not shaped like an identifier) is shown as `*`.

Modes, per endpoint over a default:

* requests `block`: a request with either finding (or a documented parameter of the wrong type,
  `schema.type_mismatch`) is refused by `decide`, which the policy consults; `log`: findings
  only; `off`: not validated.
* responses `log` or `off`. There is no blocking an answer: by the time it is judged it has
  gone. `strip_undocumented` makes `strip` return the answer without the undocumented fields,
  for the middleware to send instead; it needs the whole answer, so the middleware buffers
  the answers of those endpoints (`strips`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from apishield.enforce.body_validator import BodyValidator, SchemaCompileError, Verdict
from apishield.enforce.body_validator import json_path as _json_path
from apishield.enforce.body_validator import strip as _strip
from apishield.enforce.closed_schema import Direction
from apishield.enforce.request_values import (
    IGNORED_HEADERS,
    NOTHING,
    FormReader,
    document,
    missing_parameters,
)
from apishield.enforce.schema_settings import (
    EndpointRule,
    OperationLike,
    OpKey,
    Override,
    RequestMode,
    SchemaSettings,
    SpecLike,
    endpoint_rules,
)
from apishield.exchange import Action, Decision, Exchange, Finding, Severity

MASS_ASSIGNMENT = "schema.mass-assignment"
REQUEST_INVALID = "schema.request-invalid"
RESPONSE_UNDOCUMENTED = "schema.response-undocumented-fields"
TYPE_MISMATCH = "schema.type_mismatch"
"""Raised by the injection check for documented path and query parameters; `block` refuses it."""

MAX_ERRORS = 32
"""Validation errors read from one request: enough to report, and a bound on hostile bodies."""
MAX_RESPONSE_ERRORS = 256
"""The same for an answer, which comes from the app and may break its schema in many places
before its first undocumented field."""
SHOWN = 10
"""Paths or problems listed in one finding's evidence."""

_NAME = re.compile(r"[A-Za-z_$][A-Za-z0-9_$-]{0,47}")
_DIGITS = re.compile(r"\d{5}")


# -- validation ---------------------------------------------------------------------------------


@dataclass(slots=True)
class _RequestPlan:
    body: BodyValidator | None
    form: FormReader
    """Types form values by the closed schema's top-level properties."""
    required: tuple[tuple[str, str], ...]


class SchemaValidation:
    """Validates exchanges against their documented operation. Holds compiled validators and
    nothing about traffic, so one instance serves every request of a process."""

    def __init__(self, spec: SpecLike, settings: SchemaSettings | None = None) -> None:
        settings = settings or SchemaSettings()
        self.spec = spec
        self.default = settings.default()
        self.rules = endpoint_rules(spec.operations, settings)
        self.enforced = False
        """Whether answers are really stripped where `strip_undocumented` says so: only an
        in-line guard in `enforce.mode` enforce strips (and the workers analysing its traffic
        say so); a replay, or monitor and off modes, send every answer as it came, and the
        evidence must not claim otherwise."""
        self.uncompiled: dict[OpKey, str] = {}
        """Operations whose schema jsonschema-rs could not compile, with why; not validated."""
        self._requests: dict[OpKey, _RequestPlan] = {}
        self._responses: dict[tuple[OpKey, str], BodyValidator | None] = {}
        self._compiled: dict[tuple[int, str], tuple[Mapping[str, Any], BodyValidator | None]] = {}
        """By schema object: a resolved spec shares one dict per `$ref` target, so the error
        answers every operation documents are compiled once."""

    def operation(self, exchange: Exchange) -> OperationLike | None:
        request = exchange.request
        found = self.spec.match(request.method, exchange.route) if exchange.route else None
        return found or self.spec.match_path(request.method, request.path)

    def rule(self, operation: OperationLike) -> EndpointRule:
        return self.rules.get((operation.method, operation.path), self.default)

    def warm_up(self) -> int:
        """Compile now every validator traffic may need, rather than on the first request to
        each operation (Discord's largest schemas take 10-30 ms); how many were built."""
        built = 0
        for op in self.spec.operations:
            rule = self.rule(op)
            if rule.requests != "off" and self._request_plan(op).body is not None:
                built += 1
            if rule.responses != "off":
                built += sum(
                    self._response_validator(op, s) is not None for s in op.response_schemas
                )
        return built

    # -- request phase ---------------------------------------------------------------------

    def check_request(self, exchange: Exchange, context: object = None) -> list[Finding]:
        """The request check (`CheckFn`): mass assignment and invalid requests."""
        op = self.operation(exchange)
        if op is None:
            return []
        mode = self.rule(op).requests
        if mode == "off":
            return []
        plan = self._request_plan(op)
        request = exchange.request
        problems = [f"{name}: missing" for name in missing_parameters(request, plan.required)]
        verdict = Verdict()
        if plan.body is not None:
            value = document(request.body, request.body_size, request.headers, plan.form)
            if value is not NOTHING:
                verdict = plan.body.judge(value, MAX_ERRORS)
        return _request_findings(_label(op), mode, verdict, problems)

    def decide(self, exchange: Exchange) -> Decision | None:
        """A refusal when a `block` endpoint's request broke its schema; None otherwise."""
        for finding in exchange.findings:
            own = finding.rule_id in (MASS_ASSIGNMENT, REQUEST_INVALID)
            if own and finding.evidence.get("mode") == "block":
                return _refusal(finding)
        for finding in exchange.findings:
            if finding.rule_id == TYPE_MISMATCH and finding.evidence.get("source") == "spec":
                op = self.operation(exchange)
                if op is not None and self.rule(op).requests == "block":
                    return _refusal(finding)
                return None
        return None

    def _request_plan(self, op: OperationLike) -> _RequestPlan:
        key = (op.method, op.path)
        plan = self._requests.get(key)
        if plan is None:
            body = self._compile(key, op.request_schema, "request")
            properties = body.schema.get("properties", {}) if body is not None else {}
            required = tuple(
                (p.location, p.name)
                for p in op.parameters
                if p.required
                and p.location in ("query", "header", "cookie")
                and not (p.location == "header" and p.name in IGNORED_HEADERS)
            )
            plan = self._requests[key] = _RequestPlan(body, FormReader(properties), required)
        return plan

    # -- response phase --------------------------------------------------------------------

    def check_response(self, exchange: Exchange, context: object = None) -> list[Finding]:
        """The response check (`CheckFn`): fields the spec does not document."""
        op = self.operation(exchange)
        if op is None:
            return []
        rule = self.rule(op)
        if rule.responses == "off":
            return []
        answer = self._answer(exchange, op)
        if answer is None:
            return []
        status, validator, value = answer
        verdict = validator.judge(value, MAX_RESPONSE_ERRORS)
        if not verdict.undocumented:
            return []
        stripped = rule.strip_undocumented and self.enforced
        return [_exposure(_label(op), status, verdict, stripped)]

    def strips(self, exchange: Exchange) -> bool:
        """Whether the middleware should hold this request's answer back for `strip`."""
        op = self.operation(exchange)
        return op is not None and self._strips(op)

    def strip(self, exchange: Exchange) -> bytes | None:
        """The answer without its undocumented fields; None when nothing is to be removed."""
        op = self.operation(exchange)
        if op is None or not self._strips(op):
            return None
        answer = self._answer(exchange, op)
        if answer is None:
            return None
        _, validator, value = answer
        verdict = validator.judge(value)
        if not verdict.undocumented or not _strip(value, verdict.undocumented):
            return None
        return orjson.dumps(value)

    def _strips(self, op: OperationLike) -> bool:
        rule = self.rule(op)
        return rule.strip_undocumented and rule.responses != "off" and bool(op.response_schemas)

    def _answer(
        self, exchange: Exchange, op: OperationLike
    ) -> tuple[str, BodyValidator, Any] | None:
        """The documented status, its validator and the parsed answer, when all three exist."""
        response = exchange.response
        if response is None or exchange.request.method == "HEAD" or response.status in (204, 304):
            return None
        status = _status_key(op.response_schemas, response.status)
        if status is None:
            return None
        validator = self._response_validator(op, status)
        if validator is None:
            return None
        value = document(response.body, response.body_size, response.headers)
        return None if value is NOTHING else (status, validator, value)

    def _response_validator(self, op: OperationLike, status: str) -> BodyValidator | None:
        key = ((op.method, op.path), status)
        if key not in self._responses:
            schema = op.response_schemas.get(status)
            self._responses[key] = self._compile(key[0], schema or None, "response")
        return self._responses[key]

    def _compile(
        self, key: OpKey, schema: Mapping[str, Any] | None, direction: Direction
    ) -> BodyValidator | None:
        if not schema:
            return None
        shared = self._compiled.get((id(schema), direction))
        if shared is not None and shared[0] is schema:
            return shared[1]
        try:
            validator: BodyValidator | None = BodyValidator(schema, direction)
        except SchemaCompileError as exc:
            self.uncompiled[key] = str(exc)
            validator = None
        self._compiled[(id(schema), direction)] = (schema, validator)
        return validator


# -- findings -----------------------------------------------------------------------------------


def _request_findings(
    operation: str, mode: RequestMode, verdict: Verdict, missing: list[str]
) -> list[Finding]:
    findings = []
    if verdict.undocumented:
        fields = _fields(verdict)
        hidden = _fields(verdict, hidden_only=True)
        evidence = {"operation": operation, "mode": mode, **_listed("fields", fields)}
        if hidden:
            evidence["read_only"] = ", ".join(hidden[:SHOWN])
        title = f"Request sets {'read-only' if hidden else 'undocumented'} properties"
        findings.append(Finding(MASS_ASSIGNMENT, title, Severity.MEDIUM, evidence, "API3:2023"))
    said = (f"{_path(p.location)}: {p.detail}" for p in verdict.problems)
    problems = list(dict.fromkeys([*missing, *said]))
    if problems:
        structural = any(p.structural for p in verdict.problems)
        evidence = {"operation": operation, "mode": mode, **_listed("problems", problems, "; ")}
        severity = Severity.MEDIUM if structural else Severity.LOW
        title = (
            "Request puts objects or arrays where the spec expects plain values"
            if structural
            else "Request does not match its documented schema"
        )
        findings.append(Finding(REQUEST_INVALID, title, severity, evidence, "API8:2023"))
    return findings


def _exposure(operation: str, status: str, verdict: Verdict, stripped: bool) -> Finding:
    fields = _fields(verdict)
    evidence = {"operation": operation, "status": status, **_listed("fields", fields)}
    hidden = _fields(verdict, hidden_only=True)
    if hidden:
        evidence["write_only"] = ", ".join(hidden[:SHOWN])
    evidence["stripped"] = "true" if stripped else "false"
    return Finding(
        RESPONSE_UNDOCUMENTED,
        "Response returns fields the spec does not document",
        Severity.MEDIUM,
        evidence,
        "API3:2023",
    )


def _refusal(finding: Finding) -> Decision:
    detail = finding.evidence.get("fields") or finding.evidence.get("problems") or ""
    reason = f"{finding.rule_id}: {detail}" if detail else finding.rule_id
    return Decision(Action.BLOCK, reason[:200], "enforce.schema")


def _fields(verdict: Verdict, hidden_only: bool = False) -> list[str]:
    """Distinct field paths (`$.address.verified`), sorted so equal findings read alike."""
    out: set[str] = set()
    for found in verdict.undocumented:
        base = _path(found.location)
        out.update(
            f"{base}.{shown(name)}" for name in (found.hidden if hidden_only else found.names)
        )
    return sorted(out)


def _listed(key: str, items: list[str], sep: str = ", ") -> dict[str, str]:
    return {key: sep.join(items[:SHOWN]), "count": str(len(items))}


def _path(location: tuple[str | int, ...]) -> str:
    return _json_path(location, shown)


def shown(name: str) -> str:
    """A field name as evidence may show it: identifiers as they are, anything else as `*`."""
    if _NAME.fullmatch(name) and not _DIGITS.search(name):
        return name
    return "*"


def _label(op: OperationLike) -> str:
    return f"{op.method} {op.path}"


def _status_key(documented: Mapping[str, Any], status: int) -> str | None:
    """The documented response for a status: exact, then "2XX", then "default"."""
    exact = str(status)
    if exact in documented:
        return exact
    for key in (f"{status // 100}XX", f"{status // 100}xx", "default"):
        if key in documented:
            return key
    return None


__all__ = [
    "MASS_ASSIGNMENT",
    "REQUEST_INVALID",
    "RESPONSE_UNDOCUMENTED",
    "EndpointRule",
    "Override",
    "SchemaSettings",
    "SchemaValidation",
    "shown",
]

"""What the checks may know about an endpoint: its documented or learned parameter types and auth.

Checks import no state (DESIGN.md); the engine hands them this adapter over the spec and the
inventory. Facts are cached per endpoint and rebuilt as its traffic grows, so a lookup costs one
dictionary probe on the request path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apishield.checks.registry import EndpointFacts, ParamRule
from apishield.exchange import Exchange
from apishield.inventory.endpoint import Endpoint
from apishield.inventory.learner import Inventory
from apishield.inventory.spec import ApiSpec, SpecOperation

LEARNED_MIN_SEEN = 50
"""A type learned from fewer values than this is not trusted to skip scanning."""
LEARNED_KINDS = frozenset(("integer", "uuid", "date", "date-time", "phone", "boolean"))
"""Learned types narrow enough to validate; "number" and "hex" are too loose to vouch for."""
REFRESH = 256
"""Requests to an endpoint between rebuilds of its learned facts."""

_FORMATS = {
    "uuid": "uuid",
    "date": "date",
    "date-time": "date-time",
    "phone": "phone",
    "phone-number": "phone",
    "snowflake": "integer",
    "int64": "integer",
    "int32": "integer",
}
"""String formats narrow enough to validate, by the kind that validates them."""


class InventoryFacts:
    name = "facts"

    def __init__(self, inventory: Inventory, spec: ApiSpec | None) -> None:
        self.inventory = inventory
        self.spec = spec
        self._cache: dict[tuple[str, str, str], tuple[int, EndpointFacts]] = {}
        self._documented: dict[
            tuple[str, str], tuple[dict[tuple[str, str], ParamRule], bool | None]
        ]
        self._documented = {}

    def facts(self, exchange: Exchange) -> EndpointFacts | None:
        route = exchange.route
        if route is None:
            return None
        request = exchange.request
        method, host = request.method, request.host
        endpoint = self.inventory.endpoint(method, host, route)
        seen = endpoint.requests if endpoint is not None else 0
        key = (method, host, route)
        cached = self._cache.get(key)
        if cached is not None and seen < cached[0] + REFRESH:
            return cached[1]
        facts = self._build(method, route, endpoint)
        if len(self._cache) >= 4 * 20_000:
            self._cache.clear()
        self._cache[key] = (seen, facts)
        return facts

    def _build(self, method: str, route: str, endpoint: Endpoint | None) -> EndpointFacts:
        params, requires_auth = self._spec_rules(method, route)
        rules = dict(_learned_rules(endpoint)) if endpoint is not None else {}
        rules.update(params)
        if endpoint is None or endpoint.requests == 0:
            return EndpointFacts(params=rules, requires_auth=requires_auth)
        return EndpointFacts(
            params=rules,
            requests=endpoint.requests,
            authenticated_share=1.0 - endpoint.unauthenticated_share,
            requires_auth=requires_auth,
        )

    def _spec_rules(
        self, method: str, route: str
    ) -> tuple[dict[tuple[str, str], ParamRule], bool | None]:
        if self.spec is None:
            return {}, None
        known = self._documented.get((method, route))
        if known is None:
            operation = self.spec.match(method, route)
            known = ({}, None) if operation is None else _documented(operation)
            self._documented[(method, route)] = known
        return known


def _documented(operation: SpecOperation) -> tuple[dict[tuple[str, str], ParamRule], bool]:
    rules = {}
    for param in operation.parameters:
        rule = _rule(param.schema)
        if rule is not None and param.location in ("path", "query"):
            rules[(param.location, param.name)] = rule
    body = operation.request_schema
    properties = body.get("properties") if isinstance(body, Mapping) else None
    if isinstance(properties, Mapping):
        for name, schema in properties.items():
            rule = _rule(schema) if isinstance(schema, Mapping) else None
            if rule is not None:
                rules[("body", str(name))] = rule
    return rules, bool(operation.security)


def _rule(schema: Mapping[str, Any]) -> ParamRule | None:
    enum = schema.get("enum")
    if isinstance(enum, list) and enum and all(isinstance(v, str | int) for v in enum):
        return ParamRule("enum", frozenset(str(v) for v in enum))
    choices = schema.get("oneOf") or schema.get("anyOf")
    if isinstance(choices, list) and choices:
        return _choice([c for c in choices if isinstance(c, Mapping)])
    kind = schema.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"]
        kind = kinds[0] if len(kinds) == 1 else None
    if kind in ("integer", "number", "boolean"):
        return ParamRule(str(kind))
    if kind == "string":
        fmt = _FORMATS.get(str(schema.get("format", "")))
        return ParamRule(fmt) if fmt is not None else None
    return None


def _choice(choices: list[Mapping[str, Any]]) -> ParamRule | None:
    """`oneOf` of constants is an enum; `oneOf [null, X]` is X; anything else stays free text."""
    real = [c for c in choices if c.get("type") != "null"]
    if real and all("const" in c for c in real):
        return ParamRule("enum", frozenset(str(c["const"]) for c in real))
    return _rule(real[0]) if len(real) == 1 else None


def _learned_rules(endpoint: Endpoint) -> dict[tuple[str, str], ParamRule]:
    rules = {}
    for key, stats in endpoint.params.items():
        if stats.seen >= LEARNED_MIN_SEEN and stats.type in LEARNED_KINDS:
            rules[key] = ParamRule(stats.type, source="learned")
    return rules

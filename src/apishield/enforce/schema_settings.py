"""Which endpoints are validated how: request and response modes, per-endpoint overrides, and
the operations a configured key names.

The spec is seen through small protocols (`SpecLike`, `OperationLike`), which
`apishield.inventory.spec.ApiSpec` meets, so enforce/ imports nothing of inventory/.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

RequestMode = Literal["block", "log", "off"]
ResponseMode = Literal["log", "off"]
REQUEST_MODES: tuple[RequestMode, ...] = ("block", "log", "off")
RESPONSE_MODES: tuple[ResponseMode, ...] = ("log", "off")

OpKey = tuple[str, str]
"""(method, path template) of a documented operation."""


# -- what the spec offers: structural, so enforce/ needs nothing of inventory/ -----------------


class ParameterLike(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def location(self) -> str: ...
    @property
    def required(self) -> bool: ...


class OperationLike(Protocol):
    @property
    def method(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def operation_id(self) -> str | None: ...
    @property
    def parameters(self) -> Sequence[ParameterLike]: ...
    @property
    def request_schema(self) -> Mapping[str, Any] | None: ...
    @property
    def response_schemas(self) -> Mapping[str, Mapping[str, Any]]: ...


class SpecLike(Protocol):
    """`apishield.inventory.spec.ApiSpec` is one."""

    @property
    def operations(self) -> Sequence[OperationLike]: ...
    def match(self, method: str, template: str) -> OperationLike | None: ...
    def match_path(self, method: str, path: str) -> OperationLike | None: ...


# -- settings -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EndpointRule:
    requests: RequestMode = "log"
    responses: ResponseMode = "log"
    strip_undocumented: bool = False


@dataclass(frozen=True, slots=True)
class Override:
    """One endpoint's settings; None keeps the default."""

    requests: RequestMode | None = None
    responses: ResponseMode | None = None
    strip_undocumented: bool | None = None


@dataclass(frozen=True, slots=True)
class SchemaSettings:
    requests: RequestMode = "log"
    responses: ResponseMode = "log"
    strip_undocumented: bool = False
    endpoints: Mapping[str, Override] = field(default_factory=dict)
    """Keys: "POST /v2/customers" (the path as the spec lists it, server prefix included,
    parameter names free), "/v2/customers/{id}" for every method, or an operationId."""

    @classmethod
    def from_config(cls, section: Any) -> SchemaSettings:
        """From the `enforce.openapi` config section (or anything with its attributes); an
        endpoint's value is its settings or, alone, its request mode."""
        endpoints = {}
        for key, value in dict(getattr(section, "endpoints", {}) or {}).items():
            if isinstance(value, str):
                endpoints[str(key)] = Override(requests=_request_mode(value))
                continue
            requests = getattr(value, "requests", None)
            responses = getattr(value, "responses", None)
            endpoints[str(key)] = Override(
                requests=None if requests is None else _request_mode(requests),
                responses=None if responses is None else _response_mode(responses),
                strip_undocumented=getattr(value, "strip_undocumented", None),
            )
        return cls(
            requests=_request_mode(getattr(section, "requests", "log")),
            responses=_response_mode(getattr(section, "responses", "log")),
            strip_undocumented=bool(getattr(section, "strip_undocumented", False)),
            endpoints=endpoints,
        )

    def default(self) -> EndpointRule:
        return EndpointRule(self.requests, self.responses, self.strip_undocumented)


def _request_mode(value: object) -> RequestMode:
    for mode in REQUEST_MODES:
        if value == mode:
            return mode
    raise ValueError(f"enforce.openapi: request mode {value!r} is not one of block, log, off")


def _response_mode(value: object) -> ResponseMode:
    for mode in RESPONSE_MODES:
        if value == mode:
            return mode
    raise ValueError(
        f"enforce.openapi: response mode {value!r} is not one of log, off "
        "(an answer cannot be blocked once sent; set strip_undocumented to withhold fields)"
    )


# -- which endpoints the settings name ----------------------------------------------------------

_PARAM = re.compile(r"\{[^{}/]*\}")


def endpoint_rules(
    operations: Sequence[OperationLike], settings: SchemaSettings
) -> dict[OpKey, EndpointRule]:
    """Each named operation's rule; a path alone applies first, so "POST /x" or an operationId
    refines it. A key that names no operation is an error that offers the nearest ones."""
    default = settings.default()
    ranked = sorted(settings.endpoints.items(), key=lambda item: not item[0].startswith("/"))
    rules: dict[OpKey, EndpointRule] = {}
    for key, override in ranked:
        matched = [op for op in operations if _names(key, op)]
        if not matched:
            raise ValueError(_unknown(key, operations))
        for op in matched:
            held = rules.get((op.method, op.path), default)
            rules[(op.method, op.path)] = EndpointRule(
                override.requests or held.requests,
                override.responses or held.responses,
                held.strip_undocumented
                if override.strip_undocumented is None
                else override.strip_undocumented,
            )
    return rules


def _names(key: str, op: OperationLike) -> bool:
    method, _, path = key.strip().rpartition(" ")
    if not path.startswith("/"):
        return key == op.operation_id
    if method and method.upper() != op.method:
        return False
    return _shape(path) == _shape(op.path)


def _shape(path: str) -> str:
    return _PARAM.sub("{}", path).strip("/")


def _unknown(key: str, operations: Sequence[OperationLike]) -> str:
    known = [f"{op.method} {op.path}" for op in operations]
    known += [op.operation_id for op in operations if op.operation_id]
    near = difflib.get_close_matches(key, known, n=3)
    hint = f" Did you mean {', '.join(repr(n) for n in near)}?" if near else ""
    return (
        f"enforce.openapi.endpoints: {key!r} names no operation of the spec.{hint} Write "
        "'POST /v2/customers' (the path as the spec lists it, server prefix included), "
        "a path alone for every method, or an operationId."
    )

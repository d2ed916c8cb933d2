"""Documented versus learned: where the spec and the traffic disagree.

Each kind of disagreement is a known route to a breach: shadow endpoints nobody reviews, unused
operations that are attack surface without users, deprecated operations that stay alive, query
parameters no one documented, types the server does not enforce, and status codes that leak.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from apishield.inventory.endpoint import Endpoint, ParamStats
from apishield.inventory.spec import ApiSpec, SpecOperation, path_parameter_names

_ACCEPTS = {"integer": {"integer"}, "number": {"integer", "number"}, "boolean": {"boolean"}}
_CHECKED_FORMATS = frozenset({"uuid", "date", "date-time", "email"})
"""String formats that observed types can confirm or contradict; others are not compared."""


@dataclass(frozen=True, slots=True)
class ShadowEndpoint:
    method: str
    host: str
    template: str
    requests: int
    last_seen: float | None


@dataclass(frozen=True, slots=True)
class OperationUse:
    method: str
    path: str
    operation_id: str | None
    requests: int = 0
    last_seen: float | None = None


@dataclass(frozen=True, slots=True)
class ParamIssue:
    method: str
    path: str
    location: str
    name: str
    observed: str
    seen: int
    documented: str = ""
    """The documented type, for disagreements; "" for a parameter the spec does not list."""


@dataclass(frozen=True, slots=True)
class StatusIssue:
    method: str
    path: str
    status: int
    count: int


@dataclass(slots=True)
class SpecDiff:
    documented: int = 0
    """Learned endpoints that map to a documented operation."""
    shadow: list[ShadowEndpoint] = field(default_factory=list)
    unused: list[OperationUse] = field(default_factory=list)
    deprecated_in_use: list[OperationUse] = field(default_factory=list)
    undocumented_params: list[ParamIssue] = field(default_factory=list)
    type_mismatches: list[ParamIssue] = field(default_factory=list)
    undocumented_statuses: list[StatusIssue] = field(default_factory=list)

    def summary(self) -> dict[str, int]:
        return {
            "documented": self.documented,
            "shadow": len(self.shadow),
            "unused": len(self.unused),
            "deprecated_in_use": len(self.deprecated_in_use),
            "undocumented_params": len(self.undocumented_params),
            "type_mismatches": len(self.type_mismatches),
            "undocumented_statuses": len(self.undocumented_statuses),
        }

    def to_dict(self) -> dict[str, Any]:
        lists = {name: getattr(self, name) for name in self.summary() if name != "documented"}
        return {"summary": self.summary()} | {
            name: [asdict(item) for item in items] for name, items in lists.items()
        }


def diff_spec(endpoints: Iterable[Endpoint], spec: ApiSpec) -> SpecDiff:
    """Compare what traffic shows with what the spec documents; endpoints never hit are ignored."""
    diff = SpecDiff()
    served: dict[SpecOperation, list[Endpoint]] = {}
    for endpoint in endpoints:
        if endpoint.requests <= 0:
            continue
        op = documented_operation(spec, endpoint)
        if op is None:
            diff.shadow.append(_shadow(endpoint))
        else:
            served.setdefault(op, []).append(endpoint)
    for op in spec.operations:
        group = served.pop(op, None)
        if group is None:
            diff.unused.append(OperationUse(op.method, op.path, op.operation_id))
            continue
        diff.documented += len(group)
        if op.deprecated:
            diff.deprecated_in_use.append(_use(op, group))
        _compare_params(op, group, diff)
        _compare_statuses(op, group, diff)
    diff.shadow.sort(key=lambda s: (-s.requests, s.template, s.method))
    return diff


def documented_operation(spec: ApiSpec, endpoint: Endpoint) -> SpecOperation | None:
    """Template first; failing that, the learned template and then a raw sample as a path."""
    method = endpoint.method
    found = spec.match(method, endpoint.template) or spec.match_path(method, endpoint.template)
    if found is None and endpoint.sample_path:
        found = spec.match_path(method, endpoint.sample_path)
    return found


def observed_params(
    endpoints: Iterable[Endpoint], template: str
) -> dict[tuple[str, str], ParamStats]:
    """Parameter statistics folded together, path parameters renamed by position to `template`'s
    names (traffic learns "/customers/{id}" where the spec says "{customerId}")."""
    merged: dict[tuple[str, str], ParamStats] = {}
    target_names = path_parameter_names(template)
    for endpoint in endpoints:
        learned = path_parameter_names(endpoint.template)
        same_shape = len(learned) == len(target_names)
        rename = dict(zip(learned, target_names, strict=True)) if same_shape else {}
        for stats in endpoint.params.values():
            name = rename.get(stats.name, stats.name) if stats.location == "path" else stats.name
            merged.setdefault((stats.location, name), ParamStats(stats.location, name)).merge(stats)
    return merged


def _compare_params(op: SpecOperation, group: list[Endpoint], diff: SpecDiff) -> None:
    documented = {(p.location, p.name): p for p in op.parameters}
    for (location, name), stats in sorted(observed_params(group, op.path).items()):
        lookup = name.lower() if location == "header" else name
        param = documented.get((location, lookup))
        issue = ParamIssue(op.method, op.path, location, name, stats.type, stats.seen)
        if param is None:
            if location == "query":
                diff.undocumented_params.append(issue)
            continue
        conflict = _type_conflict(param.schema, stats.type)
        if conflict is not None:
            diff.type_mismatches.append(
                ParamIssue(op.method, op.path, location, name, stats.type, stats.seen, conflict)
            )


def _type_conflict(schema: Mapping[str, Any], observed: str) -> str | None:
    """The documented type when traffic contradicts it; None if they agree or cannot be compared."""
    declared = schema.get("type")
    types = {declared} if isinstance(declared, str) else set(declared or ())
    types.discard("null")
    if not types or types & {"array", "object"}:
        return None
    if "string" in types:
        fmt = schema.get("format")
        if len(types) == 1 and fmt in _CHECKED_FORMATS and observed != fmt:
            return f"string ({fmt})"
        return None
    if any(observed in _ACCEPTS.get(kind, {observed}) for kind in types):
        return None
    return " | ".join(sorted(types))


def _compare_statuses(op: SpecOperation, group: list[Endpoint], diff: SpecDiff) -> None:
    """A status is documented exactly, by its class ("4XX"), or by "default", as OpenAPI says."""
    codes = {code.upper() for code in op.response_schemas}
    seen: Counter[int] = Counter()
    for endpoint in group:
        seen.update(endpoint.statuses)
    for status, count in sorted(seen.items()):
        if not ({str(status), f"{status // 100}XX", "DEFAULT"} & codes):
            diff.undocumented_statuses.append(StatusIssue(op.method, op.path, status, count))


def _shadow(endpoint: Endpoint) -> ShadowEndpoint:
    return ShadowEndpoint(
        endpoint.method,
        endpoint.host,
        endpoint.template,
        endpoint.requests,
        _seen(endpoint.last_seen),
    )


def _use(op: SpecOperation, group: list[Endpoint]) -> OperationUse:
    last = max(e.last_seen for e in group)
    return OperationUse(
        op.method, op.path, op.operation_id, sum(e.requests for e in group), _seen(last)
    )


def _seen(stamp: float) -> float | None:
    return stamp if math.isfinite(stamp) else None

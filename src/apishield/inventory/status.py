"""Documented, shadow or zombie: how an endpoint seen in traffic relates to what is documented."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from apishield.inventory.diff import documented_operation
from apishield.inventory.endpoint import Endpoint
from apishield.inventory.spec import ApiSpec, SpecOperation

DOCUMENTED = "documented"
SHADOW = "shadow"
ZOMBIE = "zombie"
UNDOCUMENTED = "undocumented"
"""No spec was given, so nothing can be called shadow; zombies are still found by version."""

_VERSION = re.compile(r"v(\d+)(?:\.(\d+))?\Z", re.IGNORECASE)


@dataclass(slots=True, frozen=True)
class EndpointStatus:
    state: str
    documented: bool = False
    """Matched an operation of the spec, whatever its state (a deprecated one is a zombie)."""
    deprecated: bool = False
    operation_id: str | None = None
    reasons: tuple[str, ...] = ()


@dataclass(slots=True)
class Coverage:
    """How much of the traffic the spec documents, and how much of the spec is still used."""

    observed: int
    documented: int
    operations: int
    operations_used: int
    unused: list[SpecOperation] = field(default_factory=list)

    @property
    def documented_percent(self) -> float:
        return 100.0 * self.documented / self.observed if self.observed else 100.0

    @property
    def used_percent(self) -> float:
        return 100.0 * self.operations_used / self.operations if self.operations else 0.0


def classify(
    endpoints: list[Endpoint], spec: ApiSpec | None
) -> tuple[dict[tuple[str, str, str], EndpointStatus], Coverage | None]:
    statuses: dict[tuple[str, str, str], EndpointStatus] = {}
    used: set[int] = set()
    for endpoint in endpoints:
        statuses[endpoint.key] = _against_spec(endpoint, spec, used)
    for endpoint, reason in _outdated_versions(endpoints):
        current = statuses[endpoint.key]
        if current.state != DOCUMENTED or current.deprecated:
            statuses[endpoint.key] = EndpointStatus(
                state=ZOMBIE,
                documented=current.documented,
                deprecated=current.deprecated,
                operation_id=current.operation_id,
                reasons=(*current.reasons, reason),
            )
    if spec is None:
        return statuses, None
    documented = sum(1 for s in statuses.values() if s.documented)
    unused = [op for op in spec.operations if id(op) not in used]
    coverage = Coverage(
        observed=len(endpoints),
        documented=documented,
        operations=len(spec.operations),
        operations_used=len(spec.operations) - len(unused),
        unused=unused,
    )
    return statuses, coverage


def _against_spec(endpoint: Endpoint, spec: ApiSpec | None, used: set[int]) -> EndpointStatus:
    if spec is None:
        return EndpointStatus(state=UNDOCUMENTED)
    operation = documented_operation(spec, endpoint)
    if operation is None:
        return EndpointStatus(state=SHADOW, reasons=("not in the API specification",))
    used.add(id(operation))
    if operation.deprecated and _answers(endpoint):
        return EndpointStatus(
            state=ZOMBIE,
            documented=True,
            deprecated=True,
            operation_id=operation.operation_id,
            reasons=("deprecated in the specification but still answering",),
        )
    return EndpointStatus(
        state=DOCUMENTED,
        documented=True,
        deprecated=operation.deprecated,
        operation_id=operation.operation_id,
    )


def _answers(endpoint: Endpoint) -> bool:
    return any(code < 400 for code in endpoint.statuses)


def _outdated_versions(endpoints: list[Endpoint]) -> list[tuple[Endpoint, str]]:
    """Endpoints under /vN/ that still answer while the same API has a live higher version."""
    groups: dict[tuple[str, str], list[tuple[tuple[int, int], Endpoint]]] = {}
    for endpoint in endpoints:
        found = _version(endpoint.template)
        if found is not None:
            prefix, version = found
            groups.setdefault((endpoint.host, prefix), []).append((version, endpoint))
    outdated = []
    for members in groups.values():
        live = [version for version, endpoint in members if _answers(endpoint)]
        if not live:
            continue
        newest = max(live)
        for version, endpoint in members:
            if version < newest and _answers(endpoint):
                label = f"v{newest[0]}" + (f".{newest[1]}" if newest[1] else "")
                outdated.append((endpoint, f"old API version still answering beside live {label}"))
    return outdated


def _version(template: str) -> tuple[str, tuple[int, int]] | None:
    segments = template.split("/")
    for index, segment in enumerate(segments):
        match = _VERSION.match(segment)
        if match:
            minor = int(match.group(2) or 0)
            return "/".join(segments[:index]), (int(match.group(1)), minor)
    return None

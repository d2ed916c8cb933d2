"""The analysis as one JSON-ready document: what `--json` writes, the store keeps, reports show."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from apishield import __version__
from apishield.checks.tally import FindingsTally
from apishield.detect.incidents import Incident
from apishield.engine import EndpointView, InventoryResult
from apishield.inventory import learner
from apishield.inventory.audit import AuditFinding, audit
from apishield.inventory.classify import PERSONAL, SECRETS
from apishield.inventory.spec import ApiSpec

THREAT_LEVELS = ("low", "medium", "high")


@dataclass(slots=True, frozen=True)
class RunInfo:
    kind: str
    started_at: float
    finished_at: float
    sources: Sequence[str]
    lines: int
    events: int
    skipped: int
    skipped_by_reason: Mapping[str, int]
    errors: Sequence[Mapping[str, Any]]
    partial: int = 0
    """Parts of analysed events left out as unreadable (`IngestStats.partial`)."""
    partial_by_reason: Mapping[str, int] = field(default_factory=dict)


def build_document(result: InventoryResult, run: RunInfo) -> dict[str, Any]:
    endpoints = [_endpoint(view) for view in result.endpoints]
    elapsed = max(run.finished_at - run.started_at, 1e-9)
    return {
        "apishield": __version__,
        "run": {
            "kind": run.kind,
            "started_at": run.started_at,
            "finished_at": run.finished_at,
            "seconds": round(elapsed, 3),
            "events_per_second": round(run.events / elapsed),
            "sources": list(run.sources),
            "lines": run.lines,
            "events": run.events,
            "skipped": run.skipped,
            "skipped_by_reason": dict(run.skipped_by_reason),
            "partial": run.partial,
            "partial_by_reason": dict(run.partial_by_reason),
            "errors": [dict(e) for e in run.errors],
            "stage_errors": result.stage_errors,
            "suspect_times": result.suspect_times,
            "first_suspect_time": result.first_suspect_time,
            "spec_title": result.spec.title if result.spec else None,
        },
        "summary": {
            **_summary(endpoints),
            "not_found_routes": result.not_found_routes,
            "endpoint_cap": learner.MAX_ENDPOINTS,
            "overflow_requests": result.overflow_requests,
        },
        "coverage": _coverage(result),
        "spec_audit": _spec_audit(result, endpoints),
        "findings": _findings(result.findings),
        "incidents": _incidents(result.incidents, result.incidents_let_go),
        "endpoints": endpoints,
        "actors": _actors(result),
    }


TOP = 5
"""Endpoints and actors listed per rule in reports; the store keeps the bounded counts."""
MAX_INCIDENTS = 1_000
"""Incidents a document lists in full, most severe first; the counts cover all of them."""
SEVERITIES = ("critical", "high", "medium", "low", "info")


def _incidents(incidents: list[Incident], let_go: Mapping[str, int]) -> dict[str, Any]:
    """`let_go`: closed incidents the correlator no longer holds, counted in the totals."""
    counts = Counter(i.severity.label for i in incidents)
    counts.update(let_go)
    return {
        "by_severity": {level: counts.get(level, 0) for level in SEVERITIES},
        "total": counts.total(),
        "items": [i.summary() for i in incidents[:MAX_INCIDENTS]],
    }


MAX_ACTORS = 1_000
"""Actors a document lists, the busiest, plus every actor an incident names."""


def _actors(result: InventoryResult) -> list[dict[str, Any]]:
    named = frozenset(actor for incident in result.incidents for actor in incident.actors)
    actors = result.actors.summaries(MAX_ACTORS, named)
    involved: Counter[str] = Counter()
    for incident in result.incidents:
        involved.update(incident.actors.keys())
    for actor in actors:
        actor["incidents"] = involved.get(actor["actor"], 0)
    return actors


def _findings(tally: FindingsTally) -> dict[str, Any]:
    rules = sorted(tally.rules.values(), key=lambda r: (-r.severity, -r.requests, r.rule_id))
    return {
        "threat_levels": {level: tally.threat_levels.get(level, 0) for level in THREAT_LEVELS},
        "rules": [
            {
                "rule_id": r.rule_id,
                "title": r.title,
                "severity": r.severity.label,
                "category": r.category,
                "class": r.cls,
                "requests": r.requests,
                "endpoints": dict(r.endpoints.most_common(TOP)),
                "actors": dict(r.actors.most_common(TOP)),
            }
            for r in rules
        ],
    }


def _endpoint(view: EndpointView) -> dict[str, Any]:
    return {
        **view.endpoint.summary(),
        "state": view.status.state,
        "deprecated": view.status.deprecated,
        "operation_id": view.status.operation_id,
        "reasons": list(view.status.reasons),
        "risk": {
            "score": view.risk.score,
            "level": view.risk.level,
            "factors": [
                {"name": f.name, "points": f.points, "detail": f.detail} for f in view.risk.factors
            ],
        },
    }


def _summary(endpoints: list[dict[str, Any]]) -> dict[str, Any]:
    classes: Counter[str] = Counter()
    for endpoint in endpoints:
        classes.update(endpoint["data_classes"])
    personal = [e for e in endpoints if set(e["data_classes"]) & PERSONAL]
    return {
        "endpoints": len(endpoints),
        "hosts": len({e["host"] for e in endpoints}),
        "requests": sum(e["requests"] for e in endpoints),
        "by_state": dict(Counter(e["state"] for e in endpoints)),
        "deprecated": sum(1 for e in endpoints if e["deprecated"]),
        "by_risk": dict(Counter(e["risk"]["level"] for e in endpoints)),
        "with_personal_data": len(personal),
        "with_secrets": sum(1 for e in endpoints if set(e["data_classes"]) & SECRETS),
        "unauthenticated_with_personal_data": sum(
            1 for e in personal if e["unauthenticated_share"] >= 0.5
        ),
        "data_classes": dict(classes.most_common()),
    }


def _coverage(result: InventoryResult) -> dict[str, Any] | None:
    coverage = result.coverage
    if coverage is None:
        return None
    return {
        "observed_endpoints": coverage.observed,
        "documented_endpoints": coverage.documented,
        "documented_percent": round(coverage.documented_percent, 1),
        "spec_operations": coverage.operations,
        "spec_operations_used": coverage.operations_used,
        "spec_used_percent": round(coverage.used_percent, 1),
        "unused_operations": [
            {
                "method": op.method,
                "path": op.path,
                "operation_id": op.operation_id,
                "deprecated": op.deprecated,
            }
            for op in coverage.unused
        ],
    }


_AUDITS: dict[int, tuple[ApiSpec, list[AuditFinding]]] = {}
"""The audit of each spec seen lately: a live server builds a document every few seconds."""


def _spec_audit(result: InventoryResult, endpoints: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the spec alone says is risky (`apishield spec audit`), each finding with the
    traffic its operation saw: a public operation that answers personal data and is called
    without credentials is the spec's risk confirmed."""
    spec = result.spec
    if spec is None:
        return []
    held = _AUDITS.get(id(spec))
    if held is None or held[0] is not spec:
        if len(_AUDITS) >= 4:
            _AUDITS.clear()
        held = _AUDITS[id(spec)] = (spec, audit(spec))
    seen: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for endpoint in endpoints:
        seen.setdefault((endpoint["method"], endpoint["template"]), []).append(endpoint)
    audited = []
    for finding in held[1]:
        observed = seen.get((finding.method, finding.path), [])
        requests = sum(e["requests"] for e in observed)
        anonymous = sum(e["requests"] * e["unauthenticated_share"] for e in observed)
        audited.append(
            {**finding.as_dict(), "requests": requests, "unauthenticated": round(anonymous)}
        )
    return audited

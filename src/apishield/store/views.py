"""What the REST API and the dashboard read: one run's inventory, incidents, actors and traffic,
paginated and sorted by the database, in the shapes docs/api.md gives."""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy import Select, case, func, select
from sqlalchemy.engine import Connection

from apishield.store.database import Store
from apishield.store.schema import (
    actors,
    endpoint_minutes,
    endpoints,
    finding_rules,
    incident_endpoints,
    incidents,
    named_endpoint_key,
    runs,
    spec_findings,
    threat_levels,
)

SEVERITIES = ("critical", "high", "medium", "low", "info")
EndpointSort = Literal["risk", "requests", "template"]
ActorSort = Literal["requests", "risk"]

_RANK = case({s: i for i, s in enumerate(SEVERITIES)}, value=incidents.c.severity, else_=9)
_ENDPOINT_FIELDS = (
    "server_errors",
    "auth",
    "unauthenticated_share",
    "data_classes",
    "latency_p50_ms",
    "latency_p95_ms",
)


class NotFoundError(LookupError):
    """No such run, endpoint or incident."""


class Views:
    def __init__(self, store: Store) -> None:
        self.store = store

    def run(self, run_id: int) -> dict[str, Any]:
        with self.store.engine.connect() as conn:
            row = conn.execute(select(runs).where(runs.c.id == run_id)).mappings().first()
        if row is None:
            raise NotFoundError(f"no run {run_id} in the store")
        return dict(row)

    def overview(self, run_id: int) -> dict[str, Any]:
        run = self.run(run_id)
        with self.store.engine.connect() as conn:
            levels: dict[str, int] = dict(
                conn.execute(
                    select(threat_levels.c.level, threat_levels.c.requests).where(
                        threat_levels.c.run_id == run_id
                    )
                ).all()
            )
            stored = dict(run["summary"] or {})
            counted = stored.pop("incidents", None) or _incident_counts(conn, run_id)
            summary = {**stored, **_endpoint_summary(conn, run_id)}
        return {
            "run": {
                "id": run["id"],
                "kind": run["kind"],
                "live": run["finished_at"] is None or run["kind"] == "live",
                "events": run["events"],
                "started_at": run["started_at"],
                "finished_at": run["finished_at"],
            },
            "summary": summary,
            "threat_levels": {level: levels.get(level, 0) for level in ("low", "medium", "high")},
            "incidents": counted,
            "coverage": run["coverage"],
        }

    def endpoints(
        self,
        run_id: int,
        *,
        sort: EndpointSort = "risk",
        state: str | None = None,
        q: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> dict[str, Any]:
        query = select(endpoints).where(endpoints.c.run_id == run_id)
        if state:
            query = query.where(endpoints.c.state == state)
        if q:
            query = query.where(endpoints.c.template.contains(q, autoescape=True))
        order = {
            "risk": (endpoints.c.risk_score.desc(), endpoints.c.requests.desc()),
            "requests": (endpoints.c.requests.desc(), endpoints.c.risk_score.desc()),
            "template": (endpoints.c.template, endpoints.c.method),
        }[sort]
        with self.store.engine.connect() as conn:
            total = _count(conn, query)
            rows = conn.execute(query.order_by(*order).limit(limit).offset(offset)).mappings()
            return {"total": total, "items": [_endpoint_item(row) for row in rows]}

    def endpoint(self, run_id: int, key: str) -> dict[str, Any]:
        with self.store.engine.connect() as conn:
            row = (
                conn.execute(
                    select(endpoints).where(endpoints.c.run_id == run_id, endpoints.c.key == key)
                )
                .mappings()
                .first()
            )
            if row is None:
                raise NotFoundError(f"no endpoint {key} in run {run_id}")
            summary = row["summary"]
            item = _endpoint_item(row)
            item.update(
                params=summary.get("params", []),
                statuses=summary.get("statuses", {}),
                risk={
                    "score": row["risk_score"],
                    "level": _risk_level(row["risk_score"]),
                    "factors": row["risk_factors"],
                },
                reasons=summary.get("reasons", []),
                response_fields=summary.get("response_fields", {}),
                findings=_endpoint_findings(conn, run_id, row["template"]),
                incidents=_endpoint_incidents(conn, run_id, key),
            )
            return item

    def series(self, run_id: int, key: str) -> dict[str, Any]:
        query = (
            select(
                endpoint_minutes.c.start,
                func.max(endpoint_minutes.c.seconds),
                func.sum(endpoint_minutes.c.requests),
                func.sum(endpoint_minutes.c.errors),
                func.max(endpoint_minutes.c.p95_ms),
            )
            .where(endpoint_minutes.c.run_id == run_id, endpoint_minutes.c.endpoint == key)
            .group_by(endpoint_minutes.c.start)
            .order_by(endpoint_minutes.c.start)
        )
        with self.store.engine.connect() as conn:
            rows = conn.execute(query).all()
        return {
            "seconds": max((row[1] for row in rows), default=60.0),
            "minutes": [row[0] for row in rows],
            "requests": [row[2] for row in rows],
            "errors": [row[3] for row in rows],
            "p95_ms": [row[4] for row in rows],
        }

    def incidents(
        self, run_id: int, *, severity: str | None = None, limit: int = 50, offset: int = 0
    ) -> dict[str, Any]:
        query = select(incidents.c.id).where(incidents.c.run_id == run_id)
        if severity:
            query = query.where(incidents.c.severity == severity)
        ordered = query.order_by(_RANK, incidents.c.last_seen.desc(), incidents.c.id)
        with self.store.engine.connect() as conn:
            total = _count(conn, query)
            # Sort and page the ids only; read the (large) details of one page.
            ids = conn.execute(ordered.limit(limit).offset(offset)).scalars().all()
            details = dict(
                conn.execute(
                    select(incidents.c.id, incidents.c.detail).where(incidents.c.id.in_(ids))
                ).all()
            )
            return {"total": total, "items": [_incident_item(details[i]) for i in ids]}

    def incident(self, run_id: int, number: int) -> dict[str, Any]:
        with self.store.engine.connect() as conn:
            detail = conn.execute(
                select(incidents.c.detail).where(
                    incidents.c.run_id == run_id, incidents.c.incident == number
                )
            ).scalar_one_or_none()
        if detail is None:
            raise NotFoundError(f"no incident {number} in run {run_id}")
        shown = dict(detail)
        shown["endpoint_ids"] = {
            name: key
            for name in shown.get("endpoints", {})
            if (key := named_endpoint_key(name)) is not None
        }
        return shown

    def actors(
        self, run_id: int, *, sort: ActorSort = "requests", limit: int = 50, offset: int = 0
    ) -> dict[str, Any]:
        query = select(actors.c.detail).where(actors.c.run_id == run_id)
        order = {
            "requests": (actors.c.requests.desc(), actors.c.id),
            "risk": (actors.c.incidents.desc(), actors.c.high.desc(), actors.c.requests.desc()),
        }[sort]
        with self.store.engine.connect() as conn:
            total = _count(conn, query)
            details = conn.execute(query.order_by(*order).limit(limit).offset(offset)).scalars()
            return {"total": total, "items": [dict(d) for d in details]}

    def findings(self, run_id: int) -> dict[str, Any]:
        return self.store.load_findings(run_id)

    def spec_audit(self, run_id: int, *, limit: int = 50, offset: int = 0) -> dict[str, Any]:
        """The run's spec audit, the most severe first and, within a severity, the operations
        the traffic used most."""
        columns = [c for c in spec_findings.c if c.name not in ("id", "run_id")]
        query = select(*columns).where(spec_findings.c.run_id == run_id)
        rank = case(
            {s: i for i, s in enumerate(SEVERITIES)}, value=spec_findings.c.severity, else_=9
        )
        order = (rank, spec_findings.c.requests.desc(), spec_findings.c.id)
        with self.store.engine.connect() as conn:
            total = _count(conn, query)
            rows = conn.execute(query.order_by(*order).limit(limit).offset(offset)).mappings()
            return {"total": total, "items": [dict(row) for row in rows]}


def _count(conn: Connection, query: Select[Any]) -> int:
    return int(conn.execute(select(func.count()).select_from(query.subquery())).scalar_one())


def _incident_counts(conn: Connection, run_id: int) -> dict[str, Any]:
    by_severity: dict[str, int] = dict(
        conn.execute(
            select(incidents.c.severity, func.count())
            .where(incidents.c.run_id == run_id)
            .group_by(incidents.c.severity)
        ).all()
    )
    return {
        "total": sum(by_severity.values()),
        "by_severity": {s: by_severity.get(s, 0) for s in SEVERITIES},
    }


def _risk_level(score: int) -> str:
    return "high" if score >= 70 else "medium" if score >= 40 else "low"


def _endpoint_item(row: Any) -> dict[str, Any]:
    summary = row["summary"]
    return {
        "id": row["key"],
        "method": row["method"],
        "host": row["host"],
        "template": row["template"],
        "state": row["state"],
        "deprecated": row["deprecated"],
        "risk": {"score": row["risk_score"], "level": _risk_level(row["risk_score"])},
        "requests": row["requests"],
        "first_seen": row["first_seen"],
        "last_seen": row["last_seen"],
        **{name: summary.get(name) for name in _ENDPOINT_FIELDS},
    }


def _endpoint_summary(conn: Connection, run_id: int) -> dict[str, Any]:
    columns = (endpoints.c.state, endpoints.c.risk_score, endpoints.c.requests)
    seen = (endpoints.c.first_seen, endpoints.c.last_seen)
    rows = conn.execute(select(*columns, *seen).where(endpoints.c.run_id == run_id)).all()
    by_state: dict[str, int] = {}
    by_risk: dict[str, int] = {}
    for state, score, *_ in rows:
        by_state[state] = by_state.get(state, 0) + 1
        by_risk[_risk_level(score)] = by_risk.get(_risk_level(score), 0) + 1
    firsts = [row[3] for row in rows if row[3] is not None]
    lasts = [row[4] for row in rows if row[4] is not None]
    return {
        "endpoints": len(rows),
        "requests": sum(row[2] for row in rows),
        "by_state": by_state,
        "by_risk": by_risk,
        "first_seen": min(firsts, default=None),
        "last_seen": max(lasts, default=None),
    }


def _endpoint_findings(conn: Connection, run_id: int, template: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(
            finding_rules.c.rule_id,
            finding_rules.c.title,
            finding_rules.c.severity,
            finding_rules.c.endpoints,
        ).where(finding_rules.c.run_id == run_id)
    ).all()
    return [
        {"rule_id": rule, "title": title, "severity": severity, "requests": seen[template]}
        for rule, title, severity, seen in rows
        if template in seen
    ]


def _endpoint_incidents(conn: Connection, run_id: int, key: str) -> list[dict[str, Any]]:
    touched = select(incident_endpoints.c.incident).where(
        incident_endpoints.c.run_id == run_id, incident_endpoints.c.endpoint == key
    )
    rows = conn.execute(
        select(incidents.c.incident, incidents.c.severity, incidents.c.title)
        .where(incidents.c.run_id == run_id, incidents.c.incident.in_(touched))
        .order_by(_RANK, incidents.c.last_seen.desc())
        .limit(50)
    ).all()
    return [
        {"id": number, "severity": severity, "title": title} for number, severity, title in rows
    ]


def _incident_item(detail: dict[str, Any]) -> dict[str, Any]:
    keep = ("id", "severity", "title", "category", "scope", "first_seen", "last_seen", "rules")
    item = {key: detail.get(key) for key in keep}
    item["actors"] = dict(list(detail.get("actors", {}).items())[:10])
    item["endpoints"] = dict(list(detail.get("endpoints", {}).items())[:10])
    return item

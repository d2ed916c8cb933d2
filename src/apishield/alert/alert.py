"""The `Alert` value: what every sink formats, built from an incident summary or a finding.

It holds names, keys, templates, times and counts, never a raw request: endpoints are route
templates, evidence is the finding's own (already masked or truncated by the check), capped
again here so a sink's message stays small. Traffic still writes some of it (an identity from an
unverified JWT, a Host, an attack sample), so every text an alert holds is shown escaped and
bounded, however the alert was built: no sink can then carry a line break into a syslog record
or a mail body, nor a megabyte identity.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from apishield.controls import escape_controls
from apishield.exchange import Exchange, Finding, Severity
from apishield.normalise.segments import shaped

Kind = Literal["incident", "finding"]
MAX_LISTED = 20
"""Actors, IPs, endpoints and rules named per alert; the rest are counted."""
MAX_EVIDENCE = 12
MAX_VALUE = 200
"""Characters of any one text: a title, a name (actor, IP, endpoint, rule), an evidence value."""


@dataclass(frozen=True, slots=True)
class Alert:
    kind: Kind
    severity: Severity
    title: str
    category: str
    rules: tuple[str, ...]
    actors: tuple[str, ...]
    ips: tuple[str, ...]
    endpoints: tuple[str, ...]
    first_seen: float
    """Event time, epoch seconds."""
    last_seen: float
    raised_at: float
    """Wall clock when apishield raised it, epoch seconds."""
    incident_id: int | None = None
    scope: str = ""
    evidence: Mapping[str, str] | None = None

    def __post_init__(self) -> None:
        """Every text `shown`, however the alert was built."""
        for name in ("title", "category", "scope"):
            object.__setattr__(self, name, shown(getattr(self, name)))
        for name in ("rules", "actors", "ips", "endpoints"):
            object.__setattr__(self, name, tuple(shown(text) for text in getattr(self, name)))
        if self.evidence is not None:
            evidence = {shown(key): shown(value) for key, value in self.evidence.items()}
            object.__setattr__(self, "evidence", evidence)

    def body(self) -> dict[str, Any]:
        """The JSON object webhooks, stdout and email attachments carry."""
        return {
            "source": "apishield",
            "kind": self.kind,
            "severity": self.severity.label,
            "title": self.title,
            "category": self.category,
            "incident_id": self.incident_id,
            "scope": self.scope,
            "rules": list(self.rules),
            "actors": list(self.actors),
            "ips": list(self.ips),
            "endpoints": list(self.endpoints),
            "first_seen": iso(self.first_seen),
            "last_seen": iso(self.last_seen),
            "raised_at": iso(self.raised_at),
            "evidence": dict(self.evidence or {}),
        }


def shown(text: str, limit: int = MAX_VALUE) -> str:
    """`text` as a receiver may print it, control characters escaped as Python writes them
    (`\\r`, `\\x1b`, `\\u202e`) so a value never breaks a line or hides what follows, and
    cut to `limit` characters ending in "…"."""
    text = escape_controls(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def iso(epoch: float) -> str:
    """RFC 3339 in UTC with milliseconds, as syslog and SIEMs read it."""
    moment = dt.datetime.fromtimestamp(epoch, dt.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def from_incident(summary: Mapping[str, Any], raised_at: float) -> Alert:
    """An alert from `Incident.summary()`; raises KeyError or ValueError when it is not one."""
    incident_id = int(summary["id"])
    return Alert(
        kind="incident",
        severity=Severity[str(summary["severity"]).upper()],
        title=str(summary["title"]),
        category=str(summary.get("category") or ""),
        rules=_first(summary.get("rules") or ()),
        actors=_first(summary.get("actors") or ()),
        ips=_first(summary.get("ips") or ()),
        endpoints=_first(summary.get("endpoints") or ()),
        first_seen=float(summary["first_seen"]),
        last_seen=float(summary["last_seen"]),
        raised_at=raised_at,
        incident_id=incident_id,
        scope=str(summary.get("scope") or ""),
        evidence=_timeline_evidence(summary.get("timeline") or ()),
    )


def from_finding(exchange: Exchange, finding: Finding, actor: str, raised_at: float) -> Alert:
    """An alert about one finding of one request, named by its route template, never its path:
    a value the learner still keeps as a literal segment is shown by its kind."""
    ip = exchange.actor.ip if exchange.actor is not None else exchange.request.peer_ip
    route = shaped(exchange.route) if exchange.route else "(no route)"
    return Alert(
        kind="finding",
        severity=finding.severity,
        title=finding.title,
        category=finding.category,
        rules=(finding.rule_id,),
        actors=(actor,),
        ips=(ip,) if ip else (),
        endpoints=(f"{exchange.request.method} {route}",),
        first_seen=exchange.started,
        last_seen=exchange.started,
        raised_at=raised_at,
        scope=finding.scope,
        evidence=_capped(finding.evidence.items()),
    )


def _first(names: Iterable[Any]) -> tuple[str, ...]:
    """The first names of a list or of a mapping ordered most common first."""
    listed: list[str] = []
    for name in names:
        if len(listed) == MAX_LISTED:
            break
        listed.append(str(name))
    return tuple(listed)


def _timeline_evidence(timeline: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """The first detection's evidence of each rule, keys prefixed by the rule."""
    pairs: list[tuple[str, object]] = []
    seen: set[str] = set()
    for entry in timeline:
        rule = str(entry.get("rule_id", ""))
        if rule in seen:
            continue
        seen.add(rule)
        pairs += ((f"{rule}.{key}", value) for key, value in (entry.get("evidence") or {}).items())
    return _capped(pairs)


def _capped(pairs: Iterable[tuple[str, object]]) -> dict[str, str]:
    capped: dict[str, str] = {}
    for key, value in pairs:
        if len(capped) == MAX_EVIDENCE:
            break
        capped[shown(str(key))] = shown(str(value))
    return capped

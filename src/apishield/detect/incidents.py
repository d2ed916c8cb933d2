"""Correlation: detections about one actor, or one campaign across actors, become one incident.

An incident stays open while its scope keeps producing detections; after `QUIET` of event time
without one, the next detection opens a new incident. A detection about one actor on an endpoint
where that actor already takes part in an open campaign joins the campaign: two hundred proxy
addresses each tripping a per-address rule during one enumeration are one incident, not two
hundred and one. Severity is the highest of its findings,
raised a step when three rules agree, two at medium or above. Evidence is bounded: a timeline of the
first detections of each rule, up to 50 actors and 20 endpoints, with counts beyond.

Memory is bounded as well, for a server that runs for months: open incidents are kept in the
order they were last touched, so the stalest one is closed first in constant time, and closed
incidents are kept up to `MAX_CLOSED`, the most severe and most recent; the ones let go are
still counted by severity (`forgotten`).
"""

from __future__ import annotations

import heapq
import itertools
from collections import Counter, OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from apishield.detect.registry import Detection
from apishield.exchange import Finding, Severity

QUIET = 6 * 3_600.0
RECENT = 16
"""Incidents remembered per detection, for the caller that asks which one exchange touched."""
MAX_TIMELINE = 50
MAX_ACTORS = 50
MAX_ENDPOINTS = 20
MAX_OPEN = 10_000
"""Open incidents kept in memory; the oldest-touched is closed first past this."""
MAX_CLOSED = 10_000
"""Closed incidents kept in memory; past this the least severe, then the oldest, are let go."""
MAX_MEMBERS = 100_000
"""(actor, endpoint) pairs remembered as taking part in a campaign; the oldest go first."""


@dataclass(slots=True)
class TimelineEntry:
    time: float
    rule_id: str
    title: str
    severity: Severity
    actor: str
    endpoint: str
    evidence: dict[str, str]


@dataclass(slots=True)
class Incident:
    id: int
    scope: str
    first_seen: float
    last_seen: float
    severity: Severity = Severity.INFO
    peak: Severity = Severity.INFO
    """The highest severity of any one finding; `severity` adds agreement between rules."""
    category: str = ""
    title: str = ""
    strong: set[str] = field(default_factory=set)
    """Rules that found something of medium severity or more."""
    rules: Counter[str] = field(default_factory=Counter)
    actors: Counter[str] = field(default_factory=Counter)
    ips: set[str] = field(default_factory=set)
    endpoints: Counter[str] = field(default_factory=Counter)
    timeline: list[TimelineEntry] = field(default_factory=list)
    detected_at: dict[str, float] = field(default_factory=dict)
    """Rule id -> event time of its first detection in this incident."""

    def add(self, detection: Detection) -> bool:
        """Fold a detection in; True when it raised the incident's severity."""
        finding = detection.finding
        self.last_seen = max(self.last_seen, detection.time)
        self.rules[finding.rule_id] += 1
        _bounded(self.actors, detection.actor, MAX_ACTORS)
        if len(self.ips) < MAX_ACTORS:
            self.ips.add(detection.ip)
        _bounded(self.endpoints, detection.endpoint, MAX_ENDPOINTS)
        if finding.rule_id not in self.detected_at:
            self.detected_at[finding.rule_id] = detection.time
        if detection.fresh and len(self.timeline) < MAX_TIMELINE:
            self.timeline.append(_entry(detection))
        return self._grade(finding)

    def _grade(self, finding: Finding) -> bool:
        before = self.severity
        if finding.severity > self.peak or not self.title:
            self.peak = max(self.peak, finding.severity)
            self.title, self.category = finding.title, finding.category
        if finding.severity >= Severity.MEDIUM:
            self.strong.add(finding.rule_id)
        self.severity = self.peak
        if len(self.rules) >= 3 and len(self.strong) >= 2:
            self.severity = Severity(min(self.peak + 1, Severity.CRITICAL))
        return self.severity > before

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "scope": self.scope,
            "title": self.title,
            "severity": self.severity.label,
            "category": self.category,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
            "rules": dict(self.rules),
            "detected_at": self.detected_at,
            "actors": dict(self.actors.most_common()),
            "ips": sorted(self.ips),
            "endpoints": dict(self.endpoints.most_common()),
            "timeline": [
                {
                    "time": e.time,
                    "rule_id": e.rule_id,
                    "title": e.title,
                    "severity": e.severity.label,
                    "actor": e.actor,
                    "endpoint": e.endpoint,
                    "evidence": e.evidence,
                }
                for e in self.timeline
            ],
        }


class Correlator:
    def __init__(self) -> None:
        self.open: OrderedDict[str, Incident] = OrderedDict()
        """Scope -> its open incident, the least recently touched first."""
        self._closed: list[tuple[int, float, int, Incident]] = []
        """A heap of (severity, last seen, id, incident): the first is the one to let go."""
        self.forgotten: Counter[Severity] = Counter()
        """Closed incidents let go past `MAX_CLOSED`, by severity."""
        self._ids = itertools.count(1)
        self._members: dict[tuple[str, str], str] = {}
        """(actor, endpoint) -> the scope of the campaign it last took part in."""
        self.on_change: Callable[[Incident], None] | None = None
        """Told of every incident a detection opens or grows (live alerting and metrics)."""
        self.detections = 0
        """Detections taken so far: a caller compares it before and after one exchange."""
        self.recent: deque[Incident] = deque(maxlen=RECENT)
        """The incidents the latest detections went to, one entry per detection."""

    def add(self, detection: Detection) -> Incident:
        scope = self._scope(detection)
        incident = self.open.get(scope)
        if incident is not None and detection.time - incident.last_seen > QUIET:
            self._close(scope)
            incident = None
        if incident is None:
            if len(self.open) >= MAX_OPEN:
                self._close(next(iter(self.open)))
            incident = Incident(next(self._ids), scope, detection.time, detection.time)
            self.open[scope] = incident
        else:
            self.open.move_to_end(scope)
        incident.add(detection)
        if scope.startswith("campaign:"):
            self._remember(detection, scope)
        self.detections += 1
        self.recent.append(incident)
        if self.on_change is not None:
            self.on_change(incident)
        return incident

    @property
    def closed(self) -> list[Incident]:
        """The closed incidents still in memory, in no particular order."""
        return [entry[3] for entry in self._closed]

    def _close(self, scope: str) -> None:
        incident = self.open.pop(scope)
        entry = (int(incident.severity), incident.last_seen, incident.id, incident)
        if len(self._closed) < MAX_CLOSED:
            heapq.heappush(self._closed, entry)
            return
        let_go = heapq.heappushpop(self._closed, entry)[3]
        self.forgotten[let_go.severity] += 1

    def _scope(self, detection: Detection) -> str:
        """The campaign an actor's detection belongs to, when the actor is already in one open
        on that endpoint; else the detection's own scope."""
        if not detection.scope.startswith("actor:"):
            return detection.scope
        campaign = self._members.get((detection.actor, detection.endpoint))
        incident = self.open.get(campaign) if campaign is not None else None
        if incident is None or detection.time - incident.last_seen > QUIET:
            return detection.scope
        return incident.scope

    def _remember(self, detection: Detection, scope: str) -> None:
        member = (detection.actor, detection.endpoint)
        self._members.pop(member, None)
        self._members[member] = scope
        if len(self._members) > MAX_MEMBERS:
            del self._members[next(iter(self._members))]

    def incidents(self) -> list[Incident]:
        """Every incident so far, the most severe and most recent first."""
        every = [entry[3] for entry in self._closed]
        every.extend(self.open.values())
        return sorted(every, key=lambda i: (-i.severity, -i.last_seen))


def _entry(detection: Detection) -> TimelineEntry:
    finding = detection.finding
    return TimelineEntry(
        detection.time,
        finding.rule_id,
        finding.title,
        finding.severity,
        detection.actor,
        detection.endpoint,
        dict(finding.evidence),
    )


def _bounded(counter: Counter[str], key: str, limit: int) -> None:
    if key in counter or len(counter) < limit:
        counter[key] += 1

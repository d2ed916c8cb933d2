"""Counts of what the checks found over a run: per rule, and the threat-level mix of requests."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from apishield.exchange import Exchange, Severity, threat_label
from apishield.normalise.segments import shaped


@dataclass(slots=True)
class RuleCount:
    rule_id: str
    title: str
    severity: Severity
    category: str
    cls: str
    requests: int = 0
    endpoints: Counter[str] = field(default_factory=Counter)
    """Route template -> requests, bounded to MAX_ENDPOINTS_PER_RULE."""
    actors: Counter[str] = field(default_factory=Counter)
    """Actor key -> requests, bounded to MAX_ACTORS_PER_RULE."""


_NO_THREAT = threat_label(Severity.INFO)
"""The level of a request without findings, the common case."""
MAX_RULES = 1_000
MAX_ENDPOINTS_PER_RULE = 200
MAX_ACTORS_PER_RULE = 200


class FindingsTally:
    """The last response stage: it only counts, so reports can say what the checks saw."""

    name = "findings"

    def __init__(self) -> None:
        self.rules: dict[str, RuleCount] = {}
        self.threat_levels: Counter[str] = Counter()

    def __call__(self, exchange: Exchange) -> None:
        findings = exchange.findings
        if not findings:
            self.threat_levels[_NO_THREAT] += 1
            return
        self.threat_levels[threat_label(exchange.threat_level)] += 1
        route = shaped(exchange.route) if exchange.route else "(unrouted)"
        actor = exchange.actor.key if exchange.actor is not None else ""
        rule_ids = (findings[0].rule_id,) if len(findings) == 1 else {f.rule_id for f in findings}
        for rule_id in rule_ids:
            count = self.rules.get(rule_id)
            if count is None:
                if len(self.rules) >= MAX_RULES:
                    continue
                first = next(f for f in findings if f.rule_id == rule_id)
                count = self.rules[rule_id] = RuleCount(
                    rule_id,
                    first.title,
                    first.severity,
                    first.category,
                    first.evidence.get("class", ""),
                )
            count.requests += 1
            # Bounded counts, inlined: this runs for every finding of every request.
            endpoints = count.endpoints
            if route in endpoints:
                endpoints[route] += 1
            elif len(endpoints) < MAX_ENDPOINTS_PER_RULE:
                endpoints[route] = 1
            actors = count.actors
            if not actor:
                continue
            if actor in actors:
                actors[actor] += 1
            elif len(actors) < MAX_ACTORS_PER_RULE:
                actors[actor] = 1

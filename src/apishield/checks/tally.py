"""Counts of what the checks found over a run: per rule, and the threat-level mix of requests."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from apishield.exchange import Exchange, Severity, threat_label


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
        self.threat_levels[threat_label(exchange.threat_level)] += 1
        if not findings:
            return
        route = exchange.route or "(unrouted)"
        actor = exchange.actor.key if exchange.actor is not None else ""
        for rule_id in {f.rule_id for f in findings}:
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
            _bump(count.endpoints, route, MAX_ENDPOINTS_PER_RULE)
            if actor:
                _bump(count.actors, actor, MAX_ACTORS_PER_RULE)


def _bump(counter: Counter[str], key: str, limit: int) -> None:
    if key in counter or len(counter) < limit:
        counter[key] += 1

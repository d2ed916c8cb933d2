"""Who uses the API: per actor, its addresses, endpoints, volume, errors and threat-level mix.

An actor is the key incidents use (`id:…`, `key:…`, `session:…`, `ip:…`), so the dashboard can go
from an incident to everything its actors did. Memory is bounded: at most `max_actors` actors,
16 addresses and 32 endpoints each (beyond those, distinct counts only up to a cap). When the
table is full, a new actor is kept only if its request carries a medium or worse finding, in
place of the actor with the fewest requests; the rest are counted in `overflow`.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from apishield.exchange import Actor, Exchange, Severity

MAX_ACTORS = 20_000
MAX_IPS = 16
MAX_ENDPOINTS = 32
MAX_DISTINCT = 256
Route = tuple[str, str, str]
"""(method, host, route template); shown as "METHOD host template"."""
MAX_SAMPLES = 50_000
"""Endpoint names with a raw sample path kept to settle them (the inventory caps at 20,000)."""
"""Addresses and endpoints counted per actor beyond those listed, for the distinct counts."""


@dataclass(slots=True)
class ActorStats:
    identity: str | None
    requests: int = 0
    errors: int = 0
    first_seen: float = 0.0
    last_seen: float = 0.0
    ips: set[str] = field(default_factory=set)
    endpoints: dict[Route, int] = field(default_factory=dict)
    more_ips: set[str] = field(default_factory=set)
    more_endpoints: set[Route] = field(default_factory=set)
    threat: list[int] = field(default_factory=lambda: [0, 0, 0])
    """Requests at threat level low, medium, high."""

    def __init__(  # the dataclass signature, written out: one is made per new actor
        self,
        identity: str | None,
        requests: int = 0,
        errors: int = 0,
        first_seen: float = 0.0,
        last_seen: float = 0.0,
        ips: set[str] | None = None,
        endpoints: dict[Route, int] | None = None,
        more_ips: set[str] | None = None,
        more_endpoints: set[Route] | None = None,
        threat: list[int] | None = None,
    ) -> None:
        self.identity = identity
        self.requests = requests
        self.errors = errors
        self.first_seen = first_seen
        self.last_seen = last_seen
        self.ips = set() if ips is None else ips
        self.endpoints = {} if endpoints is None else endpoints
        self.more_ips = set() if more_ips is None else more_ips
        self.more_endpoints = set() if more_endpoints is None else more_endpoints
        self.threat = [0, 0, 0] if threat is None else threat

    def summary(self, key: str) -> dict[str, Any]:
        return {
            "actor": key,
            "identity": self.identity,
            "ips": sorted(self.ips),
            "ip_count": len(self.ips) + len(self.more_ips),
            "endpoints": {" ".join(route): n for route, n in _busiest(self.endpoints, 10)},
            "endpoint_count": len(self.endpoints) + len(self.more_endpoints),
            "requests": self.requests,
            "errors": self.errors,
            "threat": dict(zip(("low", "medium", "high"), self.threat, strict=True)),
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
        }


class ActorTally:
    """A response stage: counts each exchange against its actor."""

    name = "actors"

    def __init__(self, max_actors: int = MAX_ACTORS) -> None:
        self.max_actors = max_actors
        self.actors: dict[str, ActorStats] = {}
        self.overflow = 0
        """Requests of actors that did not fit."""
        self.samples: dict[Route, tuple[Route, str]] = {}
        """Endpoint -> its name as the one tuple every actor's counts share (so they find it by
        identity instead of comparing three fresh strings), and one raw path, in memory only,
        to settle provisional templates."""

    def __call__(self, exchange: Exchange) -> None:
        actor = exchange.actor
        if actor is None:
            return
        key = actor.key
        stats = self.actors.get(key) or self._admit(key, actor, exchange)
        if stats is None:
            return
        stats.requests += 1
        started = exchange.started
        if started > stats.last_seen:
            stats.last_seen = started
        if started < stats.first_seen:
            stats.first_seen = started
        response = exchange.response
        if response is not None and response.status >= 400:
            stats.errors += 1
        stats.threat[_threat_index(exchange.threat_level) if exchange.findings else 0] += 1
        ip = actor.ip
        ips = stats.ips
        if ip not in ips:  # bounded sets, inlined like the counts below
            if len(ips) < MAX_IPS:
                ips.add(ip)
            elif len(stats.more_ips) < MAX_DISTINCT:
                stats.more_ips.add(ip)
        request = exchange.request
        route = (request.method, request.host, exchange.route or request.path)
        known = self.samples.get(route)
        route = self._share(route, request.path) if known is None else known[0]
        endpoints = stats.endpoints  # bounded counts, inlined: this runs on every exchange
        count = endpoints.get(route)
        if count is not None:
            endpoints[route] = count + 1
        elif len(endpoints) < MAX_ENDPOINTS:
            endpoints[route] = 1
        elif len(stats.more_endpoints) < MAX_DISTINCT:
            stats.more_endpoints.add(route)

    def summaries(
        self, limit: int = 1_000, keep: frozenset[str] = frozenset()
    ) -> list[dict[str, Any]]:
        """The `limit` busiest actors, riskiest first among equals, plus every actor in `keep`
        (those named by incidents)."""
        ranked = sorted(
            self.actors.items(), key=lambda item: (-item[1].requests, -item[1].threat[2])
        )
        chosen = {key for key, _ in ranked[:limit]}
        chosen.update(key for key in keep if key in self.actors)
        return [stats.summary(key) for key, stats in ranked if key in chosen]

    def settle(self, retemplate: Callable[[str, str], str]) -> None:
        """Name every endpoint by its template as the learner settles it now: an early
        provisional route (a raw path seen once) must not reach a report."""
        names: dict[Route, Route] = {
            route: (route[0], route[1], retemplate(route[1], path))
            for route, (_, path) in self.samples.items()
        }
        samples: dict[Route, tuple[Route, str]] = {}
        for name, (_, path) in self.samples.items():
            samples.setdefault(names[name], (names[name], path))
        self.samples = samples
        for stats in self.actors.values():
            if any(names.get(name, name) != name for name in stats.endpoints):
                settled: dict[Route, int] = {}
                for name, count in stats.endpoints.items():
                    new = names.get(name, name)
                    known = samples.get(new)
                    new = new if known is None else known[0]
                    settled[new] = settled.get(new, 0) + count
                stats.endpoints = settled

    def _share(self, route: Route, path: str) -> Route:
        """A new endpoint name: kept, with its raw path, while there is room."""
        if len(self.samples) < MAX_SAMPLES:
            self.samples[route] = (route, path)
        return route

    def _admit(self, key: str, actor: Actor, exchange: Exchange) -> ActorStats | None:
        """A new actor's record, or None when the table is full and it does not earn a place."""
        level = exchange.threat_level if exchange.findings else Severity.INFO
        if len(self.actors) >= self.max_actors and not self._make_room(level):
            self.overflow += 1
            return None
        stats = self.actors[key] = ActorStats(actor.identity, first_seen=exchange.started)
        return stats

    def _make_room(self, level: Severity) -> bool:
        if level < Severity.MEDIUM:
            return False
        # The quietest of a sample: a full scan per newcomer would cost milliseconds.
        candidates = itertools.islice(self.actors, 0, None, max(1, len(self.actors) // 64))
        quietest = min(candidates, key=lambda key: self.actors[key].requests)
        self.overflow += self.actors.pop(quietest).requests
        return True


def _busiest(counts: dict[Route, int], limit: int) -> list[tuple[Route, int]]:
    """The `limit` largest counts, the first counted first among equals (`Counter.most_common`)."""
    return heapq.nlargest(limit, counts.items(), key=lambda item: item[1])


def _threat_index(level: Severity) -> int:
    """The slot of `ActorStats.threat` a request at this level counts in."""
    return 2 if level >= Severity.HIGH else 1 if level == Severity.MEDIUM else 0

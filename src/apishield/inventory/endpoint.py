"""What apishield knows about one endpoint: counts, shapes and classes, never values."""

from __future__ import annotations

import bisect
import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

# Log-spaced latency buckets from 0.1 ms to ~2 min, ~12% apart: a p95 within about 6% costs
# 120 integers per endpoint instead of every sample.
LATENCY_BUCKETS: list[float] = [0.0001 * 1.12**i for i in range(125)]
LATENCY_BUCKET_OF: dict[float, int] = {}
"""Duration -> bucket index, as `bisect_left` finds it: logs round durations to a millisecond or
a microsecond, so a few thousand values recur and a lookup beats a binary search over floats."""
LATENCY_CACHE_MAX = 4096
MAX_ACTORS = 1024
_MAX_FIELDS = 256


@dataclass(slots=True)
class LatencyHistogram:
    counts: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BUCKETS) + 1))
    total: int = 0

    def add(self, seconds: float) -> None:
        self.counts[latency_bucket(seconds)] += 1
        self.total += 1

    def quantile(self, q: float) -> float | None:
        if self.total == 0:
            return None
        rank = max(1, math.ceil(q * self.total))
        seen = 0
        for index, count in enumerate(self.counts):
            seen += count
            if seen >= rank:
                return LATENCY_BUCKETS[min(index, len(LATENCY_BUCKETS) - 1)]
        return LATENCY_BUCKETS[-1]  # pragma: no cover - the loop always reaches rank

    def merge(self, other: LatencyHistogram) -> None:
        self.counts = [a + b for a, b in zip(self.counts, other.counts, strict=True)]
        self.total += other.total


def latency_bucket(seconds: float) -> int:
    """The histogram slot of a duration: `bisect_left` over the bounds, remembered per value."""
    index = LATENCY_BUCKET_OF.get(seconds)
    if index is None:
        index = bisect.bisect_left(LATENCY_BUCKETS, seconds)
        if len(LATENCY_BUCKET_OF) >= LATENCY_CACHE_MAX:
            LATENCY_BUCKET_OF.clear()
        LATENCY_BUCKET_OF[seconds] = index
    return index


@dataclass(slots=True)
class ParamStats:
    """One parameter's observed types. Values themselves are never kept."""

    location: str
    """"path", "query", "body" or "header"."""
    name: str
    seen: int = 0
    types: Counter[str] = field(default_factory=Counter)

    @property
    def type(self) -> str:
        """The dominant observed type; "string" once a parameter's values disagree."""
        if not self.types:
            return "string"
        kind, count = self.types.most_common(1)[0]
        return kind if count >= 0.95 * self.seen else "string"

    def merge(self, other: ParamStats) -> None:
        self.seen += other.seen
        self.types.update(other.types)


@dataclass(slots=True)
class Endpoint:
    method: str
    host: str
    template: str
    requests: int = 0
    first_seen: float = math.inf
    last_seen: float = -math.inf
    statuses: Counter[int] = field(default_factory=Counter)
    auth: Counter[str] = field(default_factory=Counter)
    """Auth scheme -> requests; "none" counts unauthenticated requests."""
    latency: LatencyHistogram = field(default_factory=LatencyHistogram)
    params: dict[tuple[str, str], ParamStats] = field(default_factory=dict)
    data_classes: Counter[str] = field(default_factory=Counter)
    """Sensitive class -> values seen in responses."""
    responses_scanned: int = 0
    responses_with_personal_data: int = 0
    person_records: int = 0
    max_person_records: int = 0
    response_fields: dict[str, str] = field(default_factory=dict)
    """Response field path -> data class, for the shape of what the endpoint gives away."""
    content_types: Counter[str] = field(default_factory=Counter)
    actors: set[str] = field(default_factory=set)
    """Up to 1024 actor keys; past that the endpoint is simply "widely used"."""
    sample_path: str = ""
    """One raw path, kept in memory only, so templates can be re-derived as learning improves."""

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.method, self.host, self.template)

    @property
    def unauthenticated_share(self) -> float:
        return self.auth.get("none", 0) / self.requests if self.requests else 0.0

    @property
    def distinct_actors(self) -> int:
        return len(self.actors)

    @property
    def actors_capped(self) -> bool:
        return len(self.actors) >= MAX_ACTORS

    def add_actor(self, key: str) -> None:
        if len(self.actors) < MAX_ACTORS:
            self.actors.add(key)

    def add_field(self, path: str, data_class: str) -> None:
        if path in self.response_fields or len(self.response_fields) < _MAX_FIELDS:
            self.response_fields[path] = data_class

    def status_share(self, low: int, high: int) -> float:
        hits = sum(n for code, n in self.statuses.items() if low <= code <= high)
        return hits / self.requests if self.requests else 0.0

    def merge(self, other: Endpoint) -> None:
        """Fold another endpoint's statistics in, when learning shows they are one route."""
        self.requests += other.requests
        self.first_seen = min(self.first_seen, other.first_seen)
        self.last_seen = max(self.last_seen, other.last_seen)
        self.statuses.update(other.statuses)
        self.auth.update(other.auth)
        self.latency.merge(other.latency)
        for key, stats in other.params.items():
            mine = self.params.get(key)
            if mine is None:
                self.params[key] = stats
            else:
                mine.merge(stats)
        self.data_classes.update(other.data_classes)
        self.responses_scanned += other.responses_scanned
        self.responses_with_personal_data += other.responses_with_personal_data
        self.person_records += other.person_records
        self.max_person_records = max(self.max_person_records, other.max_person_records)
        for path, data_class in other.response_fields.items():
            self.add_field(path, data_class)
        self.content_types.update(other.content_types)
        for actor in other.actors:
            self.add_actor(actor)

    def summary(self) -> dict[str, Any]:
        """A JSON-ready view for reports, the store and the API."""
        return {
            "method": self.method,
            "host": self.host,
            "template": self.template,
            "requests": self.requests,
            "first_seen": self.first_seen if self.requests else None,
            "last_seen": self.last_seen if self.requests else None,
            "statuses": {str(code): n for code, n in sorted(self.statuses.items())},
            "server_errors": sum(n for code, n in self.statuses.items() if code >= 500),
            "auth": dict(self.auth),
            "unauthenticated_share": round(self.unauthenticated_share, 4),
            "latency_p50_ms": _ms(self.latency.quantile(0.5)),
            "latency_p95_ms": _ms(self.latency.quantile(0.95)),
            "params": [
                {"in": p.location, "name": p.name, "type": p.type, "seen": p.seen}
                for p in sorted(self.params.values(), key=lambda p: (p.location, p.name))
            ],
            "data_classes": dict(self.data_classes.most_common()),
            "responses_scanned": self.responses_scanned,
            "responses_with_personal_data": self.responses_with_personal_data,
            "max_person_records": self.max_person_records,
            "response_fields": dict(sorted(self.response_fields.items())),
            "content_types": dict(self.content_types.most_common(5)),
            "distinct_actors": self.distinct_actors,
            "actors_capped": self.actors_capped,
        }


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 2)


def endpoint_from_summary(summary: dict[str, Any]) -> Endpoint:
    """Rebuild an endpoint from a stored summary, for exports and diffs of a past run.

    Latency and the actor set are not stored in full, so they come back empty.
    """
    endpoint = Endpoint(
        method=summary["method"],
        host=summary["host"],
        template=summary["template"],
        requests=summary["requests"],
        first_seen=summary["first_seen"] if summary["first_seen"] is not None else math.inf,
        last_seen=summary["last_seen"] if summary["last_seen"] is not None else -math.inf,
        statuses=Counter({int(code): n for code, n in summary["statuses"].items()}),
        auth=Counter(summary["auth"]),
        data_classes=Counter(summary["data_classes"]),
        responses_scanned=summary["responses_scanned"],
        responses_with_personal_data=summary["responses_with_personal_data"],
        max_person_records=summary["max_person_records"],
        response_fields=dict(summary["response_fields"]),
        content_types=Counter(summary["content_types"]),
    )
    for param in summary["params"]:
        endpoint.params[(param["in"], param["name"])] = ParamStats(
            location=param["in"],
            name=param["name"],
            seen=param["seen"],
            types=Counter({param["type"]: param["seen"]}),
        )
    return endpoint

from __future__ import annotations

from collections import Counter

from apishield.inventory.endpoint import (
    Endpoint,
    LatencyHistogram,
    ParamStats,
    endpoint_from_summary,
)


def test_latency_quantiles_are_close() -> None:
    histogram = LatencyHistogram()
    for ms in range(1, 1001):
        histogram.add(ms / 1000)
    p50, p95 = histogram.quantile(0.5), histogram.quantile(0.95)
    assert p50 is not None and p95 is not None
    assert abs(p50 - 0.5) / 0.5 < 0.13
    assert abs(p95 - 0.95) / 0.95 < 0.13
    assert LatencyHistogram().quantile(0.5) is None


def test_param_type_needs_agreement() -> None:
    stats = ParamStats("query", "limit", seen=100, types=Counter({"integer": 96, "string": 4}))
    assert stats.type == "integer"
    stats.types["string"] += 10
    stats.seen += 10
    assert stats.type == "string"


def test_merge_and_summary_round_trip() -> None:
    a = Endpoint("GET", "api", "/a/{id}", requests=2, first_seen=10, last_seen=20)
    a.statuses.update({200: 2})
    a.auth.update({"bearer": 2})
    b = Endpoint("GET", "api", "/a/{id}", requests=3, first_seen=5, last_seen=15)
    b.statuses.update({404: 2, 500: 1})
    b.auth.update({"none": 3})
    b.params[("path", "id")] = ParamStats("path", "id", seen=3, types=Counter({"integer": 3}))
    a.merge(b)
    assert (a.requests, a.first_seen, a.last_seen) == (5, 5, 20)
    assert a.unauthenticated_share == 0.6
    summary = a.summary()
    assert summary["server_errors"] == 1
    back = endpoint_from_summary(summary)
    assert back.summary()["params"] == summary["params"]
    assert back.statuses == a.statuses


def test_actor_set_is_bounded() -> None:
    endpoint = Endpoint("GET", "api", "/")
    for i in range(5000):
        endpoint.add_actor(f"ip:{i}")
    assert endpoint.distinct_actors == 1024 and endpoint.actors_capped

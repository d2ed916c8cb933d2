from __future__ import annotations

from collections import Counter
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from apishield.exchange import Actor, Finding, Severity
from apishield.inventory.actors import MAX_ENDPOINTS, MAX_IPS, ActorTally
from apishield.testing import T0, make_exchange


def _seen(
    tally: ActorTally,
    actor: Actor,
    *,
    status: int = 200,
    at: float = 0.0,
    severity: Severity | None = None,
    route: str = "/x/{id}",
) -> None:
    exchange = make_exchange(path="/x/1", status=status, started=T0 + at)
    exchange.actor = actor
    exchange.route = route
    if severity is not None:
        exchange.findings.append(Finding("test.rule", "test", severity))
    tally(exchange)


def test_counts_volume_addresses_endpoints_and_threat() -> None:
    tally = ActorTally()
    for i in range(30):
        _seen(
            tally, Actor(ip=f"198.51.100.{i}", identity="alice"), at=i, status=404 if i < 3 else 200
        )
    _seen(tally, Actor(ip="198.51.100.1", identity="alice"), severity=Severity.HIGH, route="/y")
    [summary] = tally.summaries()
    assert summary["actor"] == "id:alice" and summary["identity"] == "alice"
    assert summary["requests"] == 31 and summary["errors"] == 3
    assert len(summary["ips"]) == MAX_IPS and summary["ip_count"] == 30
    assert summary["endpoints"] == {"GET api.example.com /x/{id}": 30, "GET api.example.com /y": 1}
    assert summary["threat"] == {"low": 30, "medium": 0, "high": 1}
    assert (summary["first_seen"], summary["last_seen"]) == (T0, T0 + 29)


def test_a_full_table_keeps_threatening_newcomers_only() -> None:
    tally = ActorTally(max_actors=2)
    _seen(tally, Actor(ip="192.0.2.1"))
    _seen(tally, Actor(ip="192.0.2.1"))
    _seen(tally, Actor(ip="192.0.2.2"))
    _seen(tally, Actor(ip="192.0.2.3"))  # benign newcomer: counted, not listed
    assert tally.overflow == 1
    _seen(tally, Actor(ip="192.0.2.4"), severity=Severity.MEDIUM)  # replaces the quietest
    assert set(tally.actors) == {"ip:192.0.2.1", "ip:192.0.2.4"}
    assert tally.overflow == 2


def test_summaries_keep_actors_named_by_incidents() -> None:
    tally = ActorTally()
    for i in range(5):
        for _ in range(5 - i):
            _seen(tally, Actor(ip=f"192.0.2.{i}"))
    chosen = [s["actor"] for s in tally.summaries(limit=2, keep=frozenset({"ip:192.0.2.4"}))]
    assert chosen == ["ip:192.0.2.0", "ip:192.0.2.1", "ip:192.0.2.4"]


def test_provisional_routes_are_named_by_their_settled_template() -> None:
    tally = ActorTally()
    for user in ("alice", "bob"):
        exchange = make_exchange(path=f"/users/{user}/profile", started=T0)
        exchange.actor = Actor(ip="192.0.2.9")
        exchange.route = f"/users/{user}/profile"  # provisional: each value seen once
        tally(exchange)
    tally.settle(lambda host, path: "/users/{param}/profile")
    [summary] = tally.summaries()
    assert summary["endpoints"] == {"GET api.example.com /users/{param}/profile": 2}
    assert "alice" not in str(summary)


EVENTS = st.lists(
    st.tuples(
        st.sampled_from(["alice", "bob"]),
        st.integers(0, 40),
        st.sampled_from([None, Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL]),
        st.sampled_from([200, 404, 500]),
        st.integers(0, 40),
    ),
    max_size=120,
)


@settings(max_examples=60)
@given(EVENTS)
def test_counts_are_those_of_the_rules_applied_one_by_one(
    events: list[tuple[str, int, Severity | None, int, int]],
) -> None:
    tally = ActorTally()
    expected: dict[str, dict[str, Any]] = {}
    for at, (user, host, severity, status, route) in enumerate(events):
        ip, name = f"198.51.100.{host}", f"/r{route}"
        _seen(
            tally, Actor(ip=ip, identity=user), status=status, at=at, severity=severity, route=name
        )
        mine = expected.setdefault(user, {"ips": [], "routes": Counter(), "more": set(), "n": 0})
        mine["n"] += 1
        if ip not in mine["ips"] and len(mine["ips"]) < MAX_IPS:
            mine["ips"].append(ip)
        key = ("GET", "api.example.com", name)
        if key in mine["routes"] or len(mine["routes"]) < MAX_ENDPOINTS:
            mine["routes"][key] += 1
        else:
            mine["more"].add(key)
        level = severity or Severity.INFO
        slot = 2 if level >= Severity.HIGH else 1 if level == Severity.MEDIUM else 0
        mine.setdefault("threat", [0, 0, 0])[slot] += 1
        mine["errors"] = mine.get("errors", 0) + (status >= 400)
    for user, mine in expected.items():
        stats = tally.actors[f"id:{user}"]
        assert stats.requests == mine["n"] and stats.errors == mine["errors"]
        assert stats.ips == set(mine["ips"]) and stats.threat == mine["threat"]
        assert stats.endpoints == mine["routes"] and stats.more_endpoints == mine["more"]

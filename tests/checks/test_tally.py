from __future__ import annotations

from apishield.checks.tally import MAX_ACTORS_PER_RULE, FindingsTally
from apishield.exchange import Actor, Finding, Severity
from apishield.testing import make_exchange


def test_counts_requests_per_rule_with_endpoints_and_actors() -> None:
    tally = FindingsTally()
    for i in range(3):
        exchange = make_exchange()
        exchange.route = "/search"
        exchange.actor = Actor(ip=f"198.51.100.{i}")
        exchange.findings += [
            Finding("inj.xss.tag", "XSS", Severity.HIGH, {"class": "xss"}),
            Finding("inj.xss.tag", "XSS", Severity.HIGH, {"class": "xss"}),
        ]
        tally(exchange)
    tally(make_exchange())
    rule = tally.rules["inj.xss.tag"]
    assert rule.requests == 3
    assert rule.cls == "xss"
    assert rule.endpoints == {"/search": 3}
    assert len(rule.actors) == 3
    assert tally.threat_levels == {"high": 3, "low": 1}


def test_actor_counts_are_bounded() -> None:
    tally = FindingsTally()
    for i in range(MAX_ACTORS_PER_RULE + 50):
        exchange = make_exchange()
        exchange.actor = Actor(ip=f"10.0.{i // 256}.{i % 256}")
        exchange.findings.append(Finding("r", "r", Severity.LOW))
        tally(exchange)
    assert len(tally.rules["r"].actors) == MAX_ACTORS_PER_RULE
    assert tally.rules["r"].requests == MAX_ACTORS_PER_RULE + 50


def test_an_unsettled_route_is_counted_under_its_shape() -> None:
    tally = FindingsTally()
    for number in ("100-45-6789", "100-45-6790"):
        exchange = make_exchange(path=f"/v1/tax/{number}/status")
        exchange.route = exchange.request.path  # not settled yet: the raw path
        exchange.findings.append(Finding("r", "r", Severity.LOW))
        tally(exchange)
    assert dict(tally.rules["r"].endpoints) == {"/v1/tax/{phone}/status": 2}

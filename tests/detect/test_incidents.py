from __future__ import annotations

from typing import Any

from apishield.detect import incidents
from apishield.detect.incidents import MAX_ACTORS, QUIET, Correlator
from apishield.detect.registry import Detection
from apishield.exchange import Finding, Severity

T = 1_767_225_600.0


def _detection(
    rule: str,
    severity: Severity,
    time: float,
    scope: str = "actor:ip:1.2.3.4",
    actor: str = "ip:1.2.3.4",
) -> Detection:
    finding = Finding(rule, f"title {rule}", severity, {"k": "v"}, "API2:2023")
    return Detection(finding, scope, actor, actor.removeprefix("ip:"), "POST h /login", time)


def test_detections_about_one_actor_become_one_incident_with_a_timeline() -> None:
    correlator = Correlator()
    correlator.add(_detection("a.one", Severity.MEDIUM, T))
    correlator.add(_detection("a.two", Severity.HIGH, T + 60))
    [incident] = correlator.incidents()
    assert incident.severity is Severity.HIGH
    assert incident.title == "title a.two"
    assert [e.rule_id for e in incident.timeline] == ["a.one", "a.two"]
    assert incident.detected_at == {"a.one": T, "a.two": T + 60}


def test_three_agreeing_rules_raise_the_severity_a_step() -> None:
    correlator = Correlator()
    for n, rule in enumerate(["r.one", "r.two", "r.three"]):
        correlator.add(_detection(rule, Severity.MEDIUM, T + n))
    assert correlator.incidents()[0].severity is Severity.HIGH


def test_low_findings_alone_do_not_add_up_to_medium() -> None:
    correlator = Correlator()
    for n, rule in enumerate(["r.one", "r.two", "r.three"]):
        correlator.add(_detection(rule, Severity.LOW, T + n))
    assert correlator.incidents()[0].severity is Severity.LOW


def test_a_quiet_gap_closes_the_incident() -> None:
    correlator = Correlator()
    correlator.add(_detection("a.one", Severity.MEDIUM, T))
    correlator.add(_detection("a.one", Severity.MEDIUM, T + QUIET + 1))
    assert len(correlator.incidents()) == 2


def test_a_campaign_collects_its_actors_within_bounds() -> None:
    correlator = Correlator()
    for n in range(MAX_ACTORS + 30):
        actor = f"ip:10.0.{n // 256}.{n % 256}"
        correlator.add(
            _detection(
                "enum.x", Severity.HIGH, T + n, scope="campaign:enum.x:GET h /n", actor=actor
            )
        )
    [incident] = correlator.incidents()
    assert len(incident.actors) == MAX_ACTORS
    assert incident.rules["enum.x"] == MAX_ACTORS + 30
    summary = incident.summary()
    assert summary["severity"] == "high" and summary["scope"].startswith("campaign:")


def test_an_actor_taking_part_in_an_open_campaign_joins_it() -> None:
    correlator = Correlator()
    campaign = "campaign:enum.x:POST h /login"
    for n in range(3):
        actor = f"ip:10.0.0.{n}"
        correlator.add(_detection("enum.x", Severity.HIGH, T + n, scope=campaign, actor=actor))
    # a per-address rule about one of the campaign's addresses, on the same endpoint
    joined = correlator.add(
        _detection("enum.y", Severity.MEDIUM, T + 10, "actor:ip:10.0.0.1", "ip:10.0.0.1")
    )
    assert joined.scope == campaign
    # an address the campaign never showed keeps an incident of its own
    own = correlator.add(
        _detection("enum.y", Severity.MEDIUM, T + 11, "actor:ip:10.9.9.9", "ip:10.9.9.9")
    )
    assert own.scope == "actor:ip:10.9.9.9"
    [first, second] = sorted(correlator.incidents(), key=lambda i: i.id)
    assert first.rules == {"enum.x": 3, "enum.y": 1}
    assert second.rules == {"enum.y": 1}


def test_once_the_campaign_has_gone_quiet_an_actor_is_its_own_incident_again() -> None:
    correlator = Correlator()
    campaign = "campaign:enum.x:POST h /login"
    correlator.add(_detection("enum.x", Severity.HIGH, T, scope=campaign))
    later = correlator.add(_detection("enum.y", Severity.MEDIUM, T + QUIET + 1))
    assert later.scope == "actor:ip:1.2.3.4"


def test_the_least_recently_touched_incident_is_closed_first(monkeypatch: Any) -> None:
    monkeypatch.setattr(incidents, "MAX_OPEN", 3)
    correlator = Correlator()
    for n in range(3):
        correlator.add(_detection("r.one", Severity.LOW, T + n, f"actor:ip:{n}", f"ip:{n}"))
    correlator.add(_detection("r.one", Severity.LOW, T + 5, "actor:ip:0", "ip:0"))
    correlator.add(_detection("r.one", Severity.LOW, T + 6, "actor:ip:9", "ip:9"))
    assert list(correlator.open) == ["actor:ip:2", "actor:ip:0", "actor:ip:9"]
    assert [i.scope for i in correlator.closed] == ["actor:ip:1"]


def test_closed_incidents_are_kept_up_to_a_cap_and_the_rest_counted(monkeypatch: Any) -> None:
    monkeypatch.setattr(incidents, "MAX_OPEN", 2)
    monkeypatch.setattr(incidents, "MAX_CLOSED", 3)
    correlator = Correlator()
    for n in range(20):
        severity = Severity.HIGH if n == 1 else Severity.LOW
        correlator.add(_detection("r.one", severity, T + n, f"actor:ip:{n}", f"ip:{n}"))
    kept = correlator.incidents()
    assert len(kept) == 5  # 2 open, 3 closed
    assert len(correlator.closed) == 3
    assert kept[0].scope == "actor:ip:1"  # the severe one outlives the low ones
    assert correlator.forgotten == {Severity.LOW: 15}

from __future__ import annotations

import itertools
from typing import get_args

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apishield.detect.observation import Observation
from apishield.detect.rule_detector import RuleDetector, matches, value_of
from apishield.detect.rules import (
    Field_,
    Rule,
    RuleError,
    builtin_rules,
    parse_rules,
)
from apishield.detect.testing import ENDPOINT, fixture_observations, make_observation
from apishield.state.memory import MemoryState
from apishield.testing import T0

RULES = builtin_rules()


def _fired_at(rule: Rule, observations: list) -> int | None:  # type: ignore[type-arg]
    detector = RuleDetector([rule])
    state = MemoryState()
    for index, observation in enumerate(observations, start=1):
        if list(detector.observe(observation, state)):
            return index
    return None


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_every_shipped_rule_fires_on_its_fixture(rule: Rule) -> None:
    fired = _fired_at(rule, list(fixture_observations(rule.fixture)))
    assert fired is not None, f"{rule.id} never fired on its fixture"
    assert fired <= rule.fixture.fires_by


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_no_shipped_rule_fires_below_its_threshold(rule: Rule) -> None:
    """The same events, cut short of the threshold, stay quiet: the threshold is what fires."""
    observations = list(fixture_observations(rule.fixture))
    if rule.measure == "person_records":
        total, kept = 0, []
        for observation in observations:
            total += observation.person_records
            if total >= rule.threshold:
                break
            kept.append(observation)
        observations = kept
    else:
        observations = observations[: rule.threshold - 1]
    assert _fired_at(rule, observations) is None


def test_events_spread_beyond_the_window_do_not_add_up() -> None:
    rule = next(r for r in RULES if r.id == "auth.login-failures-ip")
    slow = [
        make_observation(role="login", status=401, ip="198.51.100.7", time=1e9 + n * 3600.0)
        for n in range(rule.threshold + 5)
    ]
    assert _fired_at(rule, slow) is None


def test_a_rule_fires_once_per_window_then_repeats_are_not_fresh() -> None:
    rule = next(r for r in RULES if r.id == "auth.login-failures-ip")
    detector, state = RuleDetector([rule]), MemoryState()
    fresh = []
    for n in range(rule.threshold + 10):
        observation = make_observation(role="login", status=401, time=1e9 + n)
        fresh.extend(d.fresh for d in detector.observe(observation, state))
    assert fresh[0] is True
    assert fresh[1:] and not any(fresh[1:])


def test_a_repeat_is_the_rules_finding_without_evidence() -> None:
    rule = next(r for r in RULES if r.id == "auth.login-failures-ip")
    detector, state = RuleDetector([rule]), MemoryState()
    detections = [
        d
        for n in range(rule.threshold + 2)
        for d in detector.observe(make_observation(role="login", status=401, time=1e9 + n), state)
    ]
    first, repeat = detections[0].finding, detections[1].finding
    assert first.evidence["threshold"] == str(rule.threshold)
    assert not repeat.evidence
    assert (repeat.rule_id, repeat.title, repeat.severity, repeat.category) == (
        first.rule_id,
        first.title,
        first.severity,
        first.category,
    )


def test_rule_files_are_validated_with_the_rule_and_key_named() -> None:
    text = """
- id: custom.rule
  title: t
  severity: severe
  category: API2:2023
  description: d
  group_by: ip
  window: 10m
  threshold: 5
  fixture: {event: {}, repeat: 5, fires_by: 5}
"""
    with pytest.raises(RuleError, match=r"custom.rule: severity"):
        parse_rules(text, "mine.yaml")
    with pytest.raises(RuleError, match="duration"):
        parse_rules(text.replace("severe", "high").replace("10m", "ten minutes"), "mine.yaml")
    with pytest.raises(RuleError, match="defined twice"):
        one = text.replace("severe", "high")
        parse_rules(one + one.replace("\n- id", "\n- id", 1), "mine.yaml")


def test_unknown_keys_in_a_rule_are_refused() -> None:
    text = """
- id: custom.rule
  title: t
  severity: high
  category: API2:2023
  description: d
  group_by: ip
  window: 10m
  threshold: 5
  treshold: 6
  fixture: {event: {}, repeat: 5, fires_by: 5}
"""
    with pytest.raises(RuleError, match="treshold"):
        parse_rules(text, "mine.yaml")


def test_a_share_rule_ignores_failures_lost_among_successes() -> None:
    rule = next(r for r in RULES if r.id == "bola.denied-objects")
    observations = []
    for n in range(200):
        failed = n % 10 == 0  # one in ten refused: an integration reading customers who left
        observations.append(
            make_observation(
                objects=[f"obj{n}"],
                status=404 if failed else 200,
                actor="key:partner",
                time=1e9 + n,
            )
        )
    assert _fired_at(rule, observations) is None


def test_among_and_min_share_go_together() -> None:
    text = """
- id: custom.rule
  title: t
  severity: high
  category: API2:2023
  description: d
  group_by: ip
  window: 10m
  threshold: 5
  min_share: 0.5
  fixture: {event: {}, repeat: 5, fires_by: 5}
"""
    with pytest.raises(RuleError, match="among and min_share"):
        parse_rules(text, "mine.yaml")


def _passes(observation: Observation) -> list[tuple[str, bool, bool]]:
    """Rule by rule, as the filters read without a cache: (rule id, among, when)."""
    passed = []
    for rule in RULES:
        among = rule.among is not None and matches(rule.among, observation)
        when = matches(rule.when, observation)
        if among or when:
            passed.append((rule.id, among, when))
    return passed


def test_rules_remembered_per_shape_are_the_rules_each_observation_passes() -> None:
    """The filter pass is cached per observation shape; every shape must get exactly the rules
    whose `when` or `among` it passes, in rule order, however often it recurs."""
    detector = RuleDetector(RULES)
    shapes = itertools.product(
        (200, 401, 403, 404, 500),
        (0, 1, 7),
        ("", "zombie", "shadow"),
        (True, False),
        ("login", "credential_reset", "personal"),
    )
    observations = [
        make_observation(
            role=role,
            roles={"lifecycle": lifecycle},
            status=status,
            person_records=records,
            authenticated=authenticated,
            objects=("o1",) if status != 500 else (),
            attack=records == 7,
        )
        for status, records, lifecycle, authenticated, role in shapes
    ]
    for _ in range(2):  # the second round is served from the cache
        for observation in observations:
            plan = detector._plan(observation)
            assert [(p.rule.id, among, when) for p, among, when in plan] == _passes(observation)


@given(
    objects=st.lists(st.text(max_size=6), max_size=3),
    target=st.none() | st.text(max_size=6),
    ip=st.text(max_size=6),
    actor=st.text(max_size=6),
    client=st.text(max_size=6),
)
def test_each_field_a_rule_reads_is_the_observations_own(
    objects: list[str], target: str | None, ip: str, actor: str, client: str
) -> None:
    o = make_observation(
        objects=objects, target=target, ip=ip, actor=actor, client=client, network=ip + "/24"
    )
    expected = {
        "ip": o.ip,
        "network": o.network,
        "actor": o.actor,
        "target": o.target,
        "object": o.objects[0] if o.objects else None,
        "endpoint": o.roles.endpoint,
        "client": o.client,
    }
    assert set(get_args(Field_)) == set(expected)
    assert {name: value_of(name, o) for name in expected} == expected


def test_a_rule_counted_by_ip_is_about_the_ip_whatever_credentials_it_carries() -> None:
    """A scanner that invents a token per request is one address: every detection, fresh or a
    repeat, goes to the address's incident, not one incident per invented actor."""
    rule = next(r for r in RULES if r.id == "scan.attack-requests")
    detector, state = RuleDetector([rule]), MemoryState()
    detections = []
    for n in range(40):
        observation = make_observation(
            time=T0 + n, ip="198.51.100.66", actor=f"id:u{n}", attack=True, status=401
        )
        detections += detector.observe(observation, state)
    assert len(detections) == 40 - rule.threshold + 1
    assert {d.scope for d in detections} == {"actor:ip:198.51.100.66"}
    assert [d.actor for d in detections[:2]] == ["id:u9", "id:u10"]  # who tipped it, still told
    fresh = [d.finding for d in detections if d.fresh]
    assert [f.scope for f in fresh] == ["actor:ip:198.51.100.66"]


def test_fresh_findings_carry_their_scope_onto_the_exchange() -> None:
    by_actor = next(r for r in RULES if r.id == "bola.denied-objects")
    campaign = next(r for r in RULES if r.id == "enum.target-many-ips")
    for rule, scope in (
        (by_actor, "actor:id:4021"),
        (campaign, "campaign:enum.target-many-ips:" + ENDPOINT),
    ):
        detector, state = RuleDetector([rule]), MemoryState()
        detections = [
            d for o in fixture_observations(rule.fixture) for d in detector.observe(o, state)
        ]
        assert detections and {d.scope for d in detections} == {scope}
        assert {d.finding.scope for d in detections if d.fresh} == {scope}
        assert {d.finding.scope for d in detections if not d.fresh} <= {""}  # never shown

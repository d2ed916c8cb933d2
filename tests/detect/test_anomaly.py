from __future__ import annotations

from apishield.detect.anomaly import TrafficAnomaly
from apishield.detect.testing import make_observation
from apishield.state.memory import MemoryState

T = 1_767_225_600.0
DAY = 86_400.0


def _steady(detector: TrafficAnomaly, state: MemoryState, days: int) -> None:
    """Ten clients a minute, every minute, for `days` days."""
    for minute in range(days * 1440):
        for n in range(10):
            observation = make_observation(time=T + minute * 60 + n * 6, actor=f"id:{n}")
            list(detector.observe(observation, state))


def test_a_burst_far_above_this_hour_s_baseline_is_a_spike() -> None:
    detector, state = TrafficAnomaly(), MemoryState()
    _steady(detector, state, 3)
    start = T + 3 * DAY
    rules = set()
    for n in range(200):
        observation = make_observation(time=start + n * 0.2, actor=f"id:new{n}")
        for d in detector.observe(observation, state):
            rules.add(d.finding.rule_id)
    assert "anomaly.traffic-spike" in rules


def test_one_client_s_burst_is_not_an_endpoint_spike() -> None:
    detector, state = TrafficAnomaly(), MemoryState()
    _steady(detector, state, 3)
    start = T + 3 * DAY
    found = {
        d.finding.rule_id
        for n in range(200)
        for d in detector.observe(make_observation(time=start + n * 0.2, actor="id:7"), state)
    }
    assert "anomaly.traffic-spike" not in found


def test_steady_traffic_raises_nothing() -> None:
    detector, state = TrafficAnomaly(), MemoryState()
    _steady(detector, state, 3)
    start = T + 3 * DAY
    found = [
        d for n in range(600) for d in detector.observe(make_observation(time=start + n * 6), state)
    ]
    assert found == []


def test_errors_far_above_the_usual_share_are_reported_low() -> None:
    detector, state = TrafficAnomaly(), MemoryState()
    _steady(detector, state, 3)
    start = T + 3 * DAY
    found = [
        d.finding
        for n in range(25)
        for d in detector.observe(make_observation(time=start + n, status=503), state)
    ]
    assert found and {f.rule_id for f in found} <= {
        "anomaly.error-spike",
        "anomaly.error-spike-identity",
    }
    assert "anomaly.error-spike" in {f.rule_id for f in found}
    assert all(f.severity.label == "low" for f in found)

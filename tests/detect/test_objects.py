from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from apishield.detect.objects import ObjectAccess, _below_every_limit, _excess
from apishield.detect.profile import Peers, Profile
from apishield.detect.roles import EndpointRoles
from apishield.detect.testing import ENDPOINT, make_observation
from apishield.state.memory import MemoryState

PERSONAL = EndpointRoles(ENDPOINT, personal=True, object_params=("id",))
DAY = 86_400.0
T = 1_767_225_600.0


def _history(detector: ObjectAccess, state: MemoryState, actor: str, per_hour: int) -> None:
    """Two days of an identity reading `per_hour` objects an hour from its usual network."""
    for hour in range(48):
        for n in range(per_hour):
            observation = make_observation(
                actor=actor, roles=PERSONAL, objects=[f"{actor}-own-{n}"], time=T + hour * 3600 + n
            )
            list(detector.observe(observation, state))


def _walk(
    detector: ObjectAccess,
    state: MemoryState,
    actor: str,
    count: int,
    start: float,
    **extra: object,
) -> list[int]:
    """Read `count` new objects one every 20 s; the indexes of the reads that fired."""
    fired = []
    for n in range(count):
        observation = make_observation(
            actor=actor, roles=PERSONAL, objects=[f"other-{n}"], time=start + 20 * n, **extra
        )
        if any(d.fresh for d in detector.observe(observation, state)):
            fired.append(n + 1)
    return fired


def test_a_quiet_identity_reading_many_objects_from_a_new_network_fires_high() -> None:
    detector, state = ObjectAccess(), MemoryState()
    _history(detector, state, "key:partner", 3)
    fired = _walk(
        detector,
        state,
        "key:partner",
        60,
        T + 2 * DAY + 7200,
        ip="192.0.2.1",
        network="192.0.2.0/24",
    )
    assert fired and fired[0] <= 25
    detections = list(
        detector.observe(
            make_observation(
                actor="key:partner",
                roles=PERSONAL,
                objects=["one-more"],
                time=T + 2 * DAY + 7200 + 20 * 61,
                network="192.0.2.0/24",
            ),
            state,
        )
    )
    assert detections and detections[0].finding.severity.label == "high"
    assert "new network" in detections[0].finding.evidence["reasons"]


def test_an_identity_that_always_reads_in_bulk_is_not_flagged() -> None:
    detector, state = ObjectAccess(), MemoryState()
    _history(detector, state, "id:batch", 200)
    fired = _walk(detector, state, "id:batch", 150, T + 2 * DAY + 7200)
    assert fired == []


def test_nothing_fires_while_the_engine_is_learning() -> None:
    detector, state = ObjectAccess(), MemoryState()
    fired = _walk(detector, state, "id:new", 100, T, warm=False)
    assert fired == []


def test_a_new_identity_is_judged_against_its_peers() -> None:
    detector, state = ObjectAccess(), MemoryState()
    for peer in range(3):
        _history(detector, state, f"id:user{peer}", 1)
    fired = _walk(detector, state, "id:newcomer", 40, T + 2 * DAY + 7200)
    assert fired and fired[0] <= 25


def test_unauthenticated_and_unanswered_reads_are_not_counted() -> None:
    detector, state = ObjectAccess(), MemoryState()
    fired = _walk(detector, state, "ip:1.2.3.4", 100, T + 2 * DAY, authenticated=False)
    assert fired == []
    fired = _walk(detector, state, "id:x", 100, T + 2 * DAY, status=404)
    assert fired == []


def test_a_sequential_walk_by_a_quiet_identity_is_reported_as_bola() -> None:
    detector, state = ObjectAccess(), MemoryState()
    _history(detector, state, "id:walker", 1)
    fired = []
    for n in range(12):
        observation = make_observation(
            actor="id:walker",
            roles=PERSONAL,
            objects=[f"acct{n}"],
            sequence=1_000 + n,
            time=T + 2 * DAY + 7200 + 30 * n,
        )
        fired.extend(d for d in detector.observe(observation, state) if d.fresh)
    assert fired and fired[0].finding.category == "API1:2023"
    assert "sequential" in fired[0].finding.evidence["reasons"]


@settings(max_examples=400)
@given(
    age=st.floats(min_value=0, max_value=3 * DAY),
    max_hourly=st.integers(min_value=0, max_value=200),
    max_daily=st.integers(min_value=0, max_value=2000),
    hourly=st.integers(min_value=0, max_value=1000),
    daily=st.integers(min_value=0, max_value=5000),
    peaks=st.lists(st.integers(min_value=0, max_value=500), max_size=30),
    novelty=st.sampled_from([[], ["new network"], ["new client", "new endpoint"]]),
)
def test_reads_below_every_limit_have_no_reason_whatever_the_peers(
    age: float,
    max_hourly: int,
    max_daily: int,
    hourly: int,
    daily: int,
    peaks: list[int],
    novelty: list[str],
) -> None:
    """The early exit skips novelty and peers only where judging them could find nothing."""
    profile = Profile(first_seen=T - age, max_hourly=max_hourly, max_daily=max_daily)
    peers = Peers()
    for peak in peaks:
        peers.add(peak)
    observation = make_observation(time=T)
    mature = profile.age(T) >= DAY
    if _below_every_limit(profile, mature, hourly, daily):
        assert _excess(observation, profile, peers, hourly, daily, novelty) == []

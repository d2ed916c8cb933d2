"""One contract, every backend: the in-memory and the Redis state answer alike, call for call.

Each case runs against `MemoryState` and `RedisState`; the last one runs every built-in
detector over the same traffic on both and compares what they report.
"""

from __future__ import annotations

import dataclasses
import math
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any, get_args, get_origin

import pytest

from apishield.detect import builtin_detectors
from apishield.detect.observation import Observation
from apishield.detect.registry import Detection, fired_before
from apishield.detect.roles import EndpointRoles
from apishield.detect.rules import builtin_rules
from apishield.detect.testing import ENDPOINT, fixture_observations, make_observation
from apishield.state.codec import field_types
from apishield.state.memory import MemoryState
from apishield.state.redis import RedisState
from apishield.stateful import State, Tally

T = 1_767_225_600.0
DAY = 86_400.0


# Sliding counts


def test_a_count_weighs_the_previous_bucket_by_what_the_window_still_covers(state: State) -> None:
    for second in range(60):
        state.count("k", 1_000_020.0 + second, 60.0)
    # Half-way through the next bucket, half of the previous bucket still counts.
    assert state.count("k", 1_000_080.0 + 30.0, 60.0, amount=0.0) == 30.0
    assert state.count("k", 1_000_080.0 + 45.0, 60.0) == 1.0 + 60.0 * 0.25


def test_amounts_add_up_as_python_adds_floats(state: State) -> None:
    total = 0.0
    for amount in (0.1, 0.2, 0.3, 1e-9, 7.25, 1 / 3):
        total += amount
        assert state.count("sum", 500.0, 60.0, amount) == total


def test_a_count_of_zero_reads_without_adding(state: State) -> None:
    state.count("k", 100.0, 60.0, amount=4.0)
    assert state.count("k", 101.0, 60.0, amount=0.0) == 4.0
    assert state.count("k", 102.0, 60.0, amount=0.0) == 4.0
    assert state.count("unknown", 102.0, 60.0, amount=0.0) == 0.0


def test_a_count_rolls_over_and_forgets_after_a_quiet_window(state: State) -> None:
    state.count("k", 1000.0, 60.0, amount=50)
    assert state.count("k", 1000.0 + 180.0, 60.0) == 1
    # Buckets are named by event time: a month later is a fresh window, not an old one.
    assert state.count("k", 1000.0 + 30 * DAY, 60.0) == 1


def test_windows_keep_counts_apart_per_key(state: State) -> None:
    state.count("a", 10.0, 60.0, amount=3)
    assert state.count("b", 10.0, 60.0) == 1
    assert state.count("a", 10.0, 60.0) == 4


# Distinct counts


def test_distinct_counts_members_once_and_caps(state: State) -> None:
    for n in range(10):
        state.distinct("d", "same", 1000.0 + n, 3600.0, 100)
    assert state.distinct("d", "same", 1010.0, 3600.0, 100) == 1
    counts = [state.distinct("d", f"m{n}", 1020.0, 3600.0, 100) for n in range(500)]
    assert counts[:5] == [2, 3, 4, 5, 6]
    assert counts[-1] == 100


def test_distinct_unions_the_previous_bucket_and_caps_the_union(state: State) -> None:
    for member in "abcd":
        state.distinct("d", member, 3000.0, 3600.0, 6)
    assert state.distinct("d", "a", 3700.0, 3600.0, 6) == 4  # "a" is in both buckets
    assert state.distinct("d", "e", 3800.0, 3600.0, 6) == 5
    assert state.distinct("d", "f", 3900.0, 3600.0, 6) == 6
    assert state.distinct("d", "g", 4000.0, 3600.0, 6) == 6


def test_a_full_bucket_stops_remembering_new_members(state: State) -> None:
    for member in "abc":
        state.distinct("d", member, 10.0, 60.0, 3)
    assert state.distinct("d", "z", 11.0, 60.0, 3) == 3
    # "z" was never kept, so the next bucket with a larger cap sees it as new.
    assert state.distinct("d", "z", 70.0, 60.0, 10) == 4


def test_distinct_forgets_after_a_quiet_window(state: State) -> None:
    for member in "abcdef":
        state.distinct("d", member, 100.0, 60.0, 64)
    assert state.distinct("d", "x", 100.0 + 125.0, 60.0, 64) == 1


# Records


def test_records_expire_on_event_time(state: State) -> None:
    state.save("r", 42, now=1000.0, ttl=60.0)
    assert state.load("r", int, 1059.0) == 42
    assert state.load("r", int, 1060.0) == 42
    assert state.load("r", int, 1061.0) is None
    assert state.load("r", str, 1000.0) is None  # another kind under the key is not returned
    assert state.load("r", float, 1000.0) is None
    assert state.load("missing", int, 1000.0) is None


def test_saving_again_replaces_the_value_and_extends_the_expiry(state: State) -> None:
    state.save("r", "first", now=1000.0, ttl=60.0)
    state.save("r", "second", now=1050.0, ttl=60.0)
    assert state.load("r", str, 1100.0) == "second"
    assert state.load("r", str, 1111.0) is None


def test_a_cool_down_fires_once_per_window(state: State) -> None:
    assert not fired_before(state, "fired:x", 1000.0, 600.0)
    assert fired_before(state, "fired:x", 1300.0, 600.0)
    assert not fired_before(state, "fired:x", 1601.0, 600.0)


def test_a_tally_answers_as_its_calls_would_one_by_one(state: State) -> None:
    reference = MemoryState()
    keys = ("a", "b", "c")
    for step in range(40):
        now = T + step * 37.0  # crosses bucket edges of both windows
        calls: list[Tally] = [
            (keys[step % 3], None, 300.0, 1.0 + step % 2),
            (keys[(step + 1) % 3] + ":d", f"m{step % 7}", 600.0, 5.0),
            (keys[step % 3], None, 300.0, 0.0),  # reads what the first call added
        ]
        expected = [
            reference.count(key, now, window, amount)
            if member is None
            else float(reference.distinct(key, member, now, window, int(amount)))
            for key, member, window, amount in calls
        ]
        assert state.tally(calls, now) == pytest.approx(expected)
    assert state.tally([("a", None, 300.0, 0.0)], T + 40 * 37.0) == pytest.approx(
        [reference.count("a", T + 40 * 37.0, 300.0, 0.0)]
    )


@pytest.mark.parametrize("filled", [True, False], ids=["filled", "empty"])
def test_every_record_a_detector_keeps_comes_back_identical(
    state: State, detector_kind: type, filled: bool, identical: Callable[[Any, Any], bool]
) -> None:
    value = sample(detector_kind, filled=filled)
    state.save("record", value, now=T, ttl=3600.0)
    loaded = state.load("record", detector_kind, T + 1)
    assert identical(loaded, value), f"{loaded!r} != {value!r}"


def test_values_at_the_edges_of_json_come_back_identical(
    state: State, identical: Callable[[Any, Any], bool]
) -> None:
    for value in (math.inf, -math.inf, -0.0, 5e-324, (1 << 64) + 1, -(1 << 70), "", "ü\x00🙂"):
        state.save("edge", value, now=T, ttl=60.0)
        assert identical(state.load("edge", type(value), T), value), value


# Shared stores


def test_two_handles_on_one_store_see_one_window(handles: tuple[State, State]) -> None:
    first, second = handles
    for n in range(10):
        (first if n % 2 else second).count("shared", T + n, 60.0)
    assert first.count("shared", T + 10, 60.0, amount=0.0) == 10
    for n in range(6):
        (first if n % 2 else second).distinct("ips", f"198.51.100.{n}", T + n, 600.0, 64)
    assert second.distinct("ips", "198.51.100.0", T + 7, 600.0, 64) == 6
    first.save("record", 2.5, now=T, ttl=60.0)
    assert second.load("record", float, T + 1) == 2.5


# Detectors


def test_every_detector_reports_the_same_on_both_backends(
    redis_state: Callable[[], RedisState],
) -> None:
    traffic = list(_traffic())
    memory = _detections(MemoryState(), traffic)
    assert _detections(redis_state(), traffic) == memory
    fired = {detection.finding.rule_id for detection in memory}
    assert len(memory) > 20 and len(fired) > 5, sorted(fired)


def _detections(state: State, traffic: list[Observation]) -> list[Detection]:
    detectors = builtin_detectors()
    return [
        detection
        for observation in traffic
        for detector in detectors
        for detection in detector.observe(observation, state)
    ]


def _traffic() -> Iterator[Observation]:
    """Every rule's fixture, a partner key reading in bulk from a new network, a takeover and a
    campaign of machine-regular clients, one after another in event time."""
    start = T
    for rule in builtin_rules():
        for observation in fixture_observations(rule.fixture):
            yield replace(observation, time=observation.time - T + start)
        start += 3 * DAY
    personal = EndpointRoles(ENDPOINT, personal=True, object_params=("id",))
    for hour in range(48):
        for n in range(3):
            yield make_observation(
                actor="key:partner", roles=personal, objects=[f"own-{n}"], time=start + hour * 3600
            )
    start += 2 * DAY + 7200
    for n in range(60):
        yield make_observation(
            actor="key:partner",
            roles=personal,
            objects=[f"other-{n}"],
            time=start + 20 * n,
            ip="192.0.2.1",
            network="192.0.2.0/24",
            sequence=1000 + n,
        )
    start += 3 * DAY
    for n, (status, account) in enumerate([(401, "a"), (401, "b"), (401, "c"), (401, "d")]):
        yield make_observation(
            role="login", status=status, target=account, time=start + n, authenticated=False
        )
    yield make_observation(
        role="login", status=200, target="e", time=start + 10, authenticated=False
    )
    start += DAY
    for step in range(12):
        for client in range(25):
            yield make_observation(
                ip=f"198.18.{client}.1",
                time=start + step * 2.0 + client * 0.07,
                authenticated=False,
            )


# Samples of any record type


def sample(tp: Any, *, filled: bool) -> Any:
    """A value of `tp` built from its annotations: every field set, or the smallest one."""
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        hints = field_types(tp)
        fields = dataclasses.fields(tp)
        values = {f.name: sample(hints[f.name], filled=filled) for f in fields}
        instance = tp(**{f.name: values[f.name] for f in fields if f.init})
        for f in fields:
            if not f.init:
                object.__setattr__(instance, f.name, values[f.name])
        return instance
    scalars = {
        bool: filled,
        int: (1 << 64) + 7 if filled else -1,
        float: 0.1 + 2**-40 if filled else 0.0,
        str: "ünï:🙂" if filled else "",
        type(None): None,
    }
    if tp in scalars:
        return scalars[tp]
    origin, args = get_origin(tp), get_args(tp)
    if type(None) in args:
        present = next(arg for arg in args if arg is not type(None))
        return sample(present, filled=True) if filled else None
    if origin is dict:
        return {sample(args[0], filled=True): sample(args[1], filled=True)} if filled else {}
    if origin is tuple and args[-1] is Ellipsis:
        return (sample(args[0], filled=True),) * 2 if filled else ()
    if origin is tuple:
        return tuple(sample(arg, filled=filled) for arg in args)
    if origin in (list, set, frozenset, deque):
        items = [sample(args[0], filled=True)] * 2 if filled else []
        return deque(items, maxlen=5) if origin is deque else origin(items)
    raise AssertionError(f"no sample for {tp!r}: teach `sample` the new type")

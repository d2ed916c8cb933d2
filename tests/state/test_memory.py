from __future__ import annotations

import random

import pytest

from apishield.state.memory import MemoryState


def test_count_sums_inside_the_window_and_weighs_the_previous_bucket() -> None:
    state = MemoryState()
    for second in range(60):
        state.count("k", 1_000_020.0 + second, 60.0)
    # Half-way through the next bucket, half of the previous bucket still counts.
    total = state.count("k", 1_000_080.0 + 30.0, 60.0, amount=0.0)
    assert 25 <= total <= 35


def test_count_forgets_after_two_windows() -> None:
    state = MemoryState()
    state.count("k", 1000.0, 60.0, amount=50)
    assert state.count("k", 1000.0 + 180.0, 60.0) == 1


def test_distinct_counts_members_once_and_caps() -> None:
    state = MemoryState()
    for n in range(10):
        state.distinct("d", "same", 1000.0 + n, 3600.0, 100)
    assert state.distinct("d", "same", 1010.0, 3600.0, 100) == 1
    for n in range(500):
        last = state.distinct("d", f"m{n}", 1020.0, 3600.0, 100)
    assert last == 100


def test_distinct_across_a_rollover_counts_the_union_of_both_buckets() -> None:
    """The running count equals the union of the two buckets, member by member (what the
    window means), across rollovers, repeats and the cap."""
    state, rng = MemoryState(), random.Random(5)
    current: set[str] = set()
    previous: set[str] = set()
    began = 0.0
    for step in range(3_000):
        now = step * 2.0
        start = now // 600 * 600
        if start > began:
            previous = current if start - began <= 600 else set()
            current, began = set(), start
        member = f"m{rng.randrange(150)}"
        if len(current) < 120:
            current.add(member)
        expected = min(120, len(current | previous))
        assert state.distinct("d", member, now, 600.0, 120) == expected, step


def test_records_expire_on_event_time() -> None:
    state = MemoryState()
    state.save("r", 42, now=1000.0, ttl=60.0)
    assert state.load("r", int, 1059.0) == 42
    assert state.load("r", int, 1061.0) is None
    assert state.load("r", str, 1000.0) is None  # another kind under the key is not returned


def test_the_key_budget_bounds_memory_and_counts_evictions() -> None:
    state = MemoryState(max_keys=100)
    for n in range(1_000):
        state.count(f"ip:{n}", 1000.0, 60.0)
    assert len(state) == 100
    assert state.evicted == 900


def test_a_budget_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        MemoryState(max_keys=0)


def test_a_key_used_as_another_kind_starts_afresh_and_stays_hot() -> None:
    state = MemoryState(max_keys=3)
    state.save("k", 7.0, now=1000.0, ttl=600.0)
    assert state.count("k", 1000.0, 60.0, amount=2.0) == 2.0
    assert state.load("k", float, 1000.0) is None
    assert state.distinct("k", "a", 1000.0, 60.0, 10) == 1
    state.save("k", 8.0, now=1000.0, ttl=600.0)
    assert state.load("k", float, 1000.0) == 8.0
    # Replacing a kind touches the key: the least recently used one goes first.
    state.count("old", 1000.0, 60.0)
    state.count("k", 1000.0, 60.0)
    state.count("new", 1000.0, 60.0)
    state.count("newer", 1000.0, 60.0)
    assert state.evicted == 1
    assert state.count("k", 1000.0, 60.0, amount=0.0) == 1.0
    assert state.count("old", 1000.0, 60.0, amount=0.0) == 0.0  # evicted, so counted afresh


def test_expired_windows_are_dropped_from_the_cold_end() -> None:
    state = MemoryState()
    state.count("stale", 1000.0, 60.0)
    state.save("fresh", 1, now=1000.0, ttl=10_000.0)
    state.save("fresh", 1, now=1200.0, ttl=10_000.0)  # 2 windows later: "stale" has expired
    assert len(state) == 1
    assert state.expired == 1

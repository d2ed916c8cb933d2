from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apishield.state import memory as memory_module
from apishield.state.memory import MemoryState, _Record


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


class _PlainExpiry(MemoryState):
    """The backend with expiry written the plain way: every save scans the cold end, without
    first peeking at the coldest key. The shipped backend must keep the same keys and counts."""

    def save(self, key: str, value: object, now: float, ttl: float) -> None:
        entries = self._entries
        entry = entries.get(key)
        if type(entry) is _Record:
            entries.move_to_end(key)
            entry.value = value
            entry.expires = now + ttl
        else:
            self._put(key, _Record(value, now + ttl), entry is not None)
        self._expire(now)

    def _expire(self, now: float, limit: int = 4) -> None:
        entries = self._entries
        for _ in range(limit):
            key = next(iter(entries), None)
            if key is None:
                return
            entry = entries[key]
            if (entry[1] if isinstance(entry, tuple) else entry.expires) < now:
                del entries[key]
                self.expired += 1
            else:
                return


_OPS = st.lists(
    st.tuples(
        st.sampled_from(["count", "distinct", "save", "load"]),
        st.sampled_from(["a", "b", "c", "d", "e", "f"]),
        st.integers(min_value=0, max_value=400),
        st.sampled_from([10.0, 60.0, 300.0]),
    ),
    max_size=120,
)


@pytest.mark.skipif(
    not memory_module.__file__ or not memory_module.__file__.endswith(".py"),
    reason="the reference model subclasses MemoryState, which a compiled build does not allow",
)
@settings(max_examples=300, deadline=None)
@given(ops=_OPS, budget=st.integers(min_value=1, max_value=8))
def test_expiry_and_eviction_match_the_plain_expiry(
    ops: list[tuple[str, str, int, float]], budget: int
) -> None:
    fast, plain = MemoryState(max_keys=budget), _PlainExpiry(max_keys=budget)
    now = 1000.0
    for op, key, step, span in ops:
        now += step / 10
        answers = []
        for state in (fast, plain):
            if op == "count":
                answers.append(state.count(key, now, span))
            elif op == "distinct":
                answers.append(state.distinct(key, f"m{step % 7}", now, span, 5))
            elif op == "save":
                state.save(key, step, now, span)
                answers.append(None)
            else:
                answers.append(state.load(key, int, now))
        assert answers[0] == answers[1], (op, key, now)
        assert list(fast._entries) == list(plain._entries)
        assert (fast.expired, fast.evicted) == (plain.expired, plain.evicted)


def test_a_window_opened_by_a_time_far_ahead_starts_over_at_the_traffic() -> None:
    state = MemoryState()
    future, now = 4_070_908_800.0, 1_767_225_600.0
    state.count("k", future, 60.0)
    state.distinct("d", "a", future, 60.0, 100)
    assert state.count("k", now, 60.0) == 1.0
    assert state.distinct("d", "b", now, 60.0, 100) == 1
    assert state.count("k", now + 120.0, 60.0) == 1.0  # and rolls over again
    assert state.distinct("d", "c", now + 120.0, 60.0, 100) == 1


def test_a_late_event_inside_a_day_still_counts_in_the_window() -> None:
    state = MemoryState()
    now = 1_767_225_600.0
    state.count("k", now, 60.0)
    assert state.count("k", now - 3_600.0, 60.0) == 2.0

"""One contract for token buckets and blocks: in memory and on Redis they answer alike.

Each case runs against `MemoryBuckets`/`MemoryBlocks` and `RedisBuckets`/`RedisBlocks`; the
Redis cases use two clients on one prefix, so what one handle writes the other must see. The
combined check (`Limits.check`, `MemoryLimits` and `RedisLimits`) is held to the same contract,
and to giving exactly what the calls one by one give, answers and state left behind.
"""

from __future__ import annotations

import math
import threading
import uuid
from collections.abc import Callable
from typing import Any, NamedTuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis import Redis

from apishield.limits import (
    BLOCK_ACTIONS,
    BLOCK_KINDS,
    Block,
    BlockKind,
    Blocks,
    Buckets,
    CallByCall,
    Check,
    Draw,
    Limits,
    Take,
    limits_of,
)
from apishield.state.memory_limits import MemoryBlocks, MemoryBuckets, MemoryLimits
from apishield.state.redis import RedisState
from apishield.state.redis_limits import RedisBlocks, RedisBuckets, RedisLimits
from apishield.testing import T0

Pair = tuple[Buckets, Buckets]
BlockPair = tuple[Blocks, Blocks]


@pytest.fixture
def bucket_handles(backend_name: str, request: pytest.FixtureRequest) -> Pair:
    if backend_name == "memory":
        memory = MemoryBuckets()
        return memory, memory
    make: Callable[[], RedisState] = request.getfixturevalue("redis_state")
    first, second = make(), make()
    return RedisBuckets(first.client, first.prefix), RedisBuckets(second.client, second.prefix)


@pytest.fixture
def buckets(bucket_handles: Pair) -> Buckets:
    return bucket_handles[0]


@pytest.fixture
def block_maker(backend_name: str, request: pytest.FixtureRequest) -> Callable[[int], BlockPair]:
    """make(max_blocks) -> two handles on one block table."""

    def make(max_blocks: int = 100_000) -> BlockPair:
        if backend_name == "memory":
            memory = MemoryBlocks(max_blocks)
            return memory, memory
        redis_state: Callable[[], RedisState] = request.getfixturevalue("redis_state")
        first, second = redis_state(), redis_state()
        return (
            RedisBlocks(first.client, first.prefix, max_blocks=max_blocks),
            RedisBlocks(second.client, second.prefix, max_blocks=max_blocks),
        )

    return make


@pytest.fixture
def blocks(block_maker: Callable[[int], BlockPair]) -> Blocks:
    return block_maker(100_000)[0]


# Buckets


def test_a_new_bucket_is_full_and_refuses_past_its_burst(buckets: Buckets) -> None:
    takes = [buckets.take("k", T0, rate=1.0, burst=3) for _ in range(4)]
    assert [t.allowed for t in takes] == [True, True, True, False]
    assert [t.remaining for t in takes] == [2, 1, 0, 0]
    assert [t.retry_after for t in takes] == [0.0, 0.0, 0.0, 1.0]


def test_tokens_come_back_at_the_rate_and_never_past_the_burst(buckets: Buckets) -> None:
    for _ in range(3):
        buckets.take("k", T0, rate=2.0, burst=3)
    early = buckets.take("k", T0 + 0.1, rate=2.0, burst=3)
    assert not early.allowed and early.retry_after == pytest.approx(0.4)
    half = buckets.take("k", T0 + 0.5, rate=2.0, burst=3)
    assert half.allowed and half.remaining == pytest.approx(0.0)
    later = buckets.take("k", T0 + 100, rate=2.0, burst=3)
    assert later.remaining == 2.0


def test_remaining_tokens_are_the_doubles_python_computes(buckets: Buckets) -> None:
    stored, updated = 5.0, T0
    for step in range(1, 40):
        now = T0 + step * 0.37
        tokens = min(5.0, stored + (now - updated) * 0.7)
        taken = buckets.take("exact", now, rate=0.7, burst=5.0, cost=1.3)
        if tokens >= 1.3:
            assert taken == (True, tokens - 1.3, 0.0)
            stored, updated = tokens - 1.3, now
        else:
            # Refused: nothing changes, the next refill counts from the last grant.
            assert taken == (False, tokens, (1.3 - tokens) / 0.7)


def test_a_refused_take_does_not_push_the_reopening_back(buckets: Buckets) -> None:
    buckets.take("k", T0, rate=1.0, burst=1)
    for step in range(5):
        assert not buckets.take("k", T0 + 0.1 * step, rate=1.0, burst=1).allowed
    assert buckets.take("k", T0 + 1.0, rate=1.0, burst=1).allowed


def test_event_time_stepping_back_does_not_drain_the_bucket(buckets: Buckets) -> None:
    buckets.take("k", T0, rate=1.0, burst=2)
    assert buckets.take("k", T0 - 50, rate=1.0, burst=2).allowed


def test_two_hosts_whose_clocks_differ_cannot_refill_one_bucket_twice(
    bucket_handles: Pair,
) -> None:
    # One client alternating between a host on time and a host 5 s behind, at 1 token a
    # second: the behind host's takes must not move the bucket's time back for the other to
    # refill again. Within one second of event time, only the burst goes through.
    on_time, behind = bucket_handles
    granted = 0
    for n in range(200):  # the host on time first, then each in turn
        host, now = (behind, T0 - 5) if n % 2 else (on_time, T0 + n / 1000)
        granted += host.take("k", now, 1.0, 3).allowed
    assert granted == 3


def test_a_bucket_that_never_refills_says_so(buckets: Buckets) -> None:
    assert buckets.take("k", T0, rate=0.0, burst=1).allowed
    refused = buckets.take("k", T0 + 3600, rate=0.0, burst=1)
    assert not refused.allowed and refused.retry_after == math.inf


def test_costs_larger_than_one_and_keys_kept_apart(buckets: Buckets) -> None:
    assert buckets.take("a", T0, rate=1.0, burst=10, cost=7).remaining == 3
    assert not buckets.take("a", T0, rate=1.0, burst=10, cost=7).allowed
    assert buckets.take("b", T0, rate=1.0, burst=10, cost=7).allowed


def test_two_handles_draw_from_one_bucket(bucket_handles: Pair) -> None:
    first, second = bucket_handles
    granted = [(first if n % 2 else second).take("shared", T0, 0.001, 5).allowed for n in range(9)]
    assert granted == [True] * 5 + [False] * 4


def test_concurrent_takes_never_hand_out_more_than_the_burst(bucket_handles: Pair) -> None:
    granted: list[bool] = []
    lock = threading.Lock()

    def worker(buckets: Buckets) -> None:
        for _ in range(50):
            allowed = buckets.take("shared", T0, rate=0.0, burst=120).allowed
            with lock:
                granted.append(allowed)

    threads = [threading.Thread(target=worker, args=(bucket_handles[n % 2],)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(granted) == 300 and sum(granted) == 120


# Blocks


def test_blocks_expire_in_event_time(blocks: Blocks) -> None:
    blocks.block("ip", "198.51.100.4", T0 + 60, "manual")
    held = blocks.is_blocked("ip", "198.51.100.4", T0 + 59)
    assert held is not None and (held.kind, held.value) == ("ip", "198.51.100.4")
    assert (held.until, held.reason) == (T0 + 60, "manual")
    assert blocks.is_blocked("ip", "198.51.100.4", T0 + 60) is None
    assert blocks.list(T0 + 61) == []
    assert blocks.unblock("ip", "198.51.100.4") is False  # the lapsed block is gone


def test_a_replayed_block_holds_in_its_own_event_time(blocks: Blocks) -> None:
    old = 1_500_000_000.0  # years before the wall clock: only event time decides
    blocks.block("identity", "mallory", old + 600, "replayed incident")
    assert blocks.is_blocked("identity", "mallory", old + 599) is not None
    assert blocks.is_blocked("identity", "mallory", old + 600) is None


def test_blocking_again_keeps_the_later_expiry_and_the_newer_reason(blocks: Blocks) -> None:
    blocks.block("identity", "mallory", T0 + 600, "first")
    blocks.block("identity", "mallory", T0 + 60, "second")
    held = blocks.is_blocked("identity", "mallory", T0 + 300)
    assert held is not None and held.until == T0 + 600 and held.reason == "second"
    blocks.block("identity", "mallory", T0 + 900, "third")
    assert [(b.until, b.reason) for b in blocks.list(T0)] == [(T0 + 900, "third")]


def test_list_is_longest_lasting_first_and_unblock_lifts(blocks: Blocks) -> None:
    blocks.block("ip", "a", T0 + 10, "r1")
    blocks.block("key", "b", T0 + 20, "r2")
    blocks.block("session", "c", T0 + 10, "r3")
    blocks.block("ip", "old", T0 - 1, "r4")
    listed = [(b.kind, b.value, b.until, b.reason) for b in blocks.list(T0)]
    assert listed == [
        ("key", "b", T0 + 20, "r2"),
        ("ip", "a", T0 + 10, "r1"),
        ("session", "c", T0 + 10, "r3"),
    ]
    assert blocks.unblock("key", "b") is True
    assert blocks.unblock("key", "b") is False
    assert blocks.is_blocked("key", "b", T0) is None
    assert [b.value for b in blocks.list(T0)] == ["a", "c"]


def test_a_permanent_block_never_lapses(blocks: Blocks) -> None:
    blocks.block("key", "0123456789abcdef", math.inf, "leaked key")
    held = blocks.is_blocked("key", "0123456789abcdef", T0 + 1e9)
    assert held is not None and held.until == math.inf
    assert [b.until for b in blocks.list(T0 + 1e9)] == [math.inf]


def test_values_with_separators_and_any_text_come_back(blocks: Blocks) -> None:
    value, reason = "2001:db8::1", "incident 7: Bulk access – ünïcode 🙂"
    blocks.block("ip", value, T0 + 60, reason)
    held = blocks.is_blocked("ip", value, T0)
    assert held is not None and (held.value, held.reason) == (value, reason)
    assert [(b.kind, b.value) for b in blocks.list(T0)] == [("ip", value)]
    assert blocks.is_blocked("identity", value, T0) is None  # kinds are apart


def test_a_full_block_table_drops_the_block_that_lapses_first(
    block_maker: Callable[[int], BlockPair],
) -> None:
    blocks, _ = block_maker(2)
    blocks.block("ip", "a", T0 + 10, "r")
    blocks.block("ip", "b", T0 + 20, "r")
    blocks.block("ip", "c", T0 + 30, "r")
    assert [b.value for b in blocks.list(T0)] == ["c", "b"]
    blocks.block("ip", "d", T0 + 5, "r")  # lapses before any held block: not worth a slot
    assert blocks.is_blocked("ip", "d", T0) is None
    blocks.block("ip", "b", T0 + 40, "again")  # a held block is renewed, not counted twice
    assert [b.value for b in blocks.list(T0)] == ["b", "c"]


def test_a_block_from_one_handle_holds_on_the_other(
    block_maker: Callable[[int], BlockPair],
) -> None:
    first, second = block_maker(100)
    first.block("ip", "203.0.113.9", T0 + 60, "seen by all")
    held = second.is_blocked("ip", "203.0.113.9", T0)
    assert held is not None and held.reason == "seen by all"
    assert second.unblock("ip", "203.0.113.9") is True
    assert first.is_blocked("ip", "203.0.113.9", T0) is None


def test_a_block_says_how_it_is_answered_and_a_plain_block_is_the_default(blocks: Blocks) -> None:
    blocks.block("ip", "198.51.100.4", T0 + 60, "operator")
    blocks.block("ip", "198.51.100.5", T0 + 90, "scanner", "tarpit")
    blocks.block("key", "0123456789abcdef", T0 + 30, "scraper", "decoy")
    assert [(b.value, b.action) for b in blocks.list(T0)] == [
        ("198.51.100.5", "tarpit"),
        ("198.51.100.4", "block"),
        ("0123456789abcdef", "decoy"),
    ]
    held = blocks.is_blocked("ip", "198.51.100.5", T0)
    assert held == Block("ip", "198.51.100.5", T0 + 90, "scanner", "tarpit")
    plain = blocks.is_blocked("ip", "198.51.100.4", T0)
    assert plain is not None and plain.action == "block"


def test_blocking_again_takes_the_newer_action_and_keeps_the_later_expiry(blocks: Blocks) -> None:
    blocks.block("identity", "bot", T0 + 600, "incident 1", "tarpit")
    blocks.block("identity", "bot", T0 + 60, "operator", "decoy")
    held = blocks.is_blocked("identity", "bot", T0)
    assert held is not None and (held.until, held.reason, held.action) == (
        T0 + 600,
        "operator",
        "decoy",
    )
    blocks.block("identity", "bot", T0 + 60, "operator again")
    assert [(b.until, b.action) for b in blocks.list(T0)] == [(T0 + 600, "block")]


def test_the_action_is_seen_from_the_other_handle(
    block_maker: Callable[[int], BlockPair],
) -> None:
    first, second = block_maker(100)
    first.block("session", "feedbeef00000000", T0 + 60, "stuffing", "tarpit")
    held = second.is_blocked("session", "feedbeef00000000", T0)
    assert held is not None and held.action == "tarpit"
    assert [b.action for b in second.list(T0)] == ["tarpit"]


# The combined check


class Handles(NamedTuple):
    """The combined check on one handle; buckets and blocks on another, on the same state."""

    limits: Limits
    buckets: Buckets
    blocks: Blocks


@pytest.fixture
def combined(backend_name: str, request: pytest.FixtureRequest) -> Handles:
    if backend_name == "memory":
        buckets, blocks = MemoryBuckets(), MemoryBlocks()
        limits = limits_of(buckets, blocks)
        assert isinstance(limits, MemoryLimits)
        return Handles(limits, buckets, blocks)
    make: Callable[[], RedisState] = request.getfixturevalue("redis_state")
    first, second = make(), make()
    limits = limits_of(
        RedisBuckets(first.client, first.prefix), RedisBlocks(first.client, first.prefix)
    )
    assert isinstance(limits, RedisLimits)
    return Handles(
        limits,
        RedisBuckets(second.client, second.prefix),
        RedisBlocks(second.client, second.prefix),
    )


IP: tuple[BlockKind, str] = ("ip", "198.51.100.4")
KEY: tuple[BlockKind, str] = ("key", "0123456789abcdef")


def test_check_draws_from_every_bucket_when_nothing_blocks_or_refuses(combined: Handles) -> None:
    draws = [Draw("ae", 1.0, 3), Draw("a", 2.0, 5, 2), Draw("e", 0.5, 10)]
    assert combined.limits.check([IP, KEY], draws, T0) == Check(
        None, [Take(True, 2, 0.0), Take(True, 3, 0.0), Take(True, 9, 0.0)]
    )
    assert combined.buckets.take("a", T0, 2.0, 5, 2) == Take(True, 1, 0.0)
    assert combined.limits.check([], [], T0) == Check(None, [])


def test_a_block_in_force_is_answered_and_no_bucket_spends(combined: Handles) -> None:
    combined.blocks.block(*KEY, T0 + 60, "incident 3: scraper – ü", "tarpit")
    found = combined.limits.check([IP, KEY], [Draw("a", 1.0, 1)], T0)
    assert found == Check(Block(*KEY, T0 + 60, "incident 3: scraper – ü", "tarpit"), [])
    assert combined.buckets.take("a", T0, 1.0, 1).allowed  # still full


def test_the_first_block_in_force_wins_and_lapsed_ones_are_dropped(combined: Handles) -> None:
    combined.blocks.block("ip", IP[1], T0 + 10, "lapsed")
    combined.blocks.block("identity", "mallory", T0 + 60, "second")
    combined.blocks.block(*KEY, T0 + 90, "third")
    lookups: list[tuple[BlockKind, str]] = [IP, ("identity", "mallory"), KEY]
    block, takes = combined.limits.check(lookups, [Draw("a", 1.0, 1)], T0 + 10)
    assert block is not None and (block.value, block.reason, block.action) == (
        "mallory",
        "second",
        "block",
    )
    assert takes == []
    assert combined.blocks.unblock(*IP) is False  # the lapsed block met on the way is gone
    assert [b.reason for b in combined.blocks.list(T0)] == ["third", "second"]


def test_a_refusal_stops_the_draws_and_earlier_buckets_keep_their_spend(
    combined: Handles,
) -> None:
    combined.buckets.take("a", T0, 1.0, 1)  # the second bucket is empty
    draws = [Draw("ae", 1.0, 5), Draw("a", 1.0, 1), Draw("e", 1.0, 5)]
    assert combined.limits.check([IP], draws, T0 + 0.25) == Check(
        None, [Take(True, 4, 0.0), Take(False, 0.25, 0.75)]
    )
    assert combined.buckets.take("ae", T0 + 0.25, 1.0, 5).remaining == 3  # spent one before
    assert combined.buckets.take("e", T0 + 0.25, 1.0, 5).remaining == 4  # never drawn from


def test_check_refusals_say_when_to_come_back(combined: Handles) -> None:
    draws = [Draw("never", 0.0, 1), Draw("slow", 0.5, 2, 1.5)]
    assert combined.limits.check([], draws, T0).takes == [Take(True, 0, 0.0), Take(True, 0.5, 0)]
    again = combined.limits.check([], draws, T0 + 3600).takes
    assert again == [Take(False, 0, math.inf)]
    slow = combined.limits.check([], draws[1:], T0 + 1).takes
    assert slow == [Take(False, 1.0, 1.0)]


def test_concurrent_checks_never_hand_out_more_than_the_burst(combined: Handles) -> None:
    granted: list[bool] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(40):
            takes = combined.limits.check([IP], [Draw("shared", 0.0, 100)], T0).takes
            with lock:
                granted.append(takes[0].allowed)

    threads = [threading.Thread(target=worker) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(granted) == 200 and sum(granted) == 100


# The combined check against the calls one by one, on random histories

VALUES = ("a", "b")
BUCKET_KEYS = ("k1", "k2", "k3")
times = st.integers(-4, 40).map(lambda n: T0 + n * 0.5)
lookups = st.lists(st.tuples(st.sampled_from(BLOCK_KINDS), st.sampled_from(VALUES)), max_size=4)
draws = st.lists(
    st.builds(
        Draw,
        st.sampled_from(BUCKET_KEYS),
        st.sampled_from((0.0, 0.5, 1.0, 3.0)),
        st.sampled_from((1.0, 2.0, 3.5)),
        st.sampled_from((0.5, 1.0, 2.0)),
    ),
    max_size=4,
)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("check"), lookups, draws, times),
        st.tuples(
            st.just("block"),
            st.sampled_from(BLOCK_KINDS),
            st.sampled_from(VALUES),
            st.one_of(times, st.just(math.inf)),
            st.sampled_from(BLOCK_ACTIONS),
        ),
        st.tuples(st.just("unblock"), st.sampled_from(BLOCK_KINDS), st.sampled_from(VALUES)),
    ),
    max_size=40,
)


def _replay(history: list[tuple[Any, ...]], limits: Limits, blocks: Blocks) -> list[object]:
    answers: list[object] = []
    for step in history:
        if step[0] == "check":
            answers.append(limits.check(step[1], step[2], step[3]))
        elif step[0] == "block":
            _, kind, value, until, action = step
            answers.append(blocks.block(kind, value, until, f"until {until}", action))
        else:
            answers.append(blocks.unblock(step[1], step[2]))
    return answers


@settings(max_examples=300, deadline=None)
@given(history=steps)
def test_memory_check_is_the_calls_one_by_one(history: list[tuple[Any, ...]]) -> None:
    one, other = (MemoryBuckets(), MemoryBlocks()), (MemoryBuckets(), MemoryBlocks())
    combined = limits_of(*one)
    assert isinstance(combined, MemoryLimits)
    assert _replay(history, combined, one[1]) == _replay(history, CallByCall(*other), other[1])
    assert one[0]._buckets == other[0]._buckets  # values and least-recently-used order
    assert one[1]._blocks == other[1]._blocks


def _redis_state(raw: Redis, prefix: str) -> tuple[dict[str, object], dict[str, int]]:
    """Every key under `prefix` with its value, and the milliseconds before Redis forgets it
    (-1: never)."""
    values: dict[str, object] = {}
    lifetimes: dict[str, int] = {}
    for key in raw.scan_iter(match=prefix + "*"):
        name = key.decode()[len(prefix) :]
        if raw.type(key) == b"hash":
            values[name] = raw.hgetall(key)
        else:
            values[name] = raw.zrange(key, 0, -1, withscores=True)
        lifetimes[name] = raw.pttl(key)
    return values, lifetimes


def _same_lifetimes(one: dict[str, int], other: dict[str, int]) -> bool:
    """Alike but for the wall-clock time between the two replays."""
    return one.keys() == other.keys() and all(
        (one[k] == other[k] == -1) or (one[k] > 0 and abs(one[k] - other[k]) < 5_000) for k in one
    )


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(history=steps)
def test_redis_check_is_the_calls_one_by_one(
    history: list[tuple[Any, ...]], redis_prefix: str, redis_url: str
) -> None:
    raw = Redis.from_url(redis_url)
    try:
        run = f"{redis_prefix}{uuid.uuid4().hex[:8]}:"
        one = (RedisBuckets(raw, run + "one:"), RedisBlocks(raw, run + "one:"))
        other = (RedisBuckets(raw, run + "other:"), RedisBlocks(raw, run + "other:"))
        combined = limits_of(*one)
        assert isinstance(combined, RedisLimits)
        assert _replay(history, combined, one[1]) == _replay(history, CallByCall(*other), other[1])
        values, lifetimes = _redis_state(raw, run + "one:")
        expected, expected_lifetimes = _redis_state(raw, run + "other:")
        assert values == expected and _same_lifetimes(lifetimes, expected_lifetimes)
    finally:
        raw.close()

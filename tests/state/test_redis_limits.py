"""What only the Redis buckets and blocks have: keys, wall-clock clean-up, lost scripts, failures.

The behaviour they share with the in-memory ones is in test_limits_contract.py.
"""

from __future__ import annotations

import math
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from redis import Redis

from apishield.limits import BlockKind, Draw, limits_of
from apishield.state.redis import RedisState
from apishield.state.redis_limits import RedisBlocks, RedisBuckets, RedisLimits
from apishield.stateful import StateUnavailable

T = 1_767_225_600.0


@pytest.fixture
def shared(redis_state: Callable[[], RedisState]) -> RedisState:
    return redis_state()


@pytest.fixture
def buckets(shared: RedisState) -> RedisBuckets:
    return RedisBuckets(shared.client, shared.prefix)


@pytest.fixture
def blocks(shared: RedisState) -> RedisBlocks:
    return RedisBlocks(shared.client, shared.prefix)


@pytest.fixture
def raw(redis_url: str) -> Iterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    client.close()


def _keys(raw: Redis, prefix: str) -> set[str]:
    return {key.decode() for key in raw.scan_iter(match=prefix + "*")}


def test_a_bucket_is_forgotten_once_it_would_be_full_again(
    buckets: RedisBuckets, raw: Redis, redis_prefix: str
) -> None:
    for _ in range(3):
        buckets.take("rl:a:ip:198.51.100.7", T, rate=0.5, burst=10)
    assert _keys(raw, redis_prefix) == {redis_prefix + "t:rl:a:ip:198.51.100.7"}
    millis = raw.pttl(redis_prefix + "t:rl:a:ip:198.51.100.7")
    full_again = 3 / 0.5 + buckets.grace  # three tokens at half a token a second, then grace
    assert (full_again - 5) * 1000 < millis <= full_again * 1000


def test_a_refused_take_writes_nothing(
    buckets: RedisBuckets, raw: Redis, redis_prefix: str
) -> None:
    buckets.take("k", T, rate=1.0, burst=1)
    before = raw.hgetall(redis_prefix + "t:k")
    assert not buckets.take("k", T + 0.5, rate=1.0, burst=1).allowed
    assert raw.hgetall(redis_prefix + "t:k") == before


def test_block_keys_live_until_the_block_lapses_by_the_server_clock(
    blocks: RedisBlocks, raw: Redis, redis_prefix: str
) -> None:
    server = float(raw.time()[0])
    blocks.block("ip", "198.51.100.7", server + 600, "live")
    blocks.block("identity", "mallory", T - 86_400, "replayed from a log")
    index = redis_prefix + "{blocks}"
    live, replayed = index + ":ip:198.51.100.7", index + ":identity:mallory"
    assert _keys(raw, redis_prefix) == {index, live, replayed}
    assert (600 + blocks.grace - 5) * 1000 < raw.pttl(live) <= (600 + blocks.grace + 1) * 1000
    assert (blocks.grace - 5) * 1000 < raw.pttl(replayed) <= blocks.grace * 1000
    assert abs(raw.pttl(index) - raw.pttl(live)) < 2000  # the set lives as long as its last
    blocks.block("key", "0123456789abcdef", math.inf, "forever")
    assert raw.pttl(index + ":key:0123456789abcdef") == -1 and raw.pttl(index) == -1


def test_a_block_whose_key_the_wall_clock_collected_leaves_the_list(
    blocks: RedisBlocks, raw: Redis, redis_prefix: str
) -> None:
    blocks.block("ip", "a", T + 60, "r")
    blocks.block("ip", "b", T + 60, "r")
    raw.delete(redis_prefix + "{blocks}:ip:a")
    assert [b.value for b in blocks.list(T)] == ["b"]
    assert raw.zrange(redis_prefix + "{blocks}", 0, -1) == [b"ip:b"]


def test_a_block_stored_without_an_action_or_with_an_unknown_one_is_a_plain_block(
    blocks: RedisBlocks, raw: Redis, redis_prefix: str
) -> None:
    blocks.block("ip", "a", T + 60, "from an older apishield", "tarpit")
    blocks.block("ip", "b", T + 30, "from a newer one", "decoy")
    raw.hdel(redis_prefix + "{blocks}:ip:a", "action")
    raw.hset(redis_prefix + "{blocks}:ip:b", "action", "maze")
    for value in ("a", "b"):
        held = blocks.is_blocked("ip", value, T)
        assert held is not None and held.action == "block"
    assert [(b.value, b.action) for b in blocks.list(T)] == [("a", "block"), ("b", "block")]


def test_lost_scripts_are_loaded_again(
    buckets: RedisBuckets, blocks: RedisBlocks, raw: Redis
) -> None:
    buckets.take("k", T, rate=1.0, burst=5)
    blocks.block("ip", "a", T + 60, "r")
    raw.script_flush()  # what a restarted Redis looks like to a running client
    assert buckets.take("k", T, rate=1.0, burst=5).remaining == 3
    assert blocks.is_blocked("ip", "a", T) is not None


def test_the_combined_check_is_one_round_trip_and_survives_lost_scripts(
    buckets: RedisBuckets,
    blocks: RedisBlocks,
    raw: Redis,
    redis_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    limits = limits_of(buckets, blocks)
    assert isinstance(limits, RedisLimits)
    blocks.block("ip", "lapsed", T - 1, "r")
    lookups: list[tuple[BlockKind, str]] = [("ip", "lapsed"), ("identity", "mallory")]
    draws = [Draw("ae", 0.5, 10), Draw("a", 0.0, 2)]
    limits.check([], [], T)  # the script is loaded on its first use
    sent: list[object] = []
    send = limits.client.execute_command

    def counted(*args: Any, **options: Any) -> Any:
        sent.append(args[0])
        return send(*args, **options)

    monkeypatch.setattr(limits.client, "execute_command", counted)
    assert limits.check(lookups, draws, T).takes[1].remaining == 1
    assert sent == ["EVALSHA"]
    assert _keys(raw, redis_prefix) == {redis_prefix + "t:ae", redis_prefix + "t:a"}
    assert raw.pttl(redis_prefix + "t:a") == -1  # never refills: kept for good
    millis = raw.pttl(redis_prefix + "t:ae")
    assert (1 / 0.5 + buckets.grace - 5) * 1000 < millis <= (1 / 0.5 + buckets.grace) * 1000
    raw.script_flush()
    assert limits.check(lookups, draws, T).takes[1].remaining == 0


def test_an_unreachable_redis_raises_state_unavailable_naming_where() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = RedisState.from_url(f"redis://:secret@127.0.0.1:{port}/0", timeout=0.2).client
    try:
        for call in (
            lambda: RedisBuckets(client).take("k", T, 1.0, 1.0),
            lambda: RedisBlocks(client).is_blocked("ip", "a", T),
            lambda: RedisBlocks(client).list(T),
            lambda: RedisLimits(RedisBuckets(client), RedisBlocks(client)).check([], [], T),
        ):
            with pytest.raises(StateUnavailable, match=f"127.0.0.1:{port}/0") as caught:
                call()
            assert "secret" not in str(caught.value)
    finally:
        client.close()


def test_settings_are_checked(shared: RedisState) -> None:
    with pytest.raises(ValueError, match="max_blocks is 0"):
        RedisBlocks(shared.client, max_blocks=0)
    with pytest.raises(ValueError, match="grace is -1"):
        RedisBuckets(shared.client, grace=-1)

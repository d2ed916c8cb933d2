"""What only the Redis backend has: keys on a server, wall-clock clean-up, batches, failures.

The behaviour it shares with the in-memory backend is in test_contract.py.
"""

from __future__ import annotations

import pickle
import socket
import uuid
from collections.abc import Callable, Iterator

import orjson
import pytest
from redis import Redis
from redis.commands.core import Script

from apishield.detect.profile import Profile
from apishield.state.redis import RedisState
from apishield.stateful import StateUnavailable, Tally

T = 1_767_225_600.0


@pytest.fixture
def state(redis_state: Callable[[], RedisState]) -> RedisState:
    return redis_state()


@pytest.fixture
def raw(redis_url: str) -> Iterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def dead_url() -> str:
    """A port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


def test_keys_live_under_the_prefix_with_a_wall_clock_expiry(
    state: RedisState, raw: Redis, redis_prefix: str
) -> None:
    state.count("hits", T, 60.0)
    state.distinct("ips", "198.51.100.7", T, 3600.0, 64)
    state.save("profile", Profile(first_seen=T), T, ttl=86_400.0)
    index = int(T // 60)
    lifetimes = {
        f"c:{{hits}}:{index}": 2 * 60.0,
        f"d:{{ips}}:{int(T // 3600)}": 2 * 3600.0,
        "r:profile": 86_400.0,
    }
    assert {key.decode() for key in raw.scan_iter(match=redis_prefix + "*")} == {
        redis_prefix + name for name in lifetimes
    }
    for name, lifetime in lifetimes.items():
        millis = raw.pttl(redis_prefix + name)
        assert (lifetime + state.grace - 5) * 1000 < millis <= (lifetime + state.grace) * 1000


def test_a_record_kept_forever_in_event_time_has_no_wall_clock_expiry(
    state: RedisState, raw: Redis, redis_prefix: str
) -> None:
    state.save("pinned", 1.0, T, ttl=float("inf"))
    assert raw.pttl(redis_prefix + "r:pinned") == -1
    assert state.load("pinned", float, T + 10 * 365 * 86_400.0) == 1.0


def test_records_are_json_that_names_their_type_and_event_time_expiry(
    state: RedisState, raw: Redis, redis_prefix: str
) -> None:
    state.save("profile", Profile(first_seen=T, networks={"192.0.2.0/24": T}), T, ttl=60.0)
    record = orjson.loads(raw.get(redis_prefix + "r:profile") or b"")
    assert record["t"] == "apishield.detect.profile.Profile"
    assert record["x"] == T + 60.0
    assert record["v"]["networks"] == {"192.0.2.0/24": T}


class _Boom:
    def __reduce__(self) -> tuple[object, ...]:
        return (print, ("unpickled",))


def test_stored_bytes_are_never_unpickled_and_foreign_data_loads_as_nothing(
    state: RedisState, raw: Redis, redis_prefix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    raw.set(redis_prefix + "r:pickled", pickle.dumps(_Boom()))
    assert state.load("pickled", Profile, T) is None
    assert "unpickled" not in capsys.readouterr().out
    forged = {"t": "builtins.float", "x": T + 60, "v": 1.0}
    raw.set(redis_prefix + "r:forged", orjson.dumps(forged))
    assert state.load("forged", Profile, T) is None  # the tag is checked, never imported
    other_version = {"t": "apishield.detect.profile.Profile", "x": T + 60, "v": {"hour": 1}}
    raw.set(redis_prefix + "r:old", orjson.dumps(other_version))
    assert state.load("old", Profile, T) is None
    assert state.undecodable == 2  # the pickle and the record missing first_seen


def test_a_late_event_lands_in_its_own_bucket(state: RedisState) -> None:
    state.count("late", 1_000_080.0 + 10, 60.0)
    # A worker behind the others adds an event from the bucket before: it counts there.
    state.count("late", 1_000_020.0 + 50, 60.0, amount=4.0)
    assert state.count("late", 1_000_080.0 + 30, 60.0, amount=0.0) == 1.0 + 4.0 * 0.5


def test_prefixes_keep_installations_apart(
    redis_url: str, redis_prefix: str, redis_state: Callable[[], RedisState]
) -> None:
    state = redis_state()
    state.count("k", T, 60.0, amount=5.0)
    state.save("r", 1.0, T, ttl=60.0)
    other = RedisState(Redis.from_url(redis_url), redis_prefix + "other:")
    try:
        assert other.count("k", T, 60.0, amount=0.0) == 0.0
        assert other.load("r", float, T) is None
    finally:
        other.client.close()


def test_a_batch_answers_as_the_calls_would_one_by_one(state: RedisState) -> None:
    with state.batch() as batch:
        counts = [batch.count("hits", T + n, 60.0) for n in range(5)]
        members = [batch.distinct("ips", f"ip{n % 3}", T + n, 60.0, 64) for n in range(5)]
        batch.save("r", Profile(first_seen=T), T, ttl=60.0)
        loaded = batch.load("r", Profile, T + 1)
        assert len(batch) == 12
    assert [c.value for c in counts] == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert [m.value for m in members] == [1, 2, 3, 3, 3]
    assert loaded.value == Profile(first_seen=T)
    assert state.count("hits", T + 6, 60.0, amount=0.0) == 5.0


def test_a_batch_value_is_not_there_before_it_runs_and_an_error_sends_nothing(
    state: RedisState,
) -> None:
    batch = state.batch()
    pending = batch.count("hits", T, 60.0)
    with pytest.raises(RuntimeError, match="has not run yet"):
        _ = pending.value
    batch.execute()
    assert pending.value == 1.0
    with pytest.raises(KeyError), state.batch() as failing:
        failing.count("hits", T, 60.0, amount=100.0)
        raise KeyError("the caller failed half-way")
    assert state.count("hits", T, 60.0, amount=0.0) == 1.0


def test_a_script_redis_does_not_know_is_loaded_first(state: RedisState) -> None:
    """As after a restart or SCRIPT FLUSH, which a test must not do to a shared Redis: the
    scripts get a comment no server has seen, so their SHAs are unknown to it."""

    def unknown(script: Script) -> Script:
        return state.client.register_script(f"{script.script!s}\n-- {uuid.uuid4().hex}")

    state._count_script = unknown(state._count_script)
    state._distinct_script = unknown(state._distinct_script)
    assert state.count("k", T, 60.0) == 1.0
    assert state.distinct("d", "m", T, 60.0, 8) == 1
    state._count_script = unknown(state._count_script)
    with state.batch() as batch:
        pending = batch.count("k", T, 60.0)
    assert pending.value == 2.0


def test_redis_refusing_a_command_is_unavailable_state(
    state: RedisState, raw: Redis, redis_prefix: str
) -> None:
    raw.set(redis_prefix + f"d:{{ips}}:{int(T // 60)}", "not a set")
    with pytest.raises(StateUnavailable, match="WRONGTYPE"):
        state.distinct("ips", "198.51.100.7", T, 60.0, 64)


def test_an_unreachable_redis_raises_state_unavailable_at_once(dead_url: str) -> None:
    state = RedisState.from_url(dead_url, "apishield-test:", timeout=0.2)
    port = dead_url.removeprefix("redis://127.0.0.1:").removesuffix("/0")
    calls: list[Callable[[], object]] = [
        lambda: state.count("k", T, 60.0),
        lambda: state.distinct("k", "m", T, 60.0, 8),
        lambda: state.load("k", Profile, T),
        lambda: state.save("k", 1.0, T, 60.0),
    ]
    for call in calls:
        with pytest.raises(StateUnavailable, match=f"127.0.0.1:{port}/0 .*check that Redis runs"):
            call()
    batch = state.batch()
    batch.count("k", T, 60.0)
    with pytest.raises(StateUnavailable, match=f"127.0.0.1:{port}"):
        batch.execute()


def test_a_kind_that_cannot_be_stored_is_refused_before_any_io(dead_url: str) -> None:
    state = RedisState.from_url(dead_url, "apishield-test:", timeout=0.2)
    with pytest.raises(TypeError, match="cannot hold <class 'dict'>"):
        state.load("k", dict, T)
    with pytest.raises(TypeError, match="cannot hold <class 'dict'>"):
        state.save("k", {"a": 1}, T, 60.0)


def test_a_negative_grace_is_refused(raw: Redis) -> None:
    with pytest.raises(ValueError, match="grace is -1"):
        RedisState(raw, "apishield-test:", grace=-1)


def test_a_tally_after_redis_forgot_its_scripts_runs_each_call_once(state: RedisState) -> None:
    calls: list[Tally] = [("k", None, 60.0, 1.0), ("d", "m1", 60.0, 10.0)]
    assert state.tally(calls, 1000.0) == [1.0, 1.0]
    state.client.script_flush()  # as a restarted Redis would have
    assert state.tally(calls, 1001.0) == [2.0, 1.0]  # the refused pipeline ran once, not twice
    assert state.count("k", 1002.0, 60.0, 0.0) == 2.0

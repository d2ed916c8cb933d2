"""The `state:` section of the config, and the backends built from it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from apishield.config import Config, ConfigError, parse_config
from apishield.state.factory import Backends, open_backends
from apishield.state.failover import FailoverBlocks, FailoverBuckets, FailoverState
from apishield.state.memory import MemoryState
from apishield.state.memory_limits import MemoryBlocks, MemoryBuckets
from apishield.state.redis import RedisState
from apishield.state.redis_limits import RedisBlocks, RedisBuckets
from apishield.testing import T0


def _config(**state: Any) -> Config:
    return Config.model_validate({"data_dir": "/nonexistent", "state": state})


@pytest.fixture
def opened() -> Iterator[list[Backends]]:
    made: list[Backends] = []
    yield made
    for backends in made:
        backends.close()


def test_the_default_is_memory_with_the_detector_budget() -> None:
    backends = open_backends(Config.model_validate({"detect": {"max_state_keys": 5_000}}))
    assert isinstance(backends.state, MemoryState) and backends.state.max_keys == 5_000
    assert isinstance(backends.buckets, MemoryBuckets)
    assert isinstance(backends.blocks, MemoryBlocks)
    assert not backends.degraded and backends.status() == {"backend": "memory", "degraded": False}


def test_redis_comes_with_failover_unless_asked_not_to(opened: list[Backends]) -> None:
    config = _config(backend="redis", url="redis://127.0.0.1:6399/2", prefix="x:", timeout=0.2)
    guarded = open_backends(config)
    plain = open_backends(config, failover=False)
    opened += [guarded, plain]
    assert isinstance(guarded.state, FailoverState)
    assert isinstance(guarded.buckets, FailoverBuckets)
    assert isinstance(guarded.blocks, FailoverBlocks)
    assert isinstance(guarded.state.shared, RedisState) and guarded.state.shared.prefix == "x:"
    assert guarded.backend == "redis 127.0.0.1:6399/2"
    assert isinstance(plain.state, RedisState)
    assert isinstance(plain.buckets, RedisBuckets) and isinstance(plain.blocks, RedisBlocks)
    assert plain.failover is None


def test_a_guarded_backend_on_a_dead_redis_decides_locally_and_says_so(
    opened: list[Backends],
) -> None:
    config = _config(backend="redis", url="redis://:hunter2@127.0.0.1:1/0", timeout=0.2)
    backends = open_backends(config)
    opened.append(backends)
    assert backends.buckets.take("k", T0, 1.0, 1).allowed
    assert not backends.buckets.take("k", T0, 1.0, 1).allowed
    status = backends.status()
    assert backends.degraded and status["degraded"] is True and status["outages"] == 1
    assert "127.0.0.1:1/0" in str(status["last_error"])
    assert "hunter2" not in str(status)


def test_a_shared_redis_is_one_table_for_every_process(
    redis_url: str, redis_prefix: str, opened: list[Backends]
) -> None:
    config = _config(backend="redis", url=redis_url, prefix=redis_prefix)
    first, second = open_backends(config), open_backends(config)
    opened += [first, second]
    first.blocks.block("ip", "198.51.100.4", T0 + 60, "seen everywhere")
    assert second.blocks.is_blocked("ip", "198.51.100.4", T0) is not None
    granted = [(first, second)[n % 2].buckets.take("k", T0, 0.001, 4).allowed for n in range(6)]
    assert granted == [True] * 4 + [False] * 2
    first.state.save("r", 1.5, T0, 60.0)
    assert second.state.load("r", float, T0) == 1.5
    assert not first.degraded and not second.degraded


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("backend: postgres", "state.backend: 'postgres' is not valid; input should be 'memory'"),
        ("backnd: redis", "Did you mean 'backend'?"),
        ("url: http://127.0.0.1:6379", "the scheme 'http' is not Redis; write redis://"),
        ("url: 127.0.0.1:6379", "the scheme '127.0.0.1' is not Redis"),
        ("prefix: ''", "the key prefix must be non-empty"),
        ("timeout: 0", "state.timeout: Input should be greater than 0"),
        ("probe_seconds: -1", "state.probe_seconds: Input should be greater than 0"),
    ],
)
def test_a_bad_state_section_names_the_key_and_the_fix(section: str, message: str) -> None:
    with pytest.raises(ConfigError, match="state") as caught:
        parse_config(f"state:\n  {section}\n")
    assert message in str(caught.value)


def test_valid_state_sections() -> None:
    config = parse_config(
        "state:\n  backend: redis\n  url: rediss://cache.internal:6380/1\n  prefix: 'shop:'\n"
    )
    assert (config.state.backend, config.state.prefix) == ("redis", "shop:")
    assert parse_config("state:\n  url: unix:///run/redis.sock\n").state.backend == "memory"
    assert Config().state.url == "redis://127.0.0.1:6379/0"

"""Guards on Redis: one rate limit and one block list across processes, and failover.

Two tests start servers of their own on free 127.0.0.1 ports: a private redis-server that is
killed and restarted under a running guard, and two uvicorn processes that each guard the same
small API (tests/inline/guarded_app.py) on the shared Redis at 127.0.0.1:6379.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from redis import Redis
from redis.exceptions import RedisError

from apishield.config import Config
from apishield.exchange import Action, Decision
from apishield.inline.guard import Guard
from apishield.privacy import Hasher
from apishield.state.admin import remove_block
from apishield.store.keys import install_secret
from apishield.testing import T0, make_exchange

REDIS_URL = "redis://127.0.0.1:6379/0"
HERE = Path(__file__).parent
HASHER = Hasher(b"i" * 32)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until(ready: Any, what: str, tries: int = 200) -> None:
    for _ in range(tries):
        if ready():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what} did not happen")


class PrivateRedis:
    """A redis-server of the test's own, which it may kill and start again on the same port."""

    def __init__(self, directory: Path) -> None:
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._directory = directory
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._process = subprocess.Popen(
            [
                *("redis-server", "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--dir", str(self._directory)),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = self.client()
        try:
            _wait_until(lambda: _answers(client), f"redis-server on port {self.port} answering")
        finally:
            client.close()

    def kill(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None

    def client(self) -> Redis:
        return Redis.from_url(self.url, socket_timeout=1.0, socket_connect_timeout=1.0)


def _answers(client: Redis) -> bool:
    try:
        return bool(client.ping())
    except RedisError:
        return False


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not on PATH; install Redis 7 to run the failover test")
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.kill()


@pytest.fixture
def shared_redis() -> Iterator[tuple[str, str]]:
    """(url, prefix) on the Redis at 127.0.0.1:6379; the prefix's keys are deleted after."""
    client = Redis.from_url(REDIS_URL, socket_connect_timeout=1.0, socket_timeout=1.0)
    if not _answers(client):
        pytest.skip(f"no Redis answers on {REDIS_URL}; start one to run these tests")
    prefix = f"apishield-test:{uuid.uuid4().hex}:"
    yield REDIS_URL, prefix
    keys = list(client.scan_iter(match=prefix + "*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


def _state_config(url: str, prefix: str, **enforce: Any) -> dict[str, Any]:
    return {
        "state": {"backend": "redis", "url": url, "prefix": prefix, "probe_seconds": 0.1},
        "enforce": enforce,
        "identity": {"trusted_proxies": ["127.0.0.1/32"]},
    }


# Failover


def _decide(guard: Guard, ip: str, started: float = T0) -> Decision:
    decision = guard.check(make_exchange(path="/items/1", peer_ip=ip, started=started))
    assert decision is not None, "the guard failed instead of deciding"
    return decision


def test_a_guard_decides_on_its_own_memory_while_redis_is_away_and_returns_to_it(
    private_redis: PrivateRedis, caplog: pytest.LogCaptureFixture
) -> None:
    limits = {"rate_limits": {"actor": {"requests": 3, "per_seconds": 3600}}}
    config = Config.model_validate(
        {"data_dir": "/nonexistent", **_state_config(private_redis.url, "guard:", **limits)}
    )
    guard = Guard.from_config(config, HASHER, warm=False)
    raw = private_redis.client()
    try:
        actions = [_decide(guard, "198.51.100.1").action for _ in range(4)]
        assert actions == [Action.ALLOW] * 3 + [Action.THROTTLE]
        assert raw.exists("guard:t:rl:a:ip:198.51.100.1") and not guard.degraded

        private_redis.kill()
        with caplog.at_level(logging.WARNING, "apishield.state"):
            # Requests keep being decided: limits hold per process, blocks raised now hold here.
            during = [_decide(guard, "198.51.100.2").action for _ in range(5)]
            guard.policy.blocks.block("ip", "198.51.100.3", T0 + 600, "incident during outage")
            blocked = _decide(guard, "198.51.100.3")
        assert during == [Action.ALLOW] * 3 + [Action.THROTTLE] * 2
        assert blocked.action is Action.BLOCK and guard.refusal(blocked) is not None
        assert guard.degraded and guard.stats()["state"]["degraded"] is True
        lost = [r for r in caplog.records if r.name == "apishield.state"]
        assert len(lost) == 1 and "unavailable" in lost[0].getMessage()
        assert lost[0].levelno == logging.WARNING

        private_redis.start()  # empty: nothing is saved across the restart
        caplog.clear()
        with caplog.at_level(logging.WARNING, "apishield.state"):
            _wait_until(
                lambda: _decide(guard, "198.51.100.4") is not None and not guard.degraded,
                "the guard going back to Redis",
            )
        assert "is back" in caplog.records[-1].getMessage()
        assert guard.stats()["state"]["outages"] == 1
        # The block raised during the outage is now in Redis, for every process.
        assert raw.exists("guard:{blocks}:ip:198.51.100.3")
        assert _decide(guard, "198.51.100.3").action is Action.BLOCK
        assert _decide(guard, "198.51.100.5").action is Action.ALLOW
        assert raw.exists("guard:t:rl:a:ip:198.51.100.5")
    finally:
        raw.close()
        guard.close()


# Two processes, one limit and one block list


class Servers:
    def __init__(self, config_file: Path, count: int) -> None:
        self.ports = [_free_port() for _ in range(count)]
        self.processes = [
            subprocess.Popen(
                [
                    *(sys.executable, "-m", "uvicorn", "--factory", "guarded_app:make_app"),
                    *("--app-dir", str(HERE), "--host", "127.0.0.1", "--port", str(port)),
                    *("--log-level", "warning"),
                ],
                env={**os.environ, "APISHIELD_CONFIG": str(config_file)},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            for port in self.ports
        ]

    def urls(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.ports]

    def wait(self) -> None:
        for url, process in zip(self.urls(), self.processes, strict=True):

            def up(url: str = url, process: subprocess.Popen[bytes] = process) -> bool:
                if process.poll() is not None:
                    errors = process.stderr.read().decode() if process.stderr else ""
                    raise AssertionError(f"the server at {url} exited: {errors[-2000:]}")
                try:
                    return httpx.get(url + "/_hits", timeout=1.0).status_code == 200
                except httpx.HTTPError:
                    return False

            _wait_until(up, f"uvicorn answering on {url}", tries=600)

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.stderr is not None:
                process.stderr.close()


@pytest.fixture
def two_servers(shared_redis: tuple[str, str], tmp_path: Path) -> Iterator[tuple[Servers, Config]]:
    url, prefix = shared_redis
    raw = {
        "data_dir": str(tmp_path / "data"),
        **_state_config(url, prefix, rate_limits={"actor": {"requests": N, "per_seconds": 3600}}),
        # Limits and blocks are the subject; no check needs compiling before the first answer.
        "checks": {"enabled": []},
    }
    config_file = tmp_path / "apishield.yaml"
    config_file.write_text(yaml.safe_dump(raw), encoding="utf-8")
    install_secret(tmp_path / "data")  # made once, so both processes hash actors alike
    servers = Servers(config_file, 2)
    try:
        servers.wait()
        yield servers, Config.model_validate(raw)
    finally:
        servers.stop()


N = 20
"""Requests per hour one client may make, wherever it sends them."""


async def _spread(urls: list[str], ip: str, total: int) -> list[int]:
    """`total` requests from one client, sent to the servers in turn, twenty at a time."""
    limit = asyncio.Semaphore(20)
    async with httpx.AsyncClient(timeout=30.0) as client:

        async def one(n: int) -> int:
            async with limit:
                url = f"{urls[n % len(urls)]}/items/{n}"
                response = await client.get(url, headers={"x-forwarded-for": ip})
                return response.status_code

        return list(await asyncio.gather(*(one(n) for n in range(total))))


def _hits(servers: Servers) -> list[int]:
    return [int(httpx.get(url + "/_hits", timeout=5.0).json()["hits"]) for url in servers.urls()]


def test_two_processes_enforce_one_rate_limit_and_one_block_list(
    two_servers: tuple[Servers, Config],
) -> None:
    servers, config = two_servers
    first, second = servers.urls()
    started = time.monotonic()
    statuses = asyncio.run(_spread(servers.urls(), "198.51.100.7", 10 * N))
    elapsed = time.monotonic() - started
    hits = _hits(servers)
    # One bucket of N for the client across both processes, plus what refilled meanwhile
    # (N per hour); two buckets of their own would have let 2N through.
    refilled = math.floor(elapsed * N / 3600)
    assert N <= sum(hits) <= N + refilled, hits
    assert min(hits) > 0  # both processes served some of it
    assert statuses.count(200) == sum(hits)
    assert statuses.count(429) == 10 * N - sum(hits)

    # A block raised through one process is honoured by the other.
    assert httpx.post(first + "/_block", params={"ip": "198.51.100.8"}).status_code == 200
    for url in (second, first):
        response = httpx.get(url + "/items/1", headers={"x-forwarded-for": "198.51.100.8"})
        assert response.status_code == 403
    allowed = httpx.get(second + "/items/1", headers={"x-forwarded-for": "198.51.100.9"})
    assert allowed.status_code == 200
    # Lifted once, from outside (what `apishield blocks remove` does), it is lifted everywhere.
    assert remove_block(config, "ip", "198.51.100.8") is True
    for url in (first, second):
        response = httpx.get(url + "/items/1", headers={"x-forwarded-for": "198.51.100.8"})
        assert response.status_code == 200
    states = [httpx.get(url + "/_hits").json()["degraded"] for url in servers.urls()]
    assert states == [False, False]

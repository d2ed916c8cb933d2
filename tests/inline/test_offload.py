"""The guard in stream mode: exchanges go to Redis in batches, and come back to the guard while
Redis is away. Uses the Redis on 127.0.0.1:6379 (a stream key of each test's own, deleted
after) and 127.0.0.1:1, where nothing listens, as a Redis that is away."""

from __future__ import annotations

import logging
import queue
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from redis import Redis
from redis.exceptions import RedisError

from apishield.config import Config
from apishield.exchange import Exchange
from apishield.ingest.base import ParseOptions
from apishield.ingest.jsonl import jsonl_parser
from apishield.inline.guard import Guard
from apishield.inline.offload import StreamOffload
from apishield.privacy import Hasher
from apishield.state.stream import ExchangeStream
from apishield.testing import make_exchange

REDIS_URL = "redis://127.0.0.1:6379/0"
AWAY_URL = "redis://127.0.0.1:1/0"


@pytest.fixture
def stream_key() -> Iterator[str]:
    client = Redis.from_url(REDIS_URL, socket_timeout=1.0, socket_connect_timeout=1.0)
    try:
        client.ping()
    except RedisError as error:
        pytest.skip(f"no Redis answers on {REDIS_URL} ({error}); start one to run these tests")
    key = f"apishield-test:{uuid.uuid4().hex}:exchanges"
    yield key
    client.delete(key)
    client.close()


def _config(key: str, url: str = REDIS_URL, **analysis: Any) -> Config:
    return Config.model_validate(
        {
            "data_dir": "/nonexistent",
            "ingest": {"max_body_bytes": 64},
            "state": {"url": url, "timeout": 0.5, "probe_seconds": 60},
            "analysis": {"mode": "stream", "stream": key, "batch": 4, **analysis},
        }
    )


def _guard(config: Config) -> tuple[Guard, queue.Queue[Exchange]]:
    analysed: queue.Queue[Exchange] = queue.Queue()
    guard = Guard.from_config(config, Hasher(b"i" * 32), on_processed=analysed.put)
    return guard, analysed


def _requests(n: int) -> list[Exchange]:
    return [make_exchange("GET", f"/v1/items/{i}", started=1_700_000_000.0 + i) for i in range(n)]


def test_the_guard_sends_exchanges_to_the_stream_and_analyses_none(stream_key: str) -> None:
    guard, analysed = _guard(_config(stream_key))
    try:
        for exchange in _requests(10):
            assert guard.check(exchange) is not None  # the request phase still runs here
            guard.submit(exchange)
        guard.flush()
        stats = guard.stats()
    finally:
        guard.close()
    assert analysed.empty()
    assert stats["processed"] == 0
    offload = stats["offload"]
    assert isinstance(offload, dict)
    assert offload["sent"] == 10
    assert offload["batches"] >= 3  # batch: 4
    client = Redis.from_url(REDIS_URL)
    entries = client.xrange(stream_key)
    client.close()
    parse = jsonl_parser(ParseOptions("stream"))
    paths = [parse(fields[b"x"], 1).request.path for _, fields in entries]
    assert paths == [f"/v1/items/{i}" for i in range(10)]


def test_bodies_are_capped_with_their_real_size_kept(stream_key: str) -> None:
    offload = StreamOffload.from_config(_config(stream_key))
    try:
        exchange = make_exchange("POST", "/upload", body=b"a" * 100, response_body=b"\xff" * 70)
        line = offload.encode(exchange)
    finally:
        offload.close()
    back = jsonl_parser(ParseOptions("stream", max_body_bytes=1 << 20))(line, 1)
    assert back.request.body == b"a" * 64
    assert back.request.body_size == 100
    assert back.response is not None
    assert back.response.body == b"\xff" * 64  # not UTF-8: base64 on the wire
    assert back.response.body_size == 70
    assert exchange.request.body == b"a" * 100  # the guard's own exchange is left alone


def test_redis_away_analyses_locally_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    guard, analysed = _guard(_config("apishield-test:away", AWAY_URL))
    try:
        with caplog.at_level(logging.WARNING, logger="apishield.inline"):
            for _ in range(3):
                for exchange in _requests(4):
                    guard.submit(exchange)
                guard.flush()
        stats = guard.stats()
    finally:
        guard.close()
    assert analysed.qsize() == 12
    assert stats["processed"] == 12
    offload = stats["offload"]
    assert isinstance(offload, dict)
    assert offload == offload | {"degraded": True, "unsent": 12, "outages": 1, "sent": 0}
    warnings = [r for r in caplog.records if "exchange stream" in r.getMessage()]
    assert len(warnings) == 1
    assert "analysed in this process" in warnings[0].getMessage()


def test_redis_away_drops_and_counts_when_told_to() -> None:
    guard, analysed = _guard(_config("apishield-test:away", AWAY_URL, on_unavailable="drop"))
    try:
        for exchange in _requests(5):
            guard.submit(exchange)
        guard.flush()
        stats = guard.stats()
    finally:
        guard.close()
    assert analysed.empty()
    offload = stats["offload"]
    assert isinstance(offload, dict)
    assert offload["unsent"] == 5
    assert offload["unsent_action"] == "dropped"


def test_the_stream_is_probed_and_used_again_when_it_returns(
    stream_key: str, caplog: pytest.LogCaptureFixture
) -> None:
    now = [0.0]
    away = ExchangeStream.from_url(AWAY_URL, stream_key, "g", timeout=0.2)
    offload = StreamOffload(away, batch=2, probe_seconds=5.0, clock=lambda: now[0])
    try:
        assert len(offload.send(_requests(3))) == 3
        assert offload.degraded
        offload.stream = ExchangeStream.from_url(REDIS_URL, stream_key, "g")  # Redis is back
        now[0] = 4.0
        assert len(offload.send(_requests(2))) == 2  # no probe before probe_seconds
        now[0] = 5.5
        with caplog.at_level(logging.WARNING, logger="apishield.inline"):
            assert offload.send(_requests(4)) == []
        assert not offload.degraded
        assert offload.sent == 4
        assert offload.unsent == 5
        assert offload.stream.client.xlen(stream_key) == 4
        assert "is back; 5 exchanges were not sent" in caplog.text
    finally:
        away.close()
        offload.close()


def test_the_thread_lingers_so_a_burst_goes_in_one_round_trip(stream_key: str) -> None:
    guard, _ = _guard(_config(stream_key, batch=256, linger_ms=1_000))
    try:
        for exchange in _requests(10):
            guard.submit(exchange)
            time.sleep(0.01)  # the thread is free to send each one alone, were it not waiting
        deadline = time.monotonic() + 10
        while guard.stats()["offload"]["sent"] < 10:  # type: ignore[index]
            assert time.monotonic() < deadline, "the lingering batch was never sent"
            time.sleep(0.02)
        stats = guard.stats()
    finally:
        guard.close()
    offload = stats["offload"]
    assert isinstance(offload, dict)
    assert offload["batches"] == 1


def test_flush_does_not_wait_out_the_linger(stream_key: str) -> None:
    guard, _ = _guard(_config(stream_key, batch=256, linger_ms=5_000))
    try:
        for exchange in _requests(3):
            guard.submit(exchange)
        started = time.monotonic()
        guard.flush()
        waited = time.monotonic() - started
        stats = guard.stats()
    finally:
        guard.close()
    assert waited < 4.0  # well short of the 5 s linger
    offload = stats["offload"]
    assert isinstance(offload, dict)
    assert offload["sent"] == 3
    assert offload["batches"] == 1

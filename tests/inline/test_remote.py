"""The guard in remote mode against a real ingest endpoint on 127.0.0.1: a small Starlette app
under uvicorn that keeps the contract of docs/api.md (bearer token, JSONL, gzip, 202, 413, 503
with Retry-After) and answers as each test scripts it."""

from __future__ import annotations

import asyncio
import gzip
import logging
import queue
from collections import deque
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from apishield.config import Config, ConfigError
from apishield.exchange import Exchange
from apishield.ingest import exchange_to_jsonl
from apishield.ingest.base import ParseOptions
from apishield.ingest.jsonl import jsonl_parser
from apishield.ingest.stats import Skip
from apishield.inline.asgi import ApishieldMiddleware
from apishield.inline.guard import Guard
from apishield.inline.remote import RemoteOffload, _retry_after
from apishield.inline.server import Server
from apishield.privacy import Hasher
from apishield.testing import make_exchange

TOKEN = "test-token-0123456789-abcdefghijklmnop"


class Receiver:
    """POST /api/v1/ingest as `apishield serve` answers it, with scripted 503s."""

    def __init__(self, token: str = TOKEN, max_batch_bytes: int = 1 << 20) -> None:
        self.token = token
        self.max_batch_bytes = max_batch_bytes
        self.received: list[Exchange] = []
        self.answers: list[int] = []
        """Every status answered, in order."""
        self.gzipped = 0
        self.busy: deque[str] = deque()
        """Retry-After values: each answers one request with 503."""
        self.port = 0
        self._server: Server | None = None

    async def ingest(self, request: Request) -> Response:
        response = await self._answer(request)
        self.answers.append(response.status_code)
        return response

    async def _answer(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return JSONResponse({"detail": "bad token"}, 401)
        body = await request.body()
        if request.headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
            self.gzipped += 1
        if len(body) > self.max_batch_bytes:
            return JSONResponse({"detail": "too large"}, 413)
        if self.busy:
            return JSONResponse({"detail": "busy"}, 503, {"retry-after": self.busy.popleft()})
        assert request.headers["content-type"] == "application/x-ndjson"
        parse = jsonl_parser(ParseOptions("ingest"))
        skipped = 0
        for line_no, line in enumerate(body.splitlines(keepends=True), 1):
            try:
                self.received.append(parse(line, line_no))
            except Skip:
                skipped += 1
        accepted = len(body.splitlines()) - skipped
        return JSONResponse({"accepted": accepted, "skipped": skipped, "errors": []}, 202)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        app = Starlette(routes=[Route("/api/v1/ingest", self.ingest, methods=["POST"])])
        self._server = Server(app, "127.0.0.1", self.port, grace=5)
        self.port = self._server.port
        self._server.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop(10)
            self._server = None


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    server.start()
    yield server
    server.stop()


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _requests(n: int, first: int = 0) -> list[Exchange]:
    return [
        make_exchange("GET", f"/v1/items/{i}", started=1_700_000_000.0 + i)
        for i in range(first, first + n)
    ]


def _paths(exchanges: list[Exchange]) -> list[str]:
    return [exchange.request.path for exchange in exchanges]


def _offload(url: str, clock: Clock | None = None, **options: Any) -> RemoteOffload:
    options.setdefault("batch", 4)
    return RemoteOffload(url, options.pop("token", TOKEN), clock=clock or Clock(), **options)


def test_batches_arrive_parsed_identically(receiver: Receiver) -> None:
    sent = [
        make_exchange(
            "POST",
            "/v1/login",
            query="next=%2Fhome",
            headers={"content-type": "application/json", "x-request-id": "r1"},
            body=b'{"user": "ana", "password": "hunter2"}',
            response_headers={"content-type": "image/png"},
            response_body=b"\x89PNG\r\n\x1a\n",
        ),
        make_exchange("GET", "/v1/items/1", status=None),
        *_requests(8),
    ]
    offload = _offload(receiver.url)
    try:
        assert offload.send(sent) == []
    finally:
        offload.close()
    assert [exchange_to_jsonl(e) for e in receiver.received] == [exchange_to_jsonl(e) for e in sent]
    assert offload.stats() == offload.stats() | {"sent": 10, "batches": 3, "unsent": 0}
    assert receiver.gzipped == 0


def test_large_batches_are_gzipped(receiver: Receiver) -> None:
    line_size = len(exchange_to_jsonl(_requests(1)[0]))
    offload = _offload(receiver.url, gzip_over=2 * line_size)
    try:
        assert offload.send(_requests(1)) == []
        assert offload.send(_requests(4, 1)) == []
    finally:
        offload.close()
    assert receiver.gzipped == 1
    assert _paths(receiver.received) == _paths(_requests(5))


def test_a_wrong_token_is_counted_logged_once_and_read_again_at_each_probe(
    receiver: Receiver, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("not-the-token\n")
    clock = Clock()
    offload = _offload(
        receiver.url, clock, token="not-the-token", token_file=token_file, probe_seconds=5
    )
    try:
        with caplog.at_level(logging.WARNING, logger="apishield.inline"):
            assert len(offload.send(_requests(3))) == 3
            assert len(offload.send(_requests(3))) == 3  # no probe before probe_seconds
            clock.now = 6.0
            assert len(offload.send(_requests(3))) == 3
        assert offload.degraded
        assert offload.unauthorized == 2
        errors = [r for r in caplog.records if r.levelno == logging.ERROR]
        assert len(errors) == 1
        assert "refused this guard's token" in errors[0].getMessage()
        assert str(token_file) in errors[0].getMessage()
        token_file.write_text(TOKEN + "\n")  # the operator copies the right token
        clock.now = 12.0
        assert offload.send(_requests(2)) == []
    finally:
        offload.close()
    assert not offload.degraded
    assert receiver.answers == [401, 401, 202]
    assert offload.stats() == offload.stats() | {"sent": 2, "unsent": 9, "unauthorized": 2}


def test_503_keeps_batches_and_sends_each_once_after_retry_after(receiver: Receiver) -> None:
    receiver.busy.extend(["2", "2"])
    clock = Clock()
    offload = _offload(receiver.url, clock, backlog=3)
    try:
        assert offload.send(_requests(4, 0)) == []  # 503: kept
        assert offload.stats()["busy"] is True
        assert offload.send(_requests(4, 4)) == []  # waits behind it, no request
        assert receiver.answers == [503]
        clock.now = 2.5
        assert offload.send(_requests(4, 8)) == []  # 503 again: three batches kept
        assert _paths(offload.send(_requests(4, 12))) == _paths(_requests(4, 12))  # no room
        assert offload.stats()["kept"] == 12
        clock.now = 5.0
        assert offload.send([]) == []
    finally:
        offload.close()
    assert _paths(receiver.received) == _paths(_requests(12))  # in order, none twice
    assert receiver.answers == [503, 503, 202, 202, 202]
    assert offload.stats() == offload.stats() | {"retries": 2, "sent": 12, "unsent": 4}


def test_close_delivers_kept_batches(receiver: Receiver) -> None:
    receiver.busy.append("0")
    offload = _offload(receiver.url)
    assert offload.send(_requests(4)) == []
    offload.close()
    assert _paths(receiver.received) == _paths(_requests(4))
    assert offload.lost == 0


def test_close_counts_what_it_could_not_deliver(receiver: Receiver) -> None:
    receiver.busy.extend(["30", "30", "30"])
    offload = _offload(receiver.url)
    assert offload.send(_requests(4)) == []
    assert offload.flush(timeout=0.1) == []  # still busy: kept
    assert offload.stats()["kept"] == 4
    offload.close(timeout=0.1)
    offload.close()
    assert receiver.answers == [503, 503, 503]
    assert offload.lost == 4
    assert _paths(offload.send(_requests(2))) == _paths(_requests(2))  # closed: handed back
    assert offload.unsent == 2


def test_flush_hands_back_what_it_cannot_deliver_to_a_server_gone_away(
    receiver: Receiver,
) -> None:
    receiver.busy.append("1")
    offload = _offload(receiver.url)
    try:
        assert offload.send(_requests(4)) == []
        receiver.stop()
        assert _paths(offload.flush(timeout=0.05)) == _paths(_requests(4))
        assert offload.degraded
    finally:
        offload.close()
    assert offload.lost == 0


def test_413_splits_until_the_server_takes_each_part(receiver: Receiver) -> None:
    line_size = len(exchange_to_jsonl(_requests(1)[0]))
    receiver.max_batch_bytes = 3 * line_size + 10
    offload = _offload(receiver.url, batch=10)
    try:
        assert offload.send(_requests(10)) == []
        refused = receiver.answers.count(413)
        assert refused >= 2
        assert offload.send(_requests(10, 10)) == []  # split before sending this time
    finally:
        offload.close()
    assert _paths(receiver.received) == _paths(_requests(20))
    assert receiver.answers.count(413) == refused
    assert offload.splits >= 2 * refused


def test_one_exchange_too_large_for_the_server_goes_back(receiver: Receiver) -> None:
    receiver.max_batch_bytes = 2_000
    big = make_exchange("POST", "/upload", body=b"a" * 5_000)
    offload = _offload(receiver.url, max_body_bytes=10_000)
    try:
        unsent = offload.send([*_requests(2), big, *_requests(1, 2)])
    finally:
        offload.close()
    assert unsent == [big]
    assert _paths(receiver.received) == _paths(_requests(3))
    assert offload.too_large == 1


def test_server_down_drops_and_counts_then_recovers(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    receiver.stop()
    clock = Clock()
    offload = _offload(receiver.url, clock, probe_seconds=5)
    try:
        with caplog.at_level(logging.WARNING, logger="apishield.inline"):
            for _ in range(3):
                assert len(offload.send(_requests(4))) == 4
            assert offload.degraded
            receiver.start()  # the same port
            clock.now = 4.0
            assert len(offload.send(_requests(4))) == 4  # not probed yet
            clock.now = 5.5
            assert offload.send(_requests(4, 100)) == []
        assert not offload.degraded
    finally:
        offload.close()
    assert _paths(receiver.received) == _paths(_requests(4, 100))
    assert offload.stats() == offload.stats() | {"outages": 1, "unsent": 16, "sent": 4}
    warnings = [r.getMessage() for r in caplog.records]
    assert len([m for m in warnings if "cannot reach the apishield server" in m]) == 1
    assert any("is back; 16 exchanges were not sent" in m for m in warnings)


def test_retry_after_is_read_as_seconds_or_a_date_within_bounds() -> None:
    soon = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert _retry_after("3") == 3.0
    assert 20 < _retry_after(soon) <= 30
    assert _retry_after("soon") == 1.0
    assert _retry_after(None) == 1.0
    assert _retry_after("nan") == 1.0
    assert _retry_after("-5") == 1.0  # not a delay: the default
    assert _retry_after("0") == 0.1
    assert _retry_after("86400") == 60.0


# -- through a guard --------------------------------------------------------------------------


def _config(tmp_path: Path, url: str, **analysis: Any) -> Config:
    (tmp_path / "token").write_text(TOKEN + "\n")
    return Config.model_validate(
        {
            "data_dir": str(tmp_path),
            "state": {"probe_seconds": 60},
            "analysis": {"mode": "remote", "server_url": url, "batch": 4, **analysis},
        }
    )


def _guard(config: Config) -> tuple[Guard, queue.Queue[Exchange]]:
    analysed: queue.Queue[Exchange] = queue.Queue()
    guard = Guard.from_config(config, Hasher(b"i" * 32), on_processed=analysed.put)
    return guard, analysed


def _app(guard: Guard) -> ApishieldMiddleware:
    async def item(request: Request) -> JSONResponse:
        return JSONResponse({"id": request.path_params["id"]})

    return ApishieldMiddleware(Starlette(routes=[Route("/items/{id}", item)]), guard)


def test_a_guard_in_remote_mode_delivers_what_its_app_saw(
    receiver: Receiver, tmp_path: Path
) -> None:
    guard, analysed = _guard(_config(tmp_path, receiver.url))

    async def traffic() -> list[int]:
        transport = httpx.ASGITransport(app=_app(guard), client=("198.51.100.7", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as client:
            return [(await client.get(f"/items/{i}")).status_code for i in range(10)]

    try:
        assert asyncio.run(traffic()) == [200] * 10
        guard.flush()
        stats = guard.stats()
    finally:
        guard.close()
    assert analysed.empty()  # the server analyses, not this process
    assert stats["processed"] == 0
    assert stats["offload"] == stats["offload"] | {"server": receiver.url, "sent": 10}
    assert _paths(receiver.received) == [f"/items/{i}" for i in range(10)]
    assert {e.request.peer_ip for e in receiver.received} == {"198.51.100.7"}
    assert {e.response.status for e in receiver.received if e.response} == {200}


def test_a_guard_analyses_locally_while_the_server_is_away(tmp_path: Path) -> None:
    receiver = Receiver()
    receiver.start()
    receiver.stop()  # a port where nothing listens any more
    guard, analysed = _guard(_config(tmp_path, receiver.url))
    try:
        for exchange in _requests(6):
            guard.submit(exchange)
        guard.flush()
        stats = guard.stats()
    finally:
        guard.close()
    assert analysed.qsize() == 6
    offload = stats["offload"]
    assert isinstance(offload, dict)
    assert offload == offload | {"degraded": True, "unsent": 6, "outages": 1, "sent": 0}


def test_a_guard_drops_and_counts_when_told_to(tmp_path: Path) -> None:
    receiver = Receiver()
    receiver.start()
    receiver.stop()
    guard, analysed = _guard(_config(tmp_path, receiver.url, on_unavailable="drop"))
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
    assert offload == offload | {"unsent": 5, "unsent_action": "dropped"}


def test_configuration_mistakes_name_the_fix(tmp_path: Path) -> None:
    config = _config(tmp_path, "ftp://127.0.0.1:8750")
    with pytest.raises(ConfigError, match=r"'ftp://127\.0\.0\.1:8750' is not an http\(s\) URL"):
        RemoteOffload.from_config(config)
    config = _config(tmp_path, "http://127.0.0.1:8750")
    (tmp_path / "token").unlink()
    with pytest.raises(ConfigError, match=r"token at .*token.*apishield serve"):
        RemoteOffload.from_config(config)


def test_plain_http_beyond_this_machine_is_warned_about(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="apishield.inline"):
        RemoteOffload.from_config(_config(tmp_path, "http://127.0.0.1:8750")).close()
        assert caplog.records == []
        RemoteOffload.from_config(_config(tmp_path, "http://analysis.internal:8750")).close()
        RemoteOffload.from_config(_config(tmp_path, "https://analysis.internal:8750")).close()
    assert len(caplog.records) == 1
    assert "unencrypted" in caplog.records[0].getMessage()

"""The reverse proxy against real servers on 127.0.0.1: an aiohttp upstream, the proxy on uvicorn.

Every server runs on a free port of its own and every request has a timeout, so a proxy that
hangs fails the test instead of stalling the suite.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from ipaddress import ip_network
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from aiohttp import web

from apishield.enforce.schema import RESPONSE_UNDOCUMENTED
from apishield.inline.asgi import ApishieldMiddleware
from apishield.inline.guard import Guard
from apishield.inline.proxy import ReverseProxy, Upstream, UpstreamError
from apishield.inline.server import ListenError, Server, parse_listen

from .conftest import MakeGuard, customer_spec

BIG = bytes(range(256)) * 4096 * 8  # 8 MiB, every byte value
PAYLOAD = b'{"id":40213377,"email":"ada@example.org","plan":"unlimited"}'
CLIENT_TIMEOUT = 20.0


class UpstreamApp:
    """A small aiohttp API on its own thread and loop, counting the requests that reach it."""

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.seen: dict[str, dict[str, Any]] = {}
        self.release = threading.Event()
        self.stopping = threading.Event()
        self.streams_ended = threading.Event()
        """Set when an endless /stream answer stopped being read and its handler ended."""
        self.port = _free_port()
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(ready,), daemon=True)
        self._thread.start()
        assert ready.wait(10), "the upstream did not start"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        self._loop.run_until_complete(site.start())
        ready.set()
        self._loop.run_forever()
        self._loop.close()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.hits[request.path] += 1
        self.seen[request.path] = {
            "headers": [(k.lower(), v) for k, v in request.headers.items()],
            "path_qs": request.raw_path,
            "method": request.method,
        }
        if request.path == "/echo":
            digest = hashlib.sha256()
            size = 0
            async for chunk in request.content.iter_any():
                digest.update(chunk)
                size += len(chunk)
            body = orjson.dumps({"sha256": digest.hexdigest(), "size": size})
            return web.Response(body=body, content_type="application/json")
        if request.path == "/big":
            response = web.StreamResponse(headers={"content-type": "application/octet-stream"})
            await response.prepare(request)
            for start in range(0, len(BIG), 65536):
                await response.write(BIG[start : start + 65536])
            await response.write_eof()
            return response
        if request.path == "/stream":
            response = web.StreamResponse(headers={"content-type": "text/event-stream"})
            await response.prepare(request)
            try:
                while not self.stopping.is_set():
                    await response.write(b"data: tick\n\n")
                    await asyncio.sleep(0.02)
            except (ConnectionError, RuntimeError):
                pass  # the reader closed the connection
            finally:
                self.streams_ended.set()
            return response
        if request.path == "/hang":
            while not self.stopping.is_set():
                await asyncio.sleep(0.02)
        if request.path == "/slow":
            while not self.release.is_set():
                await asyncio.sleep(0.02)
            return web.Response(body=b"finished", content_type="text/plain")
        return web.Response(
            body=PAYLOAD,
            headers={
                "content-type": "application/json",
                "x-trace": "abc",
                "keep-alive": "timeout=5",
                "connection": "x-internal",
                "x-internal": "upstream-only",
            },
        )

    def close(self) -> None:
        self.release.set()
        self.stopping.set()

        async def stop() -> None:
            if self._runner is not None:
                await self._runner.cleanup()

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def upstream() -> Iterator[UpstreamApp]:
    app = UpstreamApp()
    yield app
    app.close()


def _serve(
    url: str, guard: Guard | None, trusted_proxies: tuple[str, ...] = (), **options: Any
) -> Server:
    trusted = [ip_network(proxy) for proxy in trusted_proxies]
    app: Any = ReverseProxy(Upstream.parse(url, **options), trusted)
    if guard is not None:
        app = ApishieldMiddleware(app, guard)
    server = Server(app, "127.0.0.1", 0, grace=10)
    server.start()
    return server


@pytest.fixture
def proxied(upstream: UpstreamApp, make_guard: MakeGuard) -> Iterator[tuple[str, Guard]]:
    guard, _ = make_guard(
        enforce={
            "deny": {"user_agents": ["evil-scanner"]},
            "rate_limits": {"routes": {"/limited": {"requests": 2, "per_seconds": 3600}}},
        }
    )
    server = _serve(upstream.url, guard)
    yield server.url, guard
    server.stop(15)


def _client(base: str) -> httpx.Client:
    return httpx.Client(base_url=base, timeout=CLIENT_TIMEOUT)


def test_a_get_passes_through_byte_identical(
    upstream: UpstreamApp, proxied: tuple[str, Guard]
) -> None:
    base, guard = proxied
    with _client(upstream.url) as direct, _client(base) as client:
        plain = direct.get("/customers/40213377?fields=a%2Cb&x=1")
        answer = client.get("/customers/40213377?fields=a%2Cb&x=1")
    assert answer.status_code == plain.status_code == 200
    assert answer.content == plain.content == PAYLOAD
    assert answer.headers["x-trace"] == "abc"
    assert upstream.seen["/customers/40213377"]["path_qs"] == "/customers/40213377?fields=a%2Cb&x=1"
    guard.flush()
    assert guard.processed == 1


def test_a_post_and_a_large_streamed_upload_arrive_byte_identical(
    upstream: UpstreamApp, proxied: tuple[str, Guard]
) -> None:
    base, _ = proxied

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(BIG), 100_000):
            yield BIG[start : start + 100_000]

    with _client(base) as client:
        small = client.post("/echo", content=PAYLOAD, headers={"content-type": "application/json"})
        streamed = client.post("/echo", content=chunks())
        sized = client.post("/echo", content=BIG)
    assert small.json() == {"sha256": hashlib.sha256(PAYLOAD).hexdigest(), "size": len(PAYLOAD)}
    expected = {"sha256": hashlib.sha256(BIG).hexdigest(), "size": len(BIG)}
    assert streamed.json() == expected
    assert sized.json() == expected


def test_a_large_streamed_answer_arrives_byte_identical(
    upstream: UpstreamApp, proxied: tuple[str, Guard]
) -> None:
    base, guard = proxied
    with _client(base) as client, client.stream("GET", "/big") as answer:
        chunks = list(answer.iter_raw())
    assert answer.status_code == 200
    assert b"".join(chunks) == BIG
    assert len(chunks) > 1
    guard.flush()
    assert guard.processed == 1


def test_an_undocumented_field_of_the_upstream_answer_is_stripped(
    upstream: UpstreamApp, make_guard: MakeGuard
) -> None:
    guard, analysed = make_guard(
        spec=customer_spec(), enforce={"openapi": {"strip_undocumented": True}}
    )
    server = _serve(upstream.url, guard)
    try:
        with _client(upstream.url) as direct, _client(server.url) as client:
            plain = direct.get("/customers/40213377")
            answer = client.get("/customers/40213377")
    finally:
        server.stop(15)
    assert plain.content == PAYLOAD and plain.headers["content-length"] == str(len(PAYLOAD))
    assert answer.status_code == 200
    assert answer.json() == {"id": 40213377, "plan": "unlimited"}  # the spec has no email
    assert answer.headers["content-length"] == str(len(answer.content))
    assert answer.headers["x-trace"] == "abc"
    assert guard.stats()["strip"] == {"stripped": 1, "too_large": 0}
    guard.flush()
    exchange = analysed.get_nowait()
    assert exchange.response is not None and exchange.response.body == PAYLOAD
    finding = next(f for f in exchange.findings if f.rule_id == RESPONSE_UNDOCUMENTED)
    assert finding.evidence["fields"] == "$.email" and finding.evidence["stripped"] == "true"


FORWARDED = {
    "x-forwarded-for": "203.0.113.7",
    "x-forwarded-proto": "https",
    "forwarded": "for=203.0.113.7;proto=https",
    "host": "api.example.org",
}


def test_forwarding_headers_are_appended(upstream: UpstreamApp, proxied: tuple[str, Guard]) -> None:
    base, _ = proxied
    with _client(base) as client:
        client.get("/customers/1", headers=FORWARDED)
    headers = dict(upstream.seen["/customers/1"]["headers"])
    assert headers["x-forwarded-for"] == "203.0.113.7, 127.0.0.1"
    assert headers["forwarded"] == (
        "for=203.0.113.7;proto=https, for=127.0.0.1;proto=http;host=api.example.org"
    )
    assert headers["host"] == "api.example.org"


def test_an_untrusted_clients_forwarded_proto_is_replaced_by_the_proxys_scheme(
    upstream: UpstreamApp, proxied: tuple[str, Guard]
) -> None:
    # 127.0.0.1 is no trusted proxy here: its "https" over plain HTTP would hide the plain hop.
    base, _ = proxied
    with _client(base) as client:
        client.get("/customers/1", headers=FORWARDED)
        client.get("/customers/2")
    assert dict(upstream.seen["/customers/1"]["headers"])["x-forwarded-proto"] == "http"
    assert dict(upstream.seen["/customers/2"]["headers"])["x-forwarded-proto"] == "http"


def test_a_trusted_proxys_forwarded_proto_is_appended_to(upstream: UpstreamApp) -> None:
    server = _serve(upstream.url, None, trusted_proxies=("127.0.0.0/8",))
    try:
        with _client(server.url) as client:
            client.get("/customers/1", headers=FORWARDED)
    finally:
        server.stop(15)
    headers = dict(upstream.seen["/customers/1"]["headers"])
    assert headers["x-forwarded-proto"] == "https, http"
    assert headers["x-forwarded-for"] == "203.0.113.7, 127.0.0.1"


def test_repeated_forwarding_headers_are_joined_in_order(
    upstream: UpstreamApp, proxied: tuple[str, Guard]
) -> None:
    base, _ = proxied
    hops = [f"198.51.100.{n % 250}" for n in range(500)]  # within the upstream's 8 KB line
    with _client(base) as client:
        answer = client.get("/customers/2", headers=[("x-forwarded-for", hop) for hop in hops])
    assert answer.status_code == 200
    headers = dict(upstream.seen["/customers/2"]["headers"])
    assert headers["x-forwarded-for"] == ", ".join([*hops, "127.0.0.1"])


def test_header_values_reach_the_upstream_byte_for_byte(
    upstream: UpstreamApp, proxied: tuple[str, Guard]
) -> None:
    base, _ = proxied
    with _client(base) as client:
        sent = client.get("/customers/3", headers={"x-name": "café – ☕".encode()})
        refused = client.get("/customers/4", headers={"x-name": b"caf\xe9"})
    assert sent.status_code == 200
    assert dict(upstream.seen["/customers/3"]["headers"])["x-name"] == "café – ☕"
    # Not UTF-8, so it cannot be written as sent: refused, not re-encoded into other bytes.
    assert refused.status_code == 400
    assert upstream.hits["/customers/4"] == 0


def test_a_target_that_is_not_a_path_gets_400(proxied: tuple[str, Guard]) -> None:
    base, _ = proxied
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=CLIENT_TIMEOUT) as conn:
        conn.sendall(b"OPTIONS * HTTP/1.1\r\nHost: api.example.org\r\nConnection: close\r\n\r\n")
        reply = b""
        while chunk := conn.recv(65536):
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 400 "), reply[:80]


def test_a_client_hanging_up_stops_the_upstream_stream(
    upstream: UpstreamApp, proxied: tuple[str, Guard]
) -> None:
    base, _ = proxied
    with _client(base) as client, client.stream("GET", "/stream") as answer:
        assert answer.status_code == 200
        first = next(answer.iter_bytes())
        assert first.startswith(b"data: tick")
    # The client is gone; the proxy must stop reading the endless answer and close it.
    assert upstream.streams_ended.wait(10), "the upstream stream was still being read"
    assert not upstream.stopping.is_set()


def test_host_can_be_rewritten_to_the_upstream(upstream: UpstreamApp) -> None:
    server = _serve(upstream.url, None, rewrite_host=True)
    try:
        with _client(server.url) as client:
            client.get("/customers/2", headers={"host": "api.example.org"})
    finally:
        server.stop(15)
    headers = dict(upstream.seen["/customers/2"]["headers"])
    assert headers["host"] == f"127.0.0.1:{upstream.port}"
    assert headers["x-forwarded-for"] == "127.0.0.1"


def test_hop_by_hop_headers_are_removed_both_ways(
    upstream: UpstreamApp, proxied: tuple[str, Guard]
) -> None:
    base, _ = proxied
    with _client(base) as client:
        answer = client.get(
            "/customers/3",
            headers={
                "connection": "keep-alive, x-client-hop",
                "x-client-hop": "secret-to-this-hop",
                "keep-alive": "timeout=30",
                "te": "trailers",
                "proxy-authorization": "Basic Zm9vOmJhcg==",
                "x-end-to-end": "kept",
            },
        )
    received = dict(upstream.seen["/customers/3"]["headers"])
    for name in ("x-client-hop", "keep-alive", "te", "proxy-authorization"):
        assert name not in received
    assert received["x-end-to-end"] == "kept"
    assert "x-internal" not in answer.headers
    assert "keep-alive" not in answer.headers
    assert answer.headers["x-trace"] == "abc"


def test_a_deny_listed_client_gets_403_without_reaching_the_upstream(
    upstream: UpstreamApp, proxied: tuple[str, Guard]
) -> None:
    base, guard = proxied
    with _client(base) as client:
        refused = [
            client.get("/customers/4", headers={"user-agent": "evil-scanner/1.0"}) for _ in range(3)
        ]
        allowed = client.get("/customers/4")
    assert [r.status_code for r in refused] == [403, 403, 403]
    assert refused[0].json() == {"error": "forbidden"}
    assert allowed.status_code == 200
    assert upstream.hits["/customers/4"] == 1
    assert guard.decisions["enforce.deny.user_agent"] == 3


def test_a_rate_limit_gives_429_with_its_headers(
    upstream: UpstreamApp, proxied: tuple[str, Guard]
) -> None:
    base, _ = proxied
    with _client(base) as client:
        answers = [client.get("/limited") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 429, 429]
    assert "retry-after" in answers[2].headers
    assert upstream.hits["/limited"] == 2


def test_an_upstream_that_is_down_gives_502(make_guard: MakeGuard) -> None:
    guard, _ = make_guard()
    server = _serve(f"http://127.0.0.1:{_free_port()}", guard, connect_timeout=5)
    try:
        with _client(server.url) as client:
            answers = [client.get("/customers/5"), client.post("/echo", content=b"x" * 1000)]
    finally:
        server.stop(15)
    assert [a.status_code for a in answers] == [502, 502]
    assert answers[0].json() == {"error": "bad gateway"}


def test_a_hanging_upstream_gives_504_after_the_read_timeout(upstream: UpstreamApp) -> None:
    server = _serve(upstream.url, None, read_timeout=0.5)
    try:
        with _client(server.url) as client:
            # The upstream never answers: a 504 can only come from the proxy's read timeout,
            # well before the client's own timeout would raise.
            answer = client.get("/hang")
    finally:
        server.stop(15)
    assert answer.status_code == 504
    assert answer.json() == {"error": "gateway timeout"}


def test_stopping_finishes_the_request_in_flight(upstream: UpstreamApp) -> None:
    server = _serve(upstream.url, None)
    with ThreadPoolExecutor(1) as pool, _client(server.url) as client:
        pending = pool.submit(client.get, "/slow")
        deadline = time.monotonic() + 10
        while not upstream.hits["/slow"] and time.monotonic() < deadline:
            time.sleep(0.01)
        stopper = threading.Thread(target=server.stop, args=(15,))
        stopper.start()
        time.sleep(0.3)  # the server is now shutting down with /slow still in flight
        with pytest.raises(httpx.ConnectError):
            httpx.get(server.url + "/customers/6", timeout=5)
        upstream.release.set()
        answer = pending.result(timeout=15)
        stopper.join(15)
    assert answer.status_code == 200
    assert answer.content == b"finished"
    assert not stopper.is_alive()


def test_the_upstream_url_and_the_listen_address_are_checked() -> None:
    with pytest.raises(UpstreamError, match=re.escape("http://127.0.0.1:8000")):
        Upstream.parse("127.0.0.1:8000")
    with pytest.raises(UpstreamError, match="query"):
        Upstream.parse("http://127.0.0.1:8000/?a=1")
    assert Upstream.parse("http://127.0.0.1:8000/api/").base == "http://127.0.0.1:8000/api"
    assert parse_listen("127.0.0.1:8080") == ("127.0.0.1", 8080)
    assert parse_listen("[::1]:9000") == ("::1", 9000)
    assert parse_listen("8081") == ("127.0.0.1", 8081)
    with pytest.raises(ListenError, match="HOST:PORT"):
        parse_listen("localhost:http")


def test_a_busy_port_is_reported(upstream: UpstreamApp) -> None:
    with pytest.raises(ListenError, match="another --listen port"):
        Server(ReverseProxy(Upstream.parse(upstream.url)), "127.0.0.1", upstream.port)


def test_the_cli_command_serves_and_stops_on_sigterm(upstream: UpstreamApp, tmp_path: Path) -> None:
    port = _free_port()
    command = [sys.executable, "-m", "apishield.cli", "proxy", "--upstream", upstream.url]
    command += ["--listen", f"127.0.0.1:{port}"]
    env = {**os.environ, "APISHIELD_HOME": str(tmp_path)}
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        answer = _first_answer(process, f"http://127.0.0.1:{port}/customers/7", 120)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)
    assert answer.status_code == 200
    assert answer.content == PAYLOAD
    assert process.returncode == 0, stderr
    assert f"127.0.0.1:{port}" in stderr
    assert "stopped" in stderr


def _first_answer(process: subprocess.Popen[str], url: str, seconds: float) -> httpx.Response:
    """Poll until the proxy answers; it compiles its signatures before it listens."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"apishield proxy exited {process.returncode}: {process.stderr}")
        try:
            return httpx.get(url, timeout=5)
        except httpx.TransportError:
            time.sleep(0.2)
    pytest.fail(f"apishield proxy did not answer on {url} within {seconds}s")

from __future__ import annotations

import asyncio
import base64
import gzip
import json
import logging
import queue
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from apishield.enforce.schema import RESPONSE_UNDOCUMENTED
from apishield.exchange import Action, Exchange, Severity
from apishield.inline.asgi import ApishieldMiddleware, Message
from apishield.inline.guard import Guard
from apishield.inline.headers import REQUEST_HEADER_BYTES
from apishield.inline.server import Server
from apishield.limits import BlockAction

from .conftest import MakeGuard, customer_spec

PAYLOAD = b'{"id":40213377,"email":"ada@example.org","plan":"unlimited"}'


async def _customer(request: Request) -> Response:
    return Response(
        PAYLOAD,
        headers={"content-type": "application/json", "x-trace": "abc", "set-cookie": "a=1"},
    )


async def _stream(request: Request) -> StreamingResponse:
    async def chunks() -> AsyncIterator[bytes]:
        for i in range(5):
            yield b"chunk-%d;" % i

    return StreamingResponse(chunks(), media_type="text/plain")


async def _echo(request: Request) -> JSONResponse:
    body = await request.body()
    return JSONResponse({"received": len(body)})


ROUTES = [
    Route("/customers/{id}", _customer),
    Route("/stream", _stream),
    Route("/upload", _echo, methods=["POST"]),
]


def _starlette(guard: Guard | None) -> Starlette:
    middleware = [Middleware(ApishieldMiddleware, guard=guard)] if guard is not None else []
    return Starlette(routes=ROUTES, middleware=middleware)


def _fastapi(guard: Guard) -> FastAPI:
    app = FastAPI()

    @app.get("/items/{item_id}")
    async def item(item_id: int, q: str = "") -> dict[str, Any]:
        return {"item_id": item_id, "q": q}

    app.add_middleware(ApishieldMiddleware, guard=guard)
    return app


def _get(app: Any, *paths: str, ip: str = "198.51.100.20", **kwargs: Any) -> list[httpx.Response]:
    async def run() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app, client=(ip, 51000))
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as client:
            return [await client.get(path, **kwargs) for path in paths]

    return asyncio.run(run())


def test_a_2xx_answer_passes_through_byte_identical(make_guard: MakeGuard) -> None:
    guard, analysed = make_guard()
    plain = _get(_starlette(None), "/customers/40213377", "/stream")
    guarded = _get(_starlette(guard), "/customers/40213377", "/stream")
    for bare, shielded in zip(plain, guarded, strict=True):
        assert shielded.status_code == bare.status_code == 200
        assert shielded.content == bare.content
        assert shielded.headers.raw == bare.headers.raw
    guard.flush()
    first = analysed.get_nowait()
    assert first.response is not None and first.response.body == PAYLOAD
    assert first.response.headers["x-trace"] == "abc"
    assert first.data_classes.get("email") == 1
    stream = analysed.get_nowait()
    assert stream.response is not None and stream.response.body == b"".join(
        b"chunk-%d;" % i for i in range(5)
    )


def test_a_deny_listed_ip_gets_403(make_guard: MakeGuard) -> None:
    guard, analysed = make_guard(enforce={"deny": {"ips": ["203.0.113.0/24"]}})
    app = _fastapi(guard)
    (refused,) = _get(app, "/items/1", ip="203.0.113.9")
    (served,) = _get(app, "/items/1", ip="198.51.100.9")
    assert refused.status_code == 403 and served.status_code == 200
    guard.flush()
    exchange = analysed.get_nowait()
    assert exchange.decision.rule == "enforce.deny.ip"
    assert exchange.response is not None and exchange.response.status == 403
    assert guard.decisions["enforce.deny.ip"] == 1


def test_headers_past_the_analysis_budget_are_a_finding_and_can_be_refused(
    make_guard: MakeGuard,
) -> None:
    flood = [(f"x-pad-{n}", "p" * 1000) for n in range(100)]  # 100 KB of headers
    for block, status in ((False, 200), (True, 403)):
        guard, analysed = make_guard(enforce={"block_on_threat": block})
        (answer,) = _get(_fastapi(guard), "/items/1", headers=flood)
        assert answer.status_code == status
        guard.flush()
        exchange = analysed.get_nowait()
        found = {f.rule_id: f for f in exchange.findings}
        assert found["proto.headers-too-large"].severity is Severity.HIGH
        assert int(found["proto.headers-too-large"].evidence["skipped_bytes"]) > 30_000
        # What the checks read stays within the budget.
        read = sum(len(k) + len(v) for k, v in exchange.request.headers.items())
        assert read <= REQUEST_HEADER_BYTES


def test_deny_lists_hold_when_addresses_and_identities_are_hashed(make_guard: MakeGuard) -> None:
    guard, analysed = make_guard(
        identity={"hash_ips": True, "hash_identities": True},
        enforce={"deny": {"ips": ["203.0.113.0/24"], "identities": ["mallory"]}},
    )
    app = _fastapi(guard)
    mallory = "Basic " + base64.b64encode(b"mallory:pw").decode()
    alice = "Basic " + base64.b64encode(b"alice:pw").decode()
    (by_network,) = _get(app, "/items/1", ip="203.0.113.9")
    (by_identity,) = _get(app, "/items/1", ip="198.51.100.9", headers={"authorization": mallory})
    (served,) = _get(app, "/items/1", ip="198.51.100.9", headers={"authorization": alice})
    assert [by_network.status_code, by_identity.status_code, served.status_code] == [403, 403, 200]
    guard.flush()
    rules = [analysed.get_nowait().decision.rule for _ in range(2)]
    assert rules == ["enforce.deny.ip", "enforce.deny.identity"]
    assert guard.decisions["enforce.deny.ip"] == guard.decisions["enforce.deny.identity"] == 1


def test_a_client_over_its_rate_gets_429_with_ratelimit_headers(make_guard: MakeGuard) -> None:
    guard, _ = make_guard(enforce={"rate_limits": {"actor": {"requests": 3, "per_seconds": 3600}}})
    responses = _get(_fastapi(guard), *["/items/7"] * 5)
    assert [r.status_code for r in responses] == [200, 200, 200, 429, 429]
    refused = responses[3]
    assert refused.headers["ratelimit-policy"] == '"actor";q=3;w=3600'
    assert refused.headers["ratelimit"].startswith('"actor";r=0;t=')
    assert int(refused.headers["retry-after"]) >= 1
    (other,) = _get(_fastapi(guard), "/items/7", ip="198.51.100.99")
    assert other.status_code == 200


def test_monitor_mode_lets_the_client_through(make_guard: MakeGuard) -> None:
    guard, analysed = make_guard(
        enforce={"mode": "monitor", "rate_limits": {"actor": {"requests": 1}}}
    )
    responses = _get(_fastapi(guard), "/items/1", "/items/2")
    assert [r.status_code for r in responses] == [200, 200]
    guard.flush()
    analysed.get_nowait()
    would = analysed.get_nowait().decision
    assert would.action is Action.THROTTLE and would.enforced is False


def test_an_injection_is_flagged_and_passes_unless_blocking_is_configured(
    make_guard: MakeGuard,
) -> None:
    attack = {"params": {"q": "1' UNION SELECT username, password FROM users--"}}
    guard, analysed = make_guard()
    (response,) = _get(_fastapi(guard), "/items/1", **attack)
    assert response.status_code == 200
    guard.flush()
    exchange = analysed.get_nowait()
    assert exchange.threat == "high"
    assert exchange.decision.action is Action.FLAG
    assert any(f.rule_id.startswith("inj.sqli") for f in exchange.findings)
    assert "inj.sqli" in exchange.decision.reason
    blocking, _ = make_guard(enforce={"block_on_threat": True})
    (refused,) = _get(_fastapi(blocking), "/items/1", **attack)
    assert refused.status_code == 403


def test_a_crashing_guard_fails_open(make_guard: MakeGuard) -> None:
    guard, _ = make_guard()

    def crash(exchange: Exchange, now: float) -> None:
        raise RuntimeError("policy bug")

    guard.policy.decide = crash  # type: ignore[method-assign,assignment]
    responses = _get(_fastapi(guard), "/items/1", "/items/2")
    assert [r.status_code for r in responses] == [200, 200]
    assert responses[0].json() == {"item_id": 1, "q": ""}
    assert guard.errors["request"] == 2


def test_fail_closed_answers_503(make_guard: MakeGuard) -> None:
    guard, _ = make_guard(enforce={"on_error": "closed"})

    def crash(exchange: Exchange, now: float) -> None:
        raise RuntimeError("policy bug")

    guard.policy.decide = crash  # type: ignore[method-assign,assignment]
    (response,) = _get(_fastapi(guard), "/items/1")
    assert response.status_code == 503


def test_monitor_mode_refuses_nothing_even_when_configured_to_fail_closed(
    make_guard: MakeGuard, caplog: pytest.LogCaptureFixture
) -> None:
    guard, _ = make_guard(enforce={"on_error": "closed", "mode": "monitor"})

    def crash(exchange: Exchange, now: float) -> None:
        raise RuntimeError("policy bug")

    guard.policy.decide = crash  # type: ignore[method-assign,assignment]
    with caplog.at_level(logging.ERROR, "apishield"):
        (response,) = _get(_fastapi(guard), "/items/1")
    assert response.status_code == 200
    assert "traffic passes" in caplog.text


def test_the_response_phase_runs_after_the_answer_went_out(make_guard: MakeGuard) -> None:
    guard, analysed = make_guard()
    answered = threading.Event()
    seen: list[bool] = []

    class Gate:
        """Holds the response phase until the test has its answer; on the request path this
        would wait for an answer that cannot come, and see the event unset."""

        name = "gate"

        def __call__(self, exchange: Exchange) -> None:
            seen.append(answered.wait(timeout=10))

    pipeline = guard.engine.pipeline
    pipeline.response_stages = [Gate(), *pipeline.response_stages]
    (response,) = _get(_fastapi(guard), "/items/3")
    assert response.status_code == 200
    assert analysed.empty()
    answered.set()
    exchange = analysed.get(timeout=10)
    assert seen == [True]
    assert exchange.route == "/items/{item_id}" or exchange.request.path == "/items/3"


def test_request_bodies_stream_to_the_app_whole_and_are_captured_capped(
    make_guard: MakeGuard,
) -> None:
    guard, analysed = make_guard(ingest={"max_body_bytes": 16})
    body = b"x" * 1000

    async def run() -> httpx.Response:
        transport = httpx.ASGITransport(app=_starlette(guard))
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as client:

            async def chunks() -> AsyncIterator[bytes]:
                for i in range(0, len(body), 100):
                    yield body[i : i + 100]

            return await client.post("/upload", content=chunks())

    response = asyncio.run(run())
    assert response.json() == {"received": 1000}
    guard.flush()
    exchange = analysed.get_nowait()
    assert exchange.request.body == b"x" * 16
    assert exchange.response is not None and exchange.response.body == b'{"received":1000}'[:16]


def _raw_request(
    make_guard: MakeGuard, http_version: str, headers: list[tuple[bytes, bytes]], body: bytes
) -> tuple[Exchange, list[bytes]]:
    """One request driven by hand through the middleware: what the checks saw, and the body
    messages the app received."""
    guard, analysed = make_guard()
    received: list[bytes] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        message = await receive()
        received.append(message.get("body", b""))
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Any) -> None:
        return None

    scope = {
        "type": "http",
        "http_version": http_version,
        "method": "POST",
        "scheme": "http",
        "path": "/upload",
        "raw_path": b"/upload",
        "query_string": b"",
        "headers": [(b"host", b"api.test"), *headers],
        "client": ("198.51.100.20", 40000),
    }
    asyncio.run(ApishieldMiddleware(app, guard)(scope, receive, send))
    guard.flush()
    return analysed.get_nowait(), received


@pytest.mark.parametrize(
    ("version", "headers", "seen"),
    [
        ("1.1", [(b"content-length", b"7")], b"payload"),
        ("1.1", [(b"transfer-encoding", b"chunked")], b"payload"),
        ("2", [], b"payload"),  # HTTP/2 may send a body it never declared
        ("1.1", [], b""),  # HTTP/1.1 without a declared body has none: nothing read ahead
    ],
)
def test_a_body_is_read_ahead_whenever_the_protocol_allows_one(
    make_guard: MakeGuard, version: str, headers: list[tuple[bytes, bytes]], seen: bytes
) -> None:
    exchange, received = _raw_request(make_guard, version, headers, b"payload")
    assert exchange.request.body == seen or (not seen and not exchange.request.body)
    assert received == [b"payload"]  # the app reads the body either way


def test_non_http_scopes_pass_straight_through(make_guard: MakeGuard) -> None:
    guard, analysed = make_guard()
    seen: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["type"])

    async def nothing() -> dict[str, Any]:
        return {}

    async def drop(message: Any) -> None:
        return None

    asyncio.run(ApishieldMiddleware(app, guard)({"type": "lifespan"}, nothing, drop))
    assert seen == ["lifespan"]
    guard.flush()
    assert analysed.empty()


def test_a_full_queue_drops_and_counts_without_waiting(make_guard: MakeGuard) -> None:
    guard, analysed = make_guard(queue_size=1)
    release = threading.Event()
    holding = threading.Event()

    def hold(exchange: Exchange) -> None:
        """Keeps the worker busy after its first exchange (outside the engine lock)."""
        holding.set()
        release.wait(timeout=10)
        analysed.put(exchange)

    guard.on_processed = hold
    app = _fastapi(guard)
    _get(app, "/items/1")
    assert holding.wait(timeout=10)
    responses = _get(app, *["/items/1"] * 4)
    assert [r.status_code for r in responses] == [200] * 4
    assert guard.dropped == 3  # the worker holds the first, the queue holds one more
    release.set()
    guard.flush()
    got = 0
    while True:
        try:
            analysed.get_nowait()
        except queue.Empty:
            break
        got += 1
    assert got + guard.dropped == 5


BOT = "203.0.113.66"


def _counted(guard: Guard) -> tuple[FastAPI, list[str]]:
    """A FastAPI app that notes every request that reaches it."""
    app = FastAPI()
    reached: list[str] = []

    @app.get("/items")
    async def items() -> list[dict[str, Any]]:
        reached.append("/items")
        return [{"item_id": 1}]

    @app.get("/items/{item_id}")
    async def item(item_id: int) -> dict[str, Any]:
        reached.append(f"/items/{item_id}")
        return {"item_id": item_id}

    app.add_middleware(ApishieldMiddleware, guard=guard)
    return app, reached


def _block_bot(guard: Guard, action: BlockAction) -> None:
    guard.policy.blocks.block("ip", BOT, time.time() + 600, "incident 9: scanner", action)


def test_a_decoyed_bot_gets_an_empty_200_and_never_reaches_the_app(make_guard: MakeGuard) -> None:
    guard, analysed = make_guard(enforce={"bots": {"decoys": {"GET /items": []}}})
    _block_bot(guard, "decoy")
    app, reached = _counted(guard)
    one, listing = _get(app, "/items/7", "/items", ip=BOT)
    assert (one.status_code, one.json()) == (200, {})
    assert (listing.status_code, listing.json()) == (200, [])
    assert one.headers["content-type"] == "application/json"
    assert reached == []
    (served,) = _get(app, "/items/7")
    assert served.json() == {"item_id": 7} and reached == ["/items/7"]
    guard.flush()
    decoyed = analysed.get_nowait()
    assert decoyed.decision.action is Action.DECOY and decoyed.decision.rule == "enforce.block.ip"
    assert decoyed.response is None  # analysed, but the decoy is not taken for the API's answer


def test_a_tarpitted_bot_waits_then_gets_429_and_never_reaches_the_app(
    make_guard: MakeGuard,
) -> None:
    guard, analysed = make_guard(enforce={"bots": {"tarpit_seconds": 0.2}})
    _block_bot(guard, "tarpit")
    app, reached = _counted(guard)
    started = time.monotonic()
    (refused,) = _get(app, "/items/7", ip=BOT)
    waited = time.monotonic() - started
    assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
    assert refused.json() == {"error": "too many requests"}
    assert 0.19 <= waited < 5.0  # held for the configured 0.2 s, not the default 10 s
    assert reached == []
    assert guard.tarpits.stats() == {"holding": 0, "held": 1, "at_once": 0}
    guard.flush()
    exchange = analysed.get_nowait()
    assert exchange.decision.action is Action.TARPIT
    assert exchange.response is not None and exchange.response.status == 429
    assert exchange.duration is not None
    assert exchange.duration + 0.19 <= waited  # the hold is not taken for the API's latency


def test_past_the_tarpit_cap_a_bot_is_refused_at_once(make_guard: MakeGuard) -> None:
    guard, _ = make_guard(enforce={"bots": {"tarpit_seconds": 1.0, "max_tarpits": 1}})
    _block_bot(guard, "tarpit")
    app, reached = _counted(guard)
    finished: list[tuple[int, int]] = []  # (status, requests still held when it was answered)

    async def run() -> None:
        transport = httpx.ASGITransport(app=app, client=(BOT, 51000))
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as client:

            async def get(path: str) -> None:
                response = await client.get(path)
                finished.append((response.status_code, guard.tarpits.holding))

            await asyncio.gather(get("/items/1"), get("/items/2"))

    asyncio.run(run())
    assert finished == [(429, 1), (429, 0)]  # the second was answered while the first was held
    assert guard.tarpits.stats() == {"holding": 0, "held": 1, "at_once": 1}
    assert reached == []


def test_monitor_mode_records_a_tarpit_and_lets_the_bot_through(make_guard: MakeGuard) -> None:
    guard, analysed = make_guard(enforce={"mode": "monitor", "bots": {"tarpit_seconds": 30}})
    _block_bot(guard, "tarpit")
    app, reached = _counted(guard)
    (response,) = _get(app, "/items/3", ip=BOT)
    assert response.json() == {"item_id": 3} and reached == ["/items/3"]
    assert guard.tarpits.stats()["held"] == 0
    guard.flush()
    would = analysed.get_nowait().decision
    assert would.action is Action.TARPIT and would.enforced is False


_HANG_UPS = {
    "without a body": (b"GET /items/7 HTTP/1.1\r\nHost: api.test\r\n\r\n", b""),
    "with a body read whole": (
        b"POST /items HTTP/1.1\r\nHost: api.test\r\nContent-Length: 4\r\n\r\n{}{}",
        b"",
    ),
    "with a body past the cap": (
        b"POST /items HTTP/1.1\r\nHost: api.test\r\nContent-Length: 64\r\n\r\n" + b"x" * 32,
        b"y" * 32,
    ),
    "mid-upload": (
        b"POST /items HTTP/1.1\r\nHost: api.test\r\nContent-Length: 64\r\n\r\n" + b"x" * 32,
        b"",
    ),
}
"""What a bot sends before it is held, and what it sends while held before hanging up."""


@pytest.mark.parametrize(("sent", "then"), _HANG_UPS.values(), ids=_HANG_UPS.keys())
def test_a_bot_hanging_up_in_the_tarpit_frees_its_slot_and_is_sent_nothing(
    make_guard: MakeGuard, sent: bytes, then: bytes
) -> None:
    guard, analysed = make_guard(
        enforce={"bots": {"tarpit_seconds": 300, "max_tarpits": 1}}, ingest={"max_body_bytes": 16}
    )
    guard.policy.blocks.block("ip", "127.0.0.1", time.time() + 600, "incident 9", "tarpit")
    app, reached = _counted(guard)
    server = Server(app, "127.0.0.1", 0, grace=1)
    server.start()
    try:
        for held in (1, 2):  # the second bot is held in the slot the first one left
            assert _hang_up_in_the_tarpit(server, guard, sent, then, held) == b""
            _wait_until(lambda: guard.tarpits.holding == 0, f"bot {held}'s slot given back")
    finally:
        server.stop(10)
    assert guard.tarpits.stats() == {"holding": 0, "held": 2, "at_once": 0}
    assert reached == []
    guard.flush()
    decisions = [analysed.get_nowait().decision for _ in range(2)]
    assert [d.action for d in decisions if d is not None] == [Action.TARPIT, Action.TARPIT]


def test_a_tarpit_waits_its_time_out_when_the_server_cannot_tell_a_hang_up(
    make_guard: MakeGuard,
) -> None:
    guard, _ = make_guard(enforce={"bots": {"tarpit_seconds": 0.05}})
    _block_bot(guard, "tarpit")
    app, reached = _counted(guard)
    sent: list[Any] = []

    async def receive() -> dict[str, Any]:  # breaks ASGI: a body after the body's end
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "http_version": "1.1",
        "method": "GET",
        "path": "/items/7",
        "raw_path": b"/items/7",
        "query_string": b"",
        "headers": [(b"host", b"api.test")],
        "client": (BOT, 51000),
    }
    asyncio.run(ApishieldMiddleware(app, guard)(scope, receive, send))
    assert [m.get("status") for m in sent] == [429, None] and reached == []
    assert guard.tarpits.stats() == {"holding": 0, "held": 1, "at_once": 0}


def _hang_up_in_the_tarpit(
    server: Server, guard: Guard, sent: bytes, then: bytes, held: int
) -> bytes:
    """One bot, held as the guard's `held`th tarpitted request, hangs up: what it received."""
    with socket.create_connection((server.host, server.port), timeout=10) as bot:
        bot.sendall(sent)
        holding = {"holding": 1, "held": held, "at_once": 0}
        _wait_until(lambda: guard.tarpits.stats() == holding, f"bot {held} held")
        bot.sendall(then)
        bot.shutdown(socket.SHUT_WR)  # hangs up, and listens for what still comes
        return bot.recv(1024)


def _wait_until(done: Callable[[], bool], what: str) -> None:
    """Polls for up to 10 s: far less than the tarpit's 300 s, far more than a hang-up takes."""
    for _ in range(200):
        if done():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what}: did not happen within 10 s")


def test_a_scanner_caught_by_the_detectors_is_fed_decoys(make_guard: MakeGuard) -> None:
    guard, _ = make_guard(enforce={"bots": {"action": "decoy"}})
    app, reached = _counted(guard)
    attack: dict[str, Any] = {"params": {"q": "1' UNION SELECT username, password FROM users--"}}
    probes = _get(app, *[f"/items/{n}" for n in range(12)], ip=BOT, **attack)
    assert all(r.status_code == 200 for r in probes)  # flagged, not refused, until caught
    guard.flush()
    (block,) = guard.policy.blocks.list(time.time())
    assert (block.value, block.action) == (BOT, "decoy")
    assert "bot: scan.attack-requests" in block.reason
    before = len(reached)
    (decoy,) = _get(app, "/items/99", ip=BOT)
    assert (decoy.status_code, decoy.json()) == (200, {}) and len(reached) == before


# -- stripping undocumented answer fields ------------------------------------------------------

LEAKY = {"id": 7, "name": "Ada", "password_hash": "x" * 40, "plan": {"code": "p1", "cost": 9}}
"""What the app answers: two fields the spec does not document (password_hash, plan.cost)."""
CLEAN = {"id": 7, "name": "Ada", "plan": {"code": "p1"}}
RAW = json.dumps(LEAKY).encode()


def _pieces(raw: bytes, pieces: int) -> list[bytes]:
    step = -(-len(raw) // pieces)
    return [raw[i : i + step] for i in range(0, len(raw), step)]


def _leaky(
    guard: Guard | None, pieces: int = 1, media: str = "application/json", gzipped: bool = False
) -> Starlette:
    """GET /customers/{customer} answers LEAKY, whole (with a length) or streamed in `pieces`
    (without one); gzipped, it is content-encoded as sent."""
    raw = gzip.compress(RAW, mtime=0) if gzipped else RAW
    headers = {"x-trace": "t1", **({"content-encoding": "gzip"} if gzipped else {})}

    async def customer(request: Request) -> Response:
        if pieces == 1:
            return Response(raw, media_type=media, headers=headers)

        async def chunks() -> AsyncIterator[bytes]:
            for piece in _pieces(raw, pieces):
                yield piece

        return StreamingResponse(chunks(), media_type=media, headers=headers)

    middleware = [Middleware(ApishieldMiddleware, guard=guard)] if guard is not None else []
    return Starlette(routes=[Route("/customers/{customer}", customer)], middleware=middleware)


def _leaky_fastapi(guard: Guard | None) -> FastAPI:
    app = FastAPI()

    @app.get("/customers/{customer}")
    async def customer(customer: int) -> dict[str, Any]:
        return LEAKY

    if guard is not None:
        app.add_middleware(ApishieldMiddleware, guard=guard)
    return app


def _documented(guard: Guard | None) -> Starlette:
    async def customer(request: Request) -> JSONResponse:
        return JSONResponse(CLEAN)

    middleware = [Middleware(ApishieldMiddleware, guard=guard)] if guard is not None else []
    return Starlette(routes=[Route("/customers/{customer}", customer)], middleware=middleware)


def _stripping(make_guard: MakeGuard, **sections: Any) -> tuple[Guard, Any]:
    enforce = {"openapi": {"strip_undocumented": True}, **sections.pop("enforce", {})}
    return make_guard(spec=customer_spec(), enforce=enforce, **sections)


def _strip_stats(guard: Guard) -> Any:
    return guard.stats()["strip"]


def _drive(
    guard: Guard, messages: list[Message], path: str = "/customers/7"
) -> tuple[list[Message], list[int]]:
    """An app that sends `messages` for GET `path`, behind the middleware: what the server
    got, and how many messages it had got each time the app had sent one."""
    got: list[Message] = []
    seen: list[int] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        for message in messages:
            await send(message)
            seen.append(len(got))

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def server(message: Message) -> None:
        got.append(message)

    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"host", b"api.test")],
        "client": ("198.51.100.20", 51000),
    }
    asyncio.run(ApishieldMiddleware(app, guard)(scope, receive, server))
    return got, seen


def _streamed(headers: list[tuple[bytes, bytes]], chunks: list[bytes]) -> list[Message]:
    start: Message = {"type": "http.response.start", "status": 200, "headers": headers}
    body: list[Message] = [
        {"type": "http.response.body", "body": chunk, "more_body": True} for chunk in chunks
    ]
    return [start, *body, {"type": "http.response.body", "body": b""}]


@pytest.mark.parametrize(
    ("framework", "pieces"), [("starlette", 1), ("starlette", 4), ("fastapi", 1)]
)
def test_undocumented_fields_are_stripped_and_analysis_sees_the_original(
    make_guard: MakeGuard, framework: str, pieces: int
) -> None:
    guard, analysed = _stripping(make_guard)
    app = _leaky(guard, pieces) if framework == "starlette" else _leaky_fastapi(guard)
    (response,) = _get(app, "/customers/7")
    assert response.status_code == 200 and response.json() == CLEAN
    assert b"password_hash" not in response.content
    assert response.headers["content-length"] == str(len(response.content))
    assert [v for k, v in response.headers.raw if k == b"content-length"] == [
        str(len(response.content)).encode()
    ]
    if framework == "starlette":
        assert response.headers["x-trace"] == "t1"
    assert _strip_stats(guard) == {"stripped": 1, "too_large": 0}
    guard.flush()
    exchange = analysed.get_nowait()
    assert exchange.response is not None and json.loads(exchange.response.body or b"") == LEAKY
    assert exchange.response.body_size == len(exchange.response.body or b"")
    finding = next(f for f in exchange.findings if f.rule_id == RESPONSE_UNDOCUMENTED)
    assert finding.evidence["fields"] == "$.password_hash, $.plan.cost"
    assert finding.evidence["stripped"] == "true"


def test_documented_non_json_and_compressed_answers_pass_byte_identical(
    make_guard: MakeGuard,
) -> None:
    guard, _ = _stripping(make_guard)
    cases = [
        (_documented(None), _documented(guard)),
        (_leaky(None, 1, "text/plain"), _leaky(guard, 1, "text/plain")),
        (_leaky(None, 4, "text/plain"), _leaky(guard, 4, "text/plain")),
        (_leaky(None, 1, gzipped=True), _leaky(guard, 1, gzipped=True)),
        (_leaky(None, 4, gzipped=True), _leaky(guard, 4, gzipped=True)),
    ]
    for bare, shielded in cases:
        (expected,) = _get(bare, "/customers/7")
        (got,) = _get(shielded, "/customers/7")
        assert got.status_code == expected.status_code == 200
        assert got.content == expected.content
        assert got.headers.raw == expected.headers.raw
    assert _strip_stats(guard) == {"stripped": 0, "too_large": 0}


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/customers/7", [(b"content-type", b"text/plain")]),
        ("/customers/7", [(b"content-type", b"application/json"), (b"content-encoding", b"gzip")]),
        ("/orders/7", [(b"content-type", b"application/json")]),
    ],
    ids=["text", "gzip", "json-elsewhere"],
)
def test_answers_that_cannot_be_stripped_are_never_held(
    make_guard: MakeGuard, path: str, headers: list[tuple[bytes, bytes]]
) -> None:
    """Each message reaches the server before the app sends the next one: not JSON, content-
    encoded, or on an endpoint the spec does not strip."""
    guard, _ = _stripping(make_guard)
    messages = _streamed(headers, [b"a" * 10, b"b" * 10, b"c" * 10])
    got, seen = _drive(guard, messages, path)
    assert got == messages
    assert seen == [1, 2, 3, 4, 5]


def test_a_stripped_answer_is_held_until_its_last_message(make_guard: MakeGuard) -> None:
    guard, _ = _stripping(make_guard)
    messages = _streamed([(b"content-type", b"application/json")], _pieces(RAW, 3))
    got, seen = _drive(guard, messages)
    assert seen == [0, 0, 0, 0, 2]
    assert [m["type"] for m in got] == ["http.response.start", "http.response.body"]
    assert json.loads(got[1]["body"]) == CLEAN and not got[1].get("more_body", False)
    assert got[0]["headers"] == [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(got[1]["body"])).encode()),
    ]


@pytest.mark.parametrize("mode", ["monitor", "off"])
def test_monitor_and_off_modes_never_alter_an_answer(make_guard: MakeGuard, mode: str) -> None:
    guard, analysed = _stripping(make_guard, enforce={"mode": mode})
    (bare,) = _get(_leaky(None), "/customers/7")
    (response,) = _get(_leaky(guard), "/customers/7")
    assert response.content == bare.content == RAW
    assert response.headers.raw == bare.headers.raw
    assert _strip_stats(guard) == {"stripped": 0, "too_large": 0}
    guard.flush()
    exchange = analysed.get_nowait()
    finding = next(f for f in exchange.findings if f.rule_id == RESPONSE_UNDOCUMENTED)
    assert finding.evidence["stripped"] == "false"  # reported, and said not to have gone


@pytest.mark.parametrize("pieces", [1, 4])
def test_an_answer_past_the_cap_goes_out_whole_counted_and_logged_once(
    make_guard: MakeGuard, pieces: int, caplog: pytest.LogCaptureFixture
) -> None:
    guard, analysed = _stripping(make_guard, ingest={"max_body_bytes": 32})
    (bare,) = _get(_leaky(None, pieces), "/customers/7")
    with caplog.at_level(logging.WARNING, logger="apishield.inline"):
        responses = _get(_leaky(guard, pieces), "/customers/7", "/customers/7")
    for response in responses:
        assert response.content == bare.content == RAW
        assert response.headers.raw == bare.headers.raw
    assert _strip_stats(guard) == {"stripped": 0, "too_large": 2}
    warnings = [r.getMessage() for r in caplog.records if r.name == "apishield.inline"]
    assert len(warnings) == 1
    assert "GET /customers/{customer}" in warnings[0] and "max_body_bytes (32)" in warnings[0]
    guard.flush()
    exchange = analysed.get_nowait()
    assert exchange.response is not None and exchange.response.body == RAW[:32]
    assert exchange.response.body_size == len(RAW)


def test_a_streamed_answer_is_held_only_up_to_the_cap(make_guard: MakeGuard) -> None:
    """Past the cap what is held goes out, and the rest streams as the app sends it."""
    guard, _ = _stripping(make_guard, ingest={"max_body_bytes": 32})
    messages = _streamed([(b"content-type", b"application/json")], [b" " * 10] * 10)
    got, seen = _drive(guard, messages)
    assert got == messages
    assert seen == [0, 0, 0, 0, 5, 6, 7, 8, 9, 10, 11, 12]  # 40 bytes: just past the cap
    assert _strip_stats(guard) == {"stripped": 0, "too_large": 1}


def test_a_declared_length_past_the_cap_is_never_held(make_guard: MakeGuard) -> None:
    guard, _ = _stripping(make_guard, ingest={"max_body_bytes": 32})
    headers = [(b"content-type", b"application/json"), (b"content-length", b"40")]
    messages = _streamed(headers, [b" " * 20, b" " * 20])
    got, seen = _drive(guard, messages)
    assert got == messages and seen == [1, 2, 3, 4]
    assert _strip_stats(guard) == {"stripped": 0, "too_large": 1}


def test_a_failed_strip_is_counted_and_sends_the_original(make_guard: MakeGuard) -> None:
    guard, _ = _stripping(make_guard)
    schema = guard.engine.schema
    assert schema is not None

    def broken(exchange: Exchange) -> bytes | None:
        raise RuntimeError("strip bug")

    schema.strip = broken  # type: ignore[method-assign]
    (bare,) = _get(_leaky(None), "/customers/7")
    (response,) = _get(_leaky(guard), "/customers/7")
    assert response.content == bare.content and response.headers.raw == bare.headers.raw
    assert guard.errors["response"] == 1
    assert _strip_stats(guard) == {"stripped": 0, "too_large": 0}


def test_an_answer_broken_off_while_held_is_never_sent(make_guard: MakeGuard) -> None:
    """Held answers go out whole or not at all: half an answer could carry the fields out."""
    guard, analysed = _stripping(make_guard)
    messages = _streamed([(b"content-type", b"application/json")], _pieces(RAW, 3))[:3]
    got, seen = _drive(guard, messages)
    assert got == [] and seen == [0, 0, 0]
    guard.flush()
    exchange = analysed.get_nowait()  # analysis still hears what the app sent
    assert exchange.response is not None and exchange.response.body == b"".join(
        m["body"] for m in messages[1:]
    )


def test_one_endpoint_can_strip_while_the_default_does_not(make_guard: MakeGuard) -> None:
    endpoints = {"GET /customers/{customer}": {"strip_undocumented": True}}
    guard, _ = make_guard(spec=customer_spec(), enforce={"openapi": {"endpoints": endpoints}})
    (stripped,) = _get(_leaky(guard), "/customers/7")
    assert stripped.json() == CLEAN
    other, _ = make_guard(
        spec=customer_spec(),
        enforce={
            "openapi": {
                "strip_undocumented": True,
                "endpoints": {"GET /customers/{customer}": {"strip_undocumented": False}},
            }
        },
    )
    (kept,) = _get(_leaky(other), "/customers/7")
    assert kept.content == RAW
    plain, _ = make_guard(spec=customer_spec())
    (unstripped,) = _get(_leaky(plain), "/customers/7")
    assert unstripped.content == RAW


def test_the_guards_clock_times_requests_and_a_step_back_never_gives_a_negative_duration(
    make_guard: MakeGuard,
) -> None:
    guard, analysed = make_guard()
    readings = iter([1_000.0, 990.0, 2_000.0, 2_000.5])  # the second reading steps back
    guard.clock = lambda: next(readings)
    _get(_starlette(guard), "/customers/1", "/customers/2")
    guard.flush()
    first, second = analysed.get_nowait(), analysed.get_nowait()
    assert (first.started, first.duration) == (1_000.0, 0.0)
    assert (second.started, second.duration) == (2_000.0, 0.5)


def _transport_rules(exchange: Exchange) -> list[str]:
    return [f.rule_id for f in exchange.findings if f.rule_id.startswith("transport.")]


@pytest.mark.parametrize(
    "claim",
    [{"x-forwarded-proto": "https"}, {"forwarded": "for=198.51.100.20;proto=https"}],
)
def test_a_clients_own_forwarded_proto_does_not_hide_plain_http(
    make_guard: MakeGuard, claim: dict[str, str]
) -> None:
    # Trusted proxies are configured, but the client talks plain HTTP to the app directly.
    guard, analysed = make_guard(identity={"trusted_proxies": ["192.0.2.0/24"]})
    (answer,) = _get(_starlette(guard), "/customers/1", headers=claim)
    assert answer.status_code == 200
    guard.flush()
    assert _transport_rules(analysed.get_nowait()) == ["transport.plain-http"]


def test_a_trusted_proxy_reports_the_clients_scheme(make_guard: MakeGuard) -> None:
    guard, analysed = make_guard(identity={"trusted_proxies": ["192.0.2.0/24"]})
    app = _fastapi(guard)
    _get(app, "/items/1", ip="192.0.2.10", headers={"x-forwarded-proto": "https"})
    _get(app, "/items/2", ip="192.0.2.10", headers={"x-forwarded-proto": "https, http"})
    guard.flush()
    behind_tls, forged = analysed.get_nowait(), analysed.get_nowait()
    assert _transport_rules(behind_tls) == []
    # The client's own "https" is left of what the proxy appended: the proxy's "http" counts.
    assert _transport_rules(forged) == ["transport.plain-http"]


def _ignoring_case(app: Any) -> Any:
    """Routes as IIS and ASP.NET do: `/CUSTOMERS/1` reaches the handler of `/customers/1`."""

    async def routed(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            scope = {**scope, "path": scope["path"].lower()}
        await app(scope, receive, send)

    return routed


@pytest.mark.parametrize("routes", [{}, {"case_insensitive": True, "encoded_slash": "separator"}])
def test_a_route_limit_holds_every_spelling_that_reaches_the_route(
    make_guard: MakeGuard, routes: dict[str, Any]
) -> None:
    # Starlette routes on the decoded path, %2F included; the wrapper ignores case.
    limit = {"/customers/{customer}": {"requests": 2, "per_seconds": 3600}}
    guard, _ = make_guard(
        spec=customer_spec(), routes=routes, enforce={"rate_limits": {"routes": limit}}
    )
    app = ApishieldMiddleware(_ignoring_case(Starlette(routes=ROUTES)), guard)
    spellings = ("/CUSTOMERS/40213377", "/Customers%2F40213377", "/customers%2f40213378")
    answers = _get(app, "/customers/40213377", "/customers/40213377", *spellings)
    assert [a.status_code for a in answers] == [200, 200, 429, 429, 429]
    assert guard.decisions["enforce.rate.route"] == 3

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from apishield.exchange import Action, Exchange
from apishield.inline.asgi import ApishieldMiddleware
from apishield.inline.guard import Guard
from apishield.limits import BlockAction

from .conftest import MakeGuard

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

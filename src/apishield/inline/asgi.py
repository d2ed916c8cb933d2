"""apishield as pure ASGI middleware, for Starlette, FastAPI or any ASGI app.

    app.add_middleware(ApishieldMiddleware, guard=guard)   # Starlette / FastAPI
    app = ApishieldMiddleware(app, guard)                  # anything else

Bodies: the request body is read ahead up to `max_body_bytes` so the request checks see it, and
the messages read are replayed to the app in order, followed by the rest of the stream
untouched; a larger upload is still streamed to the app, the checks see its first bytes. The
response is forwarded message by message as the app sends it (streaming and server-sent events
keep working) while its first `max_body_bytes` are copied for analysis. The finished exchange
is handed to the guard's worker after the last body message went out, so analysis never delays
an answer. Only "http" scopes are inspected; websockets and lifespan pass straight through.

Refusals are answered here without calling the app. A tarpit waits on the event loop
(`asyncio.sleep`), holding the client's connection and nothing of the server's but a timer,
then answers 429; a decoy answers 200 with its decoy body.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from apishield.exchange import Exchange, Request, Response
from apishield.inline.guard import Guard, Refusal

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class ApishieldMiddleware:
    def __init__(self, app: ASGIApp, guard: Guard) -> None:
        self.app = app
        self.guard = guard

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        guard = self.guard
        body = _BodyReader(receive, guard.max_body_bytes)
        exchange: Exchange | None = None
        try:
            exchange = _exchange(scope, time.time())
            await body.read_ahead(exchange.request)
        except Exception:
            guard.failed("request")
        decision = guard.check(exchange) if exchange is not None else None
        refusal = guard.refusal(decision, exchange)
        if refusal is not None:
            if exchange is not None:
                # Timed before any tarpit: its wait is not the API's latency.
                exchange.response = refusal.response()
                exchange.duration = time.time() - exchange.started
            with guard.tarpits.hold(refusal) as delay:
                if delay > 0:
                    await asyncio.sleep(delay)
            await _refuse(send, refusal)
            if exchange is not None:
                guard.submit(exchange)
            return
        if exchange is None or decision is None:
            # The guard failed open: the app sees the request exactly as it came.
            await self.app(scope, body.replay, send)
            return
        recorder = _Recorder(send, guard)
        try:
            await self.app(scope, body.replay, recorder.send)
        finally:
            recorder.finish(exchange)


def _exchange(scope: Scope, now: float) -> Exchange:
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers", ()):
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    raw_path = scope.get("raw_path")
    path = raw_path.decode("latin-1").partition("?")[0] if raw_path else scope.get("path", "/")
    client = scope.get("client")
    request = Request(
        method=scope.get("method", "GET"),
        path=path,
        query=scope.get("query_string", b"").decode("latin-1"),
        headers=headers,
        scheme=scope.get("scheme", "http"),
        host=headers.get("host", ""),
        peer_ip=client[0] if client else "",
        http_version=scope.get("http_version", ""),
    )
    return Exchange(request, None, started=now, source="asgi")


class _BodyReader:
    """Reads the request body ahead, up to a cap, and replays what it read to the app."""

    def __init__(self, receive: Receive, cap: int) -> None:
        self._receive = receive
        self._cap = cap
        self._read: list[Message] = []

    async def read_ahead(self, request: Request) -> None:
        if self._cap <= 0:
            return
        body = bytearray()
        while True:
            message = await self._receive()
            self._read.append(message)
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            body += chunk[: self._cap - len(body)]
            if not message.get("more_body", False):
                request.body = bytes(body)
                request.body_size = sum(len(m.get("body", b"")) for m in self._read)
                return
            if len(body) >= self._cap:
                break
        request.body = bytes(body)
        length = request.headers.get("content-length", "")
        request.body_size = int(length) if length.isdigit() else None

    async def replay(self) -> Message:
        if self._read:
            return self._read.pop(0)
        return await self._receive()


class _Recorder:
    """Forwards every message the app sends, unchanged, and keeps a capped copy of the answer."""

    def __init__(self, send: Send, guard: Guard) -> None:
        self._send = send
        self._guard = guard
        self._cap = guard.max_body_bytes
        self._status: int | None = None
        self._headers: dict[str, str] = {}
        self._body = bytearray()
        self._size = 0

    async def send(self, message: Message) -> None:
        try:
            self._record(message)
        except Exception:
            self._guard.failed("response")
        await self._send(message)

    def _record(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            self._status = int(message["status"])
            for raw_name, raw_value in message.get("headers", ()):
                name = raw_name.decode("latin-1").lower()
                value = raw_value.decode("latin-1")
                held = self._headers.get(name)
                self._headers[name] = value if held is None else f"{held}, {value}"
        elif kind == "http.response.body":
            chunk = message.get("body", b"")
            self._size += len(chunk)
            if len(self._body) < self._cap:
                self._body += chunk[: self._cap - len(self._body)]

    def finish(self, exchange: Exchange) -> None:
        try:
            if self._status is not None:
                body = bytes(self._body) if self._cap > 0 else None
                exchange.response = Response(self._status, self._headers, body, self._size)
            exchange.duration = time.time() - exchange.started
            self._guard.submit(exchange)
        except Exception:
            self._guard.failed("response")


async def _refuse(send: Send, refusal: Refusal) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in refusal.headers]
    headers.append((b"content-length", str(len(refusal.body)).encode("latin-1")))
    await send({"type": "http.response.start", "status": refusal.status, "headers": headers})
    await send({"type": "http.response.body", "body": refusal.body})

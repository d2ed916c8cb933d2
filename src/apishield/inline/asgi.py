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

Stripping (`enforce.openapi.strip_undocumented`): on an endpoint whose undocumented answer
fields are to be withheld, a JSON answer (not content-encoded, without trailers) is held, its
start message and body messages, until its last body message; it then goes out as one body
without those fields and with its content-length rewritten, or as the messages the app sent
when there were none. Analysis still gets the answer as the app gave it. Holding stops at
`max_body_bytes`: an answer that declares a larger content-length is never held, and one that
outgrows the cap is released as it stands and streams on unstripped; both are counted in the
guard's `too_large` and logged once. An answer the app leaves unfinished while held is never
sent (the server answers for the app that broke off), so a partial answer cannot carry the
fields out. Every other answer, and every answer in monitor or off mode, streams untouched.

Refusals are answered here without calling the app. A tarpit waits on the event loop,
holding the client's connection and nothing of the server's but a timer, then answers 429; a
decoy answers 200 with its decoy body. While it waits the tarpit reads `receive` past the body
read ahead (dropping the rest of the body) for the client hanging up: a client gone ends the
wait there, gives its tarpit slot back and is sent nothing, so bots that open and drop
connections cannot fill the slots with dead ones.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

from apishield.enforce.schema import SchemaValidation
from apishield.exchange import Exchange, Request
from apishield.inline.answer import AnswerCopy, strip_answer, worth_holding
from apishield.inline.guard import Guard, Refusal
from apishield.inline.headers import REQUEST_HEADER_BYTES, fold_raw, headers_too_large

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class ApishieldMiddleware:
    def __init__(self, app: ASGIApp, guard: Guard) -> None:
        self.app = app
        self.guard = guard
        self._schema = _stripping(guard)
        """The spec's validation when an answer may be stripped; None spares requests the
        look-up."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        guard = self.guard
        body = _BodyReader(receive, guard.max_body_bytes)
        exchange: Exchange | None = None
        try:
            exchange = _exchange(scope, guard.clock())
            await body.read_ahead(exchange.request)
        except Exception:
            guard.failed("request")
        decision = guard.check(exchange) if exchange is not None else None
        refusal = guard.refusal(decision, exchange)
        if refusal is not None:
            if exchange is not None:
                # Timed before any tarpit: its wait is not the API's latency.
                exchange.response = refusal.response()
                exchange.duration = max(0.0, guard.clock() - exchange.started)
            with guard.tarpits.hold(refusal) as delay:
                stayed = delay <= 0 or await _tarpit(delay, body)
            if stayed:
                await _refuse(send, refusal)
            if exchange is not None:
                guard.submit(exchange)
            return
        if exchange is None or decision is None:
            # The guard failed open: the app sees the request exactly as it came.
            await self.app(scope, body.replay, send)
            return
        stripper = self._stripper(exchange, send)
        recorder = _Recorder(send if stripper is None else stripper.send, guard)
        try:
            await self.app(scope, body.replay, recorder.send)
        finally:
            recorder.finish(exchange)

    def _stripper(self, exchange: Exchange, send: Send) -> _Stripper | None:
        """Something to hold the answer in, when its undocumented fields are to be withheld."""
        schema = self._schema
        if schema is None:
            return None
        try:
            strips = schema.strips(exchange)
        except Exception:
            self.guard.failed("request")
            return None
        return _Stripper(send, self.guard, schema, exchange) if strips else None


def _stripping(guard: Guard) -> SchemaValidation | None:
    """The guard's schema validation when some endpoint strips and answers can be altered."""
    schema, policy = guard.engine.schema, guard.policy
    if schema is None or guard.max_body_bytes <= 0 or policy.monitor or policy.off:
        return None
    rules = (schema.default, *schema.rules.values())
    return schema if any(rule.strip_undocumented for rule in rules) else None


def _exchange(scope: Scope, now: float) -> Exchange:
    headers, skipped = fold_raw(scope.get("headers", ()), REQUEST_HEADER_BYTES)
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
    exchange = Exchange(request, None, started=now, source="asgi")
    if skipped:
        exchange.findings.append(headers_too_large(skipped))
    return exchange


class _BodyReader:
    """Reads the request body ahead, up to a cap, and replays what it read to the app."""

    def __init__(self, receive: Receive, cap: int) -> None:
        self._receive = receive
        self._cap = cap
        self._read: list[Message] = []

    async def read_ahead(self, request: Request) -> None:
        if self._cap <= 0 or _bodiless(request):
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

    async def until_gone(self) -> bool:
        """Wait for the client to hang up, reading past what was read ahead and dropping the
        rest of the body, for a request the app never sees. False when the server breaks the
        protocol (a message after the body's end other than a disconnect): it cannot tell."""
        last = self._read[-1] if self._read else None
        if last is not None and last["type"] == "http.disconnect":
            return True
        ended = last is not None and not last.get("more_body", False)
        while True:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                return True
            if ended:
                return False
            ended = not message.get("more_body", False)


def _bodiless(request: Request) -> bool:
    """An HTTP/1.x request that declares no body has none (RFC 9112 6.3): nothing to read
    ahead, and the app reads the server's own empty message. HTTP/2 and 3 may send a body
    without declaring a length, so theirs is always read."""
    if request.http_version not in ("1.1", "1.0"):
        return False
    headers = request.headers
    return "transfer-encoding" not in headers and headers.get("content-length", "0") == "0"


class _Recorder:
    """Forwards every message the app sends, unchanged, and keeps a capped copy of the answer."""

    def __init__(self, send: Send, guard: Guard) -> None:
        self._send = send
        self._guard = guard
        self._copy = AnswerCopy(guard)

    async def send(self, message: Message) -> None:
        try:
            self._record(message)
        except Exception:
            self._guard.failed("response")
        await self._send(message)

    def _record(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            self._copy.status = int(message["status"])
            self._copy.headers = _fold(message.get("headers", ()))
        elif kind == "http.response.body":
            self._copy.add(message.get("body", b""))

    def finish(self, exchange: Exchange) -> None:
        self._copy.submit(exchange)


class _Stripper:
    """Stands between the recorder and the server for an answer that may lose undocumented
    fields: holds the start and body messages (up to the cap) until the last, then sends the
    answer stripped or as it came. What is not held (not JSON, compressed, with trailers, too
    large) passes straight through."""

    def __init__(
        self, send: Send, guard: Guard, schema: SchemaValidation, exchange: Exchange
    ) -> None:
        self._send = send
        self._guard = guard
        self._schema = schema
        self._exchange = exchange
        self._cap = guard.max_body_bytes
        self._waiting = True
        """No start message yet: the first one decides whether the answer is held."""
        self._start: Message | None = None
        """The held start message; None when nothing is held."""
        self._held: list[Message] = []
        self._size = 0

    async def send(self, message: Message) -> None:
        start = self._start
        kind = message["type"]
        if start is None:
            if self._waiting and kind == "http.response.start":
                self._waiting = False
                if self._holds(message):
                    self._start = message
                    return
            await self._send(message)
            return
        if kind != "http.response.body":
            # Anything else (a second start, pathsend, trailers): out with what is held.
            await self._release()
            await self._send(message)
            return
        self._held.append(message)
        self._size += len(message.get("body", b""))
        if self._size > self._cap:
            self._guard.count_too_large(self._exchange)
            await self._release()
        elif not message.get("more_body", False):
            await self._end(start)

    def _holds(self, start: Message) -> bool:
        if start.get("trailers", False):
            return False
        return worth_holding(self._guard, self._exchange, _fold(start.get("headers", ())))

    async def _end(self, start: Message) -> None:
        """The whole answer is held: out stripped when something was to go, else as it came."""
        body = b"".join(m.get("body", b"") for m in self._held)
        stripped = self._strip(start, body)
        if stripped is None:
            await self._release()
            return
        self._start, self._held = None, []
        self._guard.stripped += 1
        headers = [(n, v) for n, v in start.get("headers", ()) if n.lower() != b"content-length"]
        headers.append((b"content-length", str(len(stripped)).encode("latin-1")))
        await self._send({**start, "headers": headers})
        await self._send({"type": "http.response.body", "body": stripped})

    def _strip(self, start: Message, body: bytes) -> bytes | None:
        headers = _fold(start.get("headers", ()))
        status = start["status"]
        return strip_answer(self._guard, self._schema, self._exchange, status, headers, body)

    async def _release(self) -> None:
        """Send what is held as the app sent it, and hold nothing more."""
        start, held = self._start, self._held
        self._start, self._held = None, []
        if start is not None:
            await self._send(start)
        for message in held:
            await self._send(message)


def _fold(raw: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    """Header names lower-cased, repeated headers joined with commas."""
    return fold_raw(raw)[0]


async def _tarpit(delay: float, body: _BodyReader) -> bool:
    """Hold a refused request `delay` seconds; False, at once, when its client hangs up, so a
    dropped connection gives its tarpit slot back instead of keeping it to the end."""
    try:
        async with asyncio.timeout(delay):
            if await body.until_gone():
                return False
            await asyncio.sleep(delay)
    except TimeoutError:
        pass
    return True


async def _refuse(send: Send, refusal: Refusal) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in refusal.headers]
    headers.append((b"content-length", str(len(refusal.body)).encode("latin-1")))
    await send({"type": "http.response.start", "status": refusal.status, "headers": headers})
    await send({"type": "http.response.body", "body": refusal.body})

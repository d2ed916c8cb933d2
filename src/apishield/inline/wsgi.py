"""apishield as WSGI middleware, for Flask, Django or any WSGI app.

    app.wsgi_app = ApishieldWSGIMiddleware(app.wsgi_app, guard)   # Flask
    application = ApishieldWSGIMiddleware(application, guard)     # anything else

Bodies: up to `max_body_bytes` of the request body are read ahead (never past CONTENT_LENGTH,
and only when the server says where the body ends) so the request checks see them; the app
then reads a stream that gives those bytes first and the rest of the original input after.
The response is passed on chunk by chunk as the app yields it, a capped copy kept; the exchange
goes to the guard's worker once the last chunk is with the server (or the server closed the
response early).

Stripping (`enforce.openapi.strip_undocumented`): on an endpoint whose undocumented answer
fields are to be withheld, a JSON answer (not content-encoded) is held until complete, then
sent without those fields and with its content-length rewritten, or unchanged when there were
none; analysis still gets the answer as the app gave it. Holding stops at `max_body_bytes` (a
larger answer could not be judged whole): from there the answer streams on unstripped, counted
in `too_large` and logged once. Monitor and off modes never alter an answer.

Refusals are answered here without calling the app. A tarpit sleeps on the request's own
thread, so each held request ties up one of the WSGI server's worker threads for
`enforce.bots.tarpit_seconds`: the guard holds at most `enforce.bots.max_tarpits` at once and
refuses the rest at once, and that cap belongs well below the server's thread count. WSGI
tells an app nothing of a client that hangs up, so one gone during the wait keeps its thread and
its tarpit slot to the end (the ASGI middleware ends the wait there). A decoy answers 200 with
its decoy body.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import quote

from apishield.enforce.schema import SchemaValidation
from apishield.exchange import Exchange, Request
from apishield.inline.answer import AnswerCopy, strip_answer, worth_holding
from apishield.inline.guard import Guard, Refusal
from apishield.inline.headers import REQUEST_HEADER_BYTES, fold, headers_too_large

Environ = dict[str, Any]
StartResponse = Callable[..., Callable[[bytes], object]]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]

_REASONS = {200: "OK", 403: "Forbidden", 429: "Too Many Requests", 503: "Service Unavailable"}
_SAFE = "/:@!$&'()*+,;=-._~%"


class ApishieldWSGIMiddleware:
    def __init__(self, app: WSGIApp, guard: Guard) -> None:
        self.app = app
        self.guard = guard
        schema = guard.engine.schema
        strips = schema is not None and (
            schema.default.strip_undocumented
            or any(rule.strip_undocumented for rule in schema.rules.values())
        )
        self._schema = schema if strips else None
        """The spec's validation when an endpoint strips; None spares requests the look-up."""

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        guard = self.guard
        exchange: Exchange | None = None
        try:
            exchange = _exchange(environ, guard.clock())
            _read_ahead(environ, exchange.request, guard.max_body_bytes)
        except Exception:
            guard.failed("request")
        decision = guard.check(exchange) if exchange is not None else None
        refusal = guard.refusal(decision, exchange)
        if refusal is not None:
            return _refuse(guard, refusal, exchange, start_response)
        if exchange is None or decision is None:
            # The guard failed open: the app sees the request as it came (with any body
            # already read ahead given back first).
            return self.app(environ, start_response)
        stripper = self._stripper(exchange, start_response)
        upstream = start_response if stripper is None else stripper.start_response
        recorder = _Recorder(upstream, guard, exchange)
        return _Body(self.app(environ, recorder.start_response), recorder, stripper)

    def _stripper(self, exchange: Exchange, start_response: StartResponse) -> _Stripper | None:
        """Something to hold the answer in, when its undocumented fields are to be withheld."""
        guard, schema = self.guard, self._schema
        if schema is None or guard.max_body_bytes <= 0 or guard.policy.monitor or guard.policy.off:
            return None
        try:
            strips = schema.strips(exchange)
        except Exception:
            guard.failed("request")
            return None
        return _Stripper(self, schema, exchange, start_response) if strips else None

    @property
    def stripped(self) -> int:
        """The guard's count of answers sent without their undocumented fields."""
        return self.guard.stripped

    @property
    def too_large(self) -> int:
        """The guard's count of answers to strip that outgrew `max_body_bytes`."""
        return self.guard.too_large


def _refuse(
    guard: Guard, refusal: Refusal, exchange: Exchange | None, start_response: StartResponse
) -> list[bytes]:
    if exchange is not None:
        # Timed before any tarpit: its wait is not the API's latency.
        exchange.response = refusal.response()
        exchange.duration = max(0.0, guard.clock() - exchange.started)
    with guard.tarpits.hold(refusal) as delay:
        if delay > 0:
            time.sleep(delay)  # at most enforce.bots.tarpit_seconds, on this worker thread
    headers = [*refusal.headers, ("content-length", str(len(refusal.body)))]
    start_response(f"{refusal.status} {_REASONS.get(refusal.status, '')}", headers)
    if exchange is not None:
        guard.submit(exchange)
    return [refusal.body]


def _exchange(environ: Environ, now: float) -> Exchange:
    headers: dict[str, str] = {}
    left, skipped = REQUEST_HEADER_BYTES, 0
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            size = len(key) - 5 + len(value)
            if size > left:
                skipped, left = skipped + size, 0
                continue
            left -= size
            headers[key[5:].replace("_", "-").lower()] = value
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.replace("_", "-").lower()] = environ[key]
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        path = str(raw).partition("?")[0]
    else:
        # PEP 3333 gives the path decoded, as latin-1: quote it back to its wire form.
        decoded = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
        path = quote(decoded.encode("latin-1"), safe=_SAFE) or "/"
    request = Request(
        method=environ.get("REQUEST_METHOD", "GET"),
        path=path,
        query=environ.get("QUERY_STRING", ""),
        headers=headers,
        scheme=environ.get("wsgi.url_scheme", "http"),
        host=headers.get("host") or str(environ.get("SERVER_NAME", "")),
        peer_ip=environ.get("REMOTE_ADDR", ""),
        http_version=environ.get("SERVER_PROTOCOL", "").removeprefix("HTTP/"),
    )
    exchange = Exchange(request, None, started=now, source="wsgi")
    if skipped:
        exchange.findings.append(headers_too_large(skipped))
    return exchange


def _read_ahead(environ: Environ, request: Request, cap: int) -> None:
    length = str(environ.get("CONTENT_LENGTH") or "")
    stream = environ.get("wsgi.input")
    if stream is None:
        return
    if length.isdigit():
        size: int | None = int(length)
        want = min(cap, int(length))
    elif environ.get("wsgi.input_terminated"):
        size, want = None, cap
    else:
        return  # no way to know where the body ends without reading past it
    head = _read_up_to(stream, want)
    environ["wsgi.input"] = _Prefixed(head, stream)
    request.body = head
    request.body_size = size if size is not None else (len(head) if len(head) < cap else None)


def _read_up_to(stream: Any, want: int) -> bytes:
    """`want` bytes, or fewer at the end of the input: a server whose input may return short
    reads (PEP 3333 allows it) would otherwise show the checks only its first chunk."""
    chunks: list[bytes] = []
    while want > 0:
        chunk = bytes(stream.read(want))
        if not chunk:
            break
        chunks.append(chunk)
        want -= len(chunk)
    return b"".join(chunks)


class _Prefixed(io.RawIOBase):
    """The bytes read ahead, then the rest of the original input."""

    def __init__(self, head: bytes, rest: Any) -> None:
        self._head = io.BytesIO(head)
        self._rest = rest

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            return self._head.read() + bytes(self._rest.read())
        data = self._head.read(size)
        if len(data) < size:
            data += bytes(self._rest.read(size - len(data)))
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def readline(self, size: int | None = -1) -> bytes:
        line = self._head.readline(-1 if size is None else size)
        if line.endswith(b"\n") or (size is not None and 0 <= size <= len(line)):
            return line
        more = -1 if size is None or size < 0 else size - len(line)
        return line + bytes(self._rest.readline(more))


class _Recorder:
    """Passes the app's status, headers and chunks on unchanged; keeps a capped copy."""

    def __init__(self, start_response: StartResponse, guard: Guard, exchange: Exchange) -> None:
        self._start_response = start_response
        self._guard = guard
        self._exchange = exchange
        self._copy = AnswerCopy(guard)
        self._done = False

    def start_response(
        self, status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[[bytes], object]:
        try:
            self._copy.status = int(status.split(" ", 1)[0])
            self._copy.headers = fold(headers)
        except Exception:
            self._guard.failed("response")
        write = self._start_response(status, headers, exc_info)

        def recorded_write(data: bytes) -> object:
            self.copy(data)
            return write(data)

        return recorded_write

    def copy(self, chunk: bytes) -> None:
        self._copy.add(chunk)

    def finish(self) -> None:
        if self._done:
            return
        self._done = True
        self._copy.submit(self._exchange)


class _Stripper:
    """Stands between the app and the server for an answer that may lose undocumented fields:
    holds status, headers and body (up to the cap), then sends the answer stripped or as it
    was. What is not held (not JSON, too large) passes straight through."""

    def __init__(
        self,
        middleware: ApishieldWSGIMiddleware,
        schema: SchemaValidation,
        exchange: Exchange,
        start_response: StartResponse,
    ) -> None:
        self._middleware = middleware
        self._schema = schema
        self._exchange = exchange
        self._start_response = start_response
        self._cap = middleware.guard.max_body_bytes
        self._status = ""
        self._headers: list[tuple[str, str]] = []
        self._held: list[bytes] = []
        self._size = 0
        self._holding = False
        self._write: Callable[[bytes], object] | None = None
        """The server's write, once the answer was passed on."""

    def start_response(
        self, status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[[bytes], object]:
        if self._write is not None:
            # Already with the server, which replaces or re-raises as PEP 3333 says.
            self._write = self._start_response(status, headers, exc_info)
            return self.write
        # Nothing was passed on yet, so a second call (with exc_info) simply replaces the first.
        self._status, self._headers = status, list(headers)
        self._holding = self._holds(fold(headers))
        if not self._holding:
            self._start(self._headers)
        return self.write

    def write(self, data: bytes) -> object:
        """The app's legacy write(): held like a yielded chunk."""
        for chunk in self.feed(data):
            if self._write is not None:
                self._write(chunk)
        return None

    def feed(self, chunk: bytes) -> list[bytes]:
        """What to send now of the answer so far: nothing while holding it."""
        if not self._holding:
            return [chunk]
        self._held.append(chunk)
        self._size += len(chunk)
        if self._size <= self._cap:
            return []
        self._holding = False
        self._middleware.guard.count_too_large(self._exchange)
        self._start(self._headers)
        return self._release()

    def end(self) -> list[bytes]:
        """The held answer, once the app gave all of it: stripped when something was to go."""
        if not self._holding:
            return []
        self._holding = False
        stripped = self._strip(b"".join(self._held))
        if stripped is None:
            self._start(self._headers)
            return self._release()
        self._held = []
        self._start(_with_length(self._headers, len(stripped)))
        self._middleware.guard.stripped += 1
        return [stripped]

    def _holds(self, headers: dict[str, str]) -> bool:
        return worth_holding(self._middleware.guard, self._exchange, headers)

    def _strip(self, body: bytes) -> bytes | None:
        guard, headers = self._middleware.guard, fold(self._headers)
        return strip_answer(guard, self._schema, self._exchange, self._status, headers, body)

    def _start(self, headers: list[tuple[str, str]]) -> None:
        self._write = self._start_response(self._status, headers)

    def _release(self) -> list[bytes]:
        held, self._held = self._held, []
        return held


class _Body:
    """The app's response iterable, copied as it goes (and held, to be stripped, when a
    stripper is given); the exchange ends when the last chunk was handed over or when the
    server closes the response, whichever comes first."""

    def __init__(
        self, result: Iterable[bytes], recorder: _Recorder, stripper: _Stripper | None = None
    ) -> None:
        self._result = result
        self._recorder = recorder
        self._stripper = stripper

    def __iter__(self) -> Iterator[bytes]:
        recorder, stripper = self._recorder, self._stripper
        for chunk in self._result:
            recorder.copy(chunk)
            if stripper is None:
                yield chunk
            else:
                yield from stripper.feed(chunk)
        if stripper is not None:
            yield from stripper.end()
        # Every chunk is with the server: finish now rather than trust that it calls close().
        recorder.finish()

    def close(self) -> None:
        try:
            close = getattr(self._result, "close", None)
            if close is not None:
                close()
        finally:
            self._recorder.finish()


def _with_length(headers: list[tuple[str, str]], length: int) -> list[tuple[str, str]]:
    """The headers with content-length set to `length`, in place of any the app sent."""
    out = [(n, v) for n, v in headers if n.lower() != "content-length"]
    out.append(("Content-Length", str(length)))
    return out

"""apishield as WSGI middleware, for Flask, Django or any WSGI app.

    app.wsgi_app = ApishieldWSGIMiddleware(app.wsgi_app, guard)   # Flask
    application = ApishieldWSGIMiddleware(application, guard)     # anything else

Bodies: up to `max_body_bytes` of the request body are read ahead (never past CONTENT_LENGTH,
and only when the server says where the body ends) so the request checks see them; the app
then reads a stream that gives those bytes first and the rest of the original input after.
The response is passed on chunk by chunk as the app yields it, a capped copy kept; the exchange
goes to the guard's worker once the last chunk is with the server (or the server closed the
response early).

Refusals are answered here without calling the app. A tarpit sleeps on the request's own
thread, so each held request ties up one of the WSGI server's worker threads for
`enforce.bots.tarpit_seconds`: the guard holds at most `enforce.bots.max_tarpits` at once and
refuses the rest at once, and that cap belongs well below the server's thread count. A decoy
answers 200 with its decoy body.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import quote

from apishield.exchange import Exchange, Request, Response
from apishield.inline.guard import Guard, Refusal

Environ = dict[str, Any]
StartResponse = Callable[..., Callable[[bytes], object]]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]

_REASONS = {200: "OK", 403: "Forbidden", 429: "Too Many Requests", 503: "Service Unavailable"}
_SAFE = "/:@!$&'()*+,;=-._~%"


class ApishieldWSGIMiddleware:
    def __init__(self, app: WSGIApp, guard: Guard) -> None:
        self.app = app
        self.guard = guard

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        guard = self.guard
        exchange: Exchange | None = None
        try:
            exchange = _exchange(environ, time.time())
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
        recorder = _Recorder(start_response, guard, exchange)
        return recorder.wrap(self.app(environ, recorder.start_response))


def _refuse(
    guard: Guard, refusal: Refusal, exchange: Exchange | None, start_response: StartResponse
) -> list[bytes]:
    if exchange is not None:
        # Timed before any tarpit: its wait is not the API's latency.
        exchange.response = refusal.response()
        exchange.duration = time.time() - exchange.started
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
    for key, value in environ.items():
        if key.startswith("HTTP_"):
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
    return Exchange(request, None, started=now, source="wsgi")


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
    head = stream.read(want) if want > 0 else b""
    environ["wsgi.input"] = _Prefixed(head, stream)
    request.body = head
    request.body_size = size if size is not None else (len(head) if len(head) < cap else None)


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
        self._cap = guard.max_body_bytes
        self._status: int | None = None
        self._headers: dict[str, str] = {}
        self._body = bytearray()
        self._size = 0
        self._done = False

    def start_response(
        self, status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[[bytes], object]:
        try:
            self._status = int(status.split(" ", 1)[0])
            self._headers = {}
            for name, value in headers:
                key = name.lower()
                held = self._headers.get(key)
                self._headers[key] = value if held is None else f"{held}, {value}"
        except Exception:
            self._guard.failed("response")
        write = self._start_response(status, headers, exc_info)

        def recorded_write(data: bytes) -> object:
            self.copy(data)
            return write(data)

        return recorded_write

    def wrap(self, result: Iterable[bytes]) -> Iterable[bytes]:
        return _Body(result, self)

    def copy(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if len(self._body) < self._cap:
            self._body += chunk[: self._cap - len(self._body)]

    def finish(self) -> None:
        if self._done:
            return
        self._done = True
        try:
            exchange = self._exchange
            if self._status is not None:
                body = bytes(self._body) if self._cap > 0 else None
                exchange.response = Response(self._status, self._headers, body, self._size)
            exchange.duration = time.time() - exchange.started
            self._guard.submit(exchange)
        except Exception:
            self._guard.failed("response")


class _Body:
    """The app's response iterable, copied as it goes; the exchange ends when the last chunk
    was handed over or when the server closes the response, whichever comes first."""

    def __init__(self, result: Iterable[bytes], recorder: _Recorder) -> None:
        self._result = result
        self._recorder = recorder

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._result:
            self._recorder.copy(chunk)
            yield chunk
        # Every chunk is with the server: finish now rather than trust that it calls close().
        self._recorder.finish()

    def close(self) -> None:
        try:
            close = getattr(self._result, "close", None)
            if close is not None:
                close()
        finally:
            self._recorder.finish()

"""apishield as a reverse proxy, in front of an API written in anything.

`ReverseProxy` is a plain ASGI app that forwards every request to one upstream over a pooled
aiohttp client; `apishield proxy` serves it wrapped in `ApishieldMiddleware`, so the proxy runs
exactly the guard the in-process middleware runs: a refusal (403, 429, a tarpit or a decoy) is
answered without touching the upstream, the response phase runs on the guard's worker, and a
failing guard lets traffic through. Without the middleware the same app is the bare
pass-through the benchmark compares against.

Forwarding:

* Bodies stream both ways, chunk by chunk; nothing is buffered whole (the middleware keeps only
  its capped copy for the checks). Bytes are forwarded as sent: no decompression, the path and
  query exactly as they arrived.
* Hop-by-hop headers (RFC 9110 7.6.1, and any the Connection header names) are dropped in both
  directions; the server re-frames the body for its own connection.
* X-Forwarded-For and Forwarded are appended to, never replaced, so a chain of proxies stays
  visible. X-Forwarded-Proto is appended to only when the peer is one of `trusted_proxies`;
  from anyone else it is replaced by the scheme the proxy was reached over, so a client on plain
  HTTP cannot tell the upstream it used TLS. The client's Host is kept (the upstream sees the
  name the client asked for) unless `rewrite_host`, which sends the upstream's own authority
  instead.
* An upstream that refuses the connection, resets it or answers garbage gives 502; one that does
  not connect within `connect_timeout`, or goes silent for `read_timeout` while its answer is
  awaited, gives 504. Once the answer has started, a failure can only cut the connection.
* A client that hangs up while a long or endless answer streams (anything that takes more than
  one read) stops the upstream read there, and that upstream connection is closed. One that
  hangs up before the answer starts costs the upstream wait, `read_timeout` at most.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network
from urllib.parse import urlsplit

import aiohttp
from yarl import URL

from apishield.inline.asgi import Message, Receive, Scope, Send

log = logging.getLogger("apishield.proxy")

HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)
"""Headers that describe one connection, not the message (RFC 9110 7.6.1, RFC 2616 13.5.1)."""

# aiohttp adds these to every request unless told not to; a proxy forwards the client's own.
_NO_AUTO_HEADERS = ("User-Agent", "Accept", "Accept-Encoding", "Content-Type")


class UpstreamError(ValueError):
    """The upstream URL cannot be proxied to; the message says what a valid one looks like."""


@dataclass(frozen=True, slots=True)
class Upstream:
    """Where requests go and how long the proxy waits for them."""

    base: str
    """scheme://host[:port][/prefix] without a trailing slash; request paths are appended."""
    authority: str
    """host[:port] as the upstream expects it in Host when `rewrite_host` is on."""
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    rewrite_host: bool = False
    max_connections: int = 0
    """Open connections to the upstream at most; 0 for no limit."""

    @classmethod
    def parse(cls, url: str, **options: float | bool | int) -> Upstream:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UpstreamError(
                f"--upstream {url!r} is not an http(s) URL; write it as "
                "http://127.0.0.1:8000 (optionally with a path prefix such as /api)"
            )
        if parts.query or parts.fragment:
            raise UpstreamError(f"--upstream {url!r}: leave out the query and fragment")
        base = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"
        return cls(base, parts.netloc, **options)  # type: ignore[arg-type]


class ReverseProxy:
    """An ASGI app that answers every HTTP request with the upstream's answer."""

    def __init__(
        self, upstream: Upstream, trusted_proxies: Iterable[IPv4Network | IPv6Network] = ()
    ) -> None:
        """`trusted_proxies` (`identity.trusted_proxies`): peers whose X-Forwarded-Proto is
        passed on, with this hop's scheme appended."""
        self.upstream = upstream
        self._trusted = tuple(trusted_proxies)
        self._session: aiohttp.ClientSession | None = None
        self._timeout = aiohttp.ClientTimeout(
            total=None,
            connect=upstream.connect_timeout,
            sock_connect=upstream.connect_timeout,
            sock_read=upstream.read_timeout,
        )

    async def start(self) -> aiohttp.ClientSession:
        """Open the connection pool; must run on the loop that serves requests."""
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=self.upstream.max_connections, limit_per_host=0, ttl_dns_cache=60
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=self._timeout,
                auto_decompress=False,
                skip_auto_headers=_NO_AUTO_HEADERS,
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._forward(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)
        elif kind == "websocket":
            await send({"type": "websocket.close", "code": 1003})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await self.start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _forward(self, scope: Scope, receive: Receive, send: Send) -> None:
        session = self._session or await self.start()
        raw_path = scope.get("raw_path") or b"/"
        if not raw_path.startswith(b"/"):
            # `OPTIONS *` and absolute or authority forms: nothing of the upstream's to forward.
            await _error(send, 400)
            return
        try:
            headers, has_body = self._request_headers(scope)
        except UnicodeDecodeError as exc:
            log.warning("request refused: a header value is not UTF-8 (%s)", exc.reason)
            await _error(send, 400)
            return
        target = self.upstream.base + raw_path.decode("latin-1")
        query = scope.get("query_string", b"")
        if query:
            target += "?" + query.decode("latin-1")
        relay = _Relay(receive, has_body)
        try:
            await self._round_trip(session, scope, target, headers, relay, send)
        except asyncio.CancelledError:
            if not relay.client_left():
                raise
            # The client hung up: the upstream's answer was dropped and its connection closed.
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
            log.info("client went away; the upstream's answer was dropped")
        finally:
            relay.stop_watching()

    async def _round_trip(
        self,
        session: aiohttp.ClientSession,
        scope: Scope,
        target: str,
        headers: list[tuple[str, str]],
        relay: _Relay,
        send: Send,
    ) -> None:
        started = False
        try:
            async with session.request(
                scope["method"],
                URL(target, encoded=True),
                headers=headers,
                data=relay.body() if relay.has_body else None,
                allow_redirects=False,
                compress=None,
            ) as answer:
                started = True
                await send(
                    {
                        "type": "http.response.start",
                        "status": answer.status,
                        "headers": _response_headers(answer.raw_headers),
                    }
                )
                content = answer.content
                async for chunk in content.iter_any():
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                    if not content.at_eof():
                        relay.watch()  # more to come: an answer read whole needs no watch
                relay.finished = True
                await send({"type": "http.response.body", "body": b""})
        except (TimeoutError, aiohttp.ClientError, OSError, ValueError) as exc:
            if started:
                # Too late for a status: returning unfinished makes the server cut the
                # connection, so the client sees the answer broken off as the upstream's was.
                log.warning("upstream failed mid-answer: %s", _describe(exc))
                return
            status = 504 if _is_timeout(exc) else 502
            log.warning("upstream %s: %s", status, _describe(exc))
            await _error(send, status)

    def _request_headers(self, scope: Scope) -> tuple[list[tuple[str, str]], bool]:
        """The client's headers minus hop-by-hop ones, plus the forwarding trail; and whether
        a body follows."""
        raw: list[tuple[bytes, bytes]] = scope.get("headers", [])
        drop = _dropped(raw) | _REQUEST_ONLY_HOP
        headers: list[tuple[str, str]] = []
        # Repeats are joined once at the end: joining each onto the last is quadratic.
        hops: dict[bytes, list[str]] = {}
        has_body = False
        for name, value in raw:
            if name == b"content-length":
                has_body = value.strip() not in (b"", b"0")
            elif name == b"transfer-encoding":
                has_body = True
            if name in drop:
                continue
            # aiohttp writes header values as UTF-8: decoded so, every valid value goes out
            # byte for byte, and one that is not UTF-8 raises here instead of being re-encoded.
            if name in _TRAIL:
                hops.setdefault(name, []).append(value.decode("utf-8").strip())
            else:
                headers.append((name.decode("latin-1"), value.decode("utf-8")))
        trail = {name: ", ".join(values) for name, values in hops.items()}
        host = trail.get(b"host", "")
        client = scope.get("client")
        ip = client[0] if client else "unknown"
        scheme = scope.get("scheme", "http")
        element = f"for={_forwarded_node(ip)};proto={scheme}"
        if host:
            element += f";host={_quoted(host)}"
        headers += [
            ("Host", self.upstream.authority if self.upstream.rewrite_host or not host else host),
            ("X-Forwarded-For", _append(trail.get(b"x-forwarded-for"), ip)),
            ("X-Forwarded-Proto", _append(self._forwarded_proto(trail, ip), scheme)),
            ("Forwarded", _append(trail.get(b"forwarded"), element)),
        ]
        return headers, has_body

    def _forwarded_proto(self, trail: dict[bytes, str], peer: str) -> str | None:
        """The X-Forwarded-Proto to append to: the one a trusted proxy sent, else none."""
        held = trail.get(b"x-forwarded-proto")
        return held if held is not None and _within(peer, self._trusted) else None


def _within(ip: str, networks: tuple[IPv4Network | IPv6Network, ...]) -> bool:
    if not networks:
        return False
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address in network for network in networks)


_TRAIL = frozenset({b"host", b"x-forwarded-for", b"x-forwarded-proto", b"forwarded"})
"""Request headers the proxy rewrites rather than copies."""
_REQUEST_ONLY_HOP = frozenset({b"expect"})
"""The server already answered `Expect: 100-continue` to the client when the body was read."""


def _dropped(raw: Iterable[tuple[bytes, bytes]]) -> set[bytes]:
    """Hop-by-hop header names, with those the message's Connection header lists."""
    drop = set(HOP_BY_HOP)
    for name, value in raw:
        if name.lower() == b"connection":
            drop.update(t.strip().lower() for t in value.split(b",") if t.strip())
    return drop


def _append(held: str | None, value: str) -> str:
    return value if held is None else f"{held}, {value}"


class _Relay:
    """The client's side of one forwarded request: its body, streamed as it arrives, and, once
    the answer turns out to take more than one read, a watch for the client hanging up, which
    cancels the request's task so that the upstream's answer stops being read (an endless
    stream would otherwise hold its connection for good).

    The server's `send` does not fail once the client is gone; only `receive` says so, and it
    may be read by one reader at a time: the watch starts once the body is read whole. Most
    answers arrive in one read and never pay for the watch's task."""

    def __init__(self, receive: Receive, has_body: bool) -> None:
        self._receive = receive
        self.has_body = has_body
        self.finished = False
        """The answer's last byte is being sent: a hang-up now cancels nothing."""
        self._body_read = not has_body
        self._wanted = False
        self._left = False
        self._task = asyncio.current_task()
        """The request's task, to cancel; the body is read from aiohttp's writer task."""
        self._watch: asyncio.Task[None] | None = None

    async def body(self) -> AsyncIterator[bytes]:
        """The request body as the client sends it, without waiting for the end."""
        while True:
            message: Message = await self._receive()
            if message["type"] != "http.request":
                # The client went away mid-upload: stop, and let the upstream see it cut.
                raise aiohttp.ClientPayloadError("client disconnected during the request body")
            chunk = message.get("body", b"")
            if chunk:
                yield chunk
            if not message.get("more_body", False):
                self._body_read = True
                if self._wanted:
                    self._start_watching()
                return

    def watch(self) -> None:
        """Watch for a hang-up from now on (or from the end of the body, if it is still read)."""
        if not self._wanted:
            self._wanted = True
            if self._body_read:
                self._start_watching()

    def client_left(self) -> bool:
        return self._left

    def stop_watching(self) -> None:
        if self._watch is not None:
            self._watch.cancel()

    def _start_watching(self) -> None:
        if self._task is not None and self._watch is None:
            self._watch = asyncio.ensure_future(self._until_gone())

    async def _until_gone(self) -> None:
        while True:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                break
        if not self.finished and self._task is not None:
            self._left = True
            self._task.cancel()


def _response_headers(raw: tuple[tuple[bytes, bytes], ...]) -> list[tuple[bytes, bytes]]:
    drop = _dropped(raw)
    return [(name, value) for name, value in raw if name.lower() not in drop]


def _forwarded_node(ip: str) -> str:
    """RFC 7239: IPv6 addresses are bracketed and quoted."""
    return f'"[{ip}]"' if ":" in ip else ip


def _quoted(value: str) -> str:
    token = all(c.isalnum() or c in "!#$%&'*+-.^_`|~" for c in value)
    if token and value:
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _is_timeout(exc: BaseException) -> bool:
    return isinstance(exc, TimeoutError | asyncio.TimeoutError | aiohttp.ServerTimeoutError)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


_ERRORS = {
    400: b'{"error":"bad request"}',
    502: b'{"error":"bad gateway"}',
    504: b'{"error":"gateway timeout"}',
}


async def _error(send: Send, status: int) -> None:
    body = _ERRORS[status]
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode("latin-1")),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})

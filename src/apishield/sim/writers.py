"""Simulated exchanges out, one at a time: apishield JSONL, nginx JSON access logs, or HAR 1.2.

Every writer streams, so a week of traffic never sits in memory; lines are gathered in batches
of a few hundred before they reach the (possibly gzip) file, which halves the cost of writing.
A ".gz" output is written with mtime 0, so the same seed gives the same bytes.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import gzip
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, cast
from urllib.parse import parse_qsl

import orjson

from apishield.exchange import Exchange, Headers
from apishield.ingest.jsonl import exchange_to_jsonl

FORMATS = ("jsonl", "nginx-json", "har")
GZIP_LEVEL = 3
"""Compression takes half the time of level 5 and a third of level 9, for files 20-30% larger."""
_BATCH = 512
_REASONS = {
    200: "OK", 202: "Accepted", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
    404: "Not Found", 409: "Conflict", 503: "Service Unavailable",
}  # fmt: skip
_HAR_HEAD = (
    b'{"log":{"version":"1.2","creator":{"name":"apishield simulate","version":"1"},"entries":[\n'
)
_HAR_TAIL = b"\n]}}\n"

Write = Callable[[Exchange], None]


@contextmanager
def open_output(path: Path) -> Iterator[IO[bytes]]:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".gz":
        with (
            path.open("wb") as raw,
            gzip.GzipFile("", "wb", GZIP_LEVEL, fileobj=raw, mtime=0) as handle,
        ):
            yield cast(IO[bytes], handle)
    else:
        with path.open("wb") as handle:
            yield handle


@contextmanager
def exchange_writer(path: Path, fmt: str) -> Iterator[Write]:
    """A function that writes one exchange; the file is complete when the block exits."""
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r} is not known; use one of: {', '.join(FORMATS)}")
    with open_output(path) as handle:
        if fmt == "har":
            handle.write(_HAR_HEAD)
        batch = _Batch(handle, _RENDER[fmt], b",\n" if fmt == "har" else b"")
        yield batch
        batch.flush()
        if fmt == "har":
            handle.write(_HAR_TAIL)


class _Batch:
    """Rendered records joined by `separator`, written a batch at a time."""

    def __init__(self, handle: IO[bytes], render: Callable[[Exchange], bytes], separator: bytes):
        self._handle = handle
        self._render = render
        self._separator = separator
        self._pending: list[bytes] = []
        self._first = True

    def __call__(self, exchange: Exchange) -> None:
        if self._separator and not self._first:
            self._pending.append(self._separator)
        self._first = False
        self._pending.append(self._render(exchange))
        if len(self._pending) >= _BATCH:
            self.flush()

    def flush(self) -> None:
        self._handle.write(b"".join(self._pending))
        self._pending.clear()


def nginx_line(exchange: Exchange) -> bytes:
    """What nginx writes with a JSON log_format: no bodies, so no data classes either."""
    request, response = exchange.request, exchange.response
    uri = f"{request.path}?{request.query}" if request.query else request.path
    headers = request.headers
    record = {
        "msec": f"{exchange.started:.3f}",
        "time_iso8601": f"{_clock(int(exchange.started))}+00:00",
        "remote_addr": request.peer_ip,
        "http_x_forwarded_for": headers.get("x-forwarded-for", ""),
        "request_method": request.method,
        "request_uri": uri,
        "server_protocol": request.http_version,
        "scheme": request.scheme,
        "status": response.status if response is not None else 499,
        "body_bytes_sent": (response.body_size or 0) if response is not None else 0,
        "request_length": request.body_size or 0,
        "request_time": exchange.duration,
        "http_user_agent": headers.get("user-agent", ""),
        "http_authorization": headers.get("authorization", ""),
        "http_x_api_key": headers.get("x-api-key", ""),
        "http_content_type": headers.get("content-type", ""),
        "host": request.host,
    }
    return orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE)


def _har_line(exchange: Exchange) -> bytes:
    return orjson.dumps(har_entry(exchange))


_RENDER: dict[str, Callable[[Exchange], bytes]] = {
    "jsonl": exchange_to_jsonl,
    "nginx-json": nginx_line,
    "har": _har_line,
}


def har_entry(exchange: Exchange) -> dict[str, Any]:
    """One HAR 1.2 entry with both bodies. HAR has no field for the client's address: the
    X-Forwarded-For header carries it, and the connection's peer goes in `_clientIPAddress`."""
    request, response = exchange.request, exchange.response
    url = f"{request.scheme or 'https'}://{request.host}{request.path}"
    if request.query:
        url += f"?{request.query}"
    millis = round((exchange.duration or 0.0) * 1000, 3)
    entry: dict[str, Any] = {
        "startedDateTime": _iso(exchange.started),
        "time": millis,
        "request": {
            "method": request.method,
            "url": url,
            "httpVersion": request.http_version or "HTTP/1.1",
            "cookies": [],
            "headers": _har_headers(request.headers),
            "queryString": _query(request.query),
            "headersSize": -1,
            "bodySize": request.body_size if request.body_size is not None else -1,
        },
        "response": _har_response(response.status, response.headers, response.body)
        if response is not None
        else _har_response(0, {}, None),
        "cache": {},
        "timings": {"send": 0, "wait": millis, "receive": 0},
        "_clientIPAddress": request.peer_ip,
    }
    if request.body:
        mime = request.headers.get("content-type", "application/octet-stream")
        entry["request"]["postData"] = {"mimeType": mime, **_text(request.body)}
    return entry


def _har_response(status: int, headers: Headers, body: bytes | None) -> dict[str, Any]:
    content: dict[str, Any] = {
        "size": len(body or b""),
        "mimeType": headers.get("content-type", ""),
    }
    if body is not None:
        content.update(_text(body))
    return {
        "status": status,
        "statusText": _REASONS.get(status, ""),
        "httpVersion": "HTTP/1.1",
        "cookies": [],
        "headers": _response_headers(tuple(headers.items())),
        "content": content,
        "redirectURL": "",
        "headersSize": -1,
        "bodySize": len(body or b""),
    }


def _har_headers(headers: Headers) -> list[dict[str, str]]:
    return [{"name": name, "value": value} for name, value in headers.items()]


@functools.lru_cache(maxsize=64)
def _response_headers(items: tuple[tuple[str, str], ...]) -> list[dict[str, str]]:
    """The API sends a handful of header sets: each is rendered once."""
    return [{"name": name, "value": value} for name, value in items]


def _query(query: str) -> list[dict[str, str]]:
    if not query:
        return []
    return [{"name": k, "value": v} for k, v in parse_qsl(query, keep_blank_values=True)]


def _text(body: bytes) -> dict[str, str]:
    try:
        return {"text": body.decode("utf-8")}
    except UnicodeDecodeError:
        return {"text": base64.b64encode(body).decode("ascii"), "encoding": "base64"}


def _iso(epoch: float) -> str:
    """ISO 8601 in UTC to the millisecond, e.g. 2026-01-05T00:00:03.300Z."""
    seconds, millis = divmod(round(epoch * 1000), 1000)
    return f"{_clock(seconds)}.{millis:03d}Z"


def _clock(epoch: int) -> str:
    """YYYY-MM-DDTHH:MM:SS in UTC, without building a datetime for every request."""
    day, rest = divmod(epoch, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{_date(day)}T{hours:02d}:{minutes:02d}:{seconds:02d}"


@functools.lru_cache(maxsize=64)
def _date(day: int) -> str:
    return (dt.date(1970, 1, 1) + dt.timedelta(days=day)).isoformat()

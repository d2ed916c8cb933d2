"""HAR 1.2 captures (browser dev tools, debugging proxies), streamed one entry at a time.

A HAR is a single JSON document, gigabytes once bodies are in it, so it is never loaded whole: only
the entry being read is built. ijson's `items()` is not used for that: it makes a prefix string per
token that grows with nesting, so a hostile file of deeply nested arrays costs memory quadratic in
its depth. Tokens from `basic_parse` are assembled here instead, with a depth limit.

HAR 1.2 records no client address, so `peer_ip` is "" unless the entry carries the
`_clientIPAddress` extension (a custom field, as HAR allows; apishield's simulator writes it).
Line numbers in errors are entry indexes.

A body that cannot be read (text that is not base64, an unknown encoding) does not cost the entry:
its method, path, status and headers are good, so the exchange is analysed without that body and
the body is counted in `IngestStats.partial`, by field, so nobody takes its absence for no data.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import ijson

from apishield.exchange import Exchange, Headers, Request, Response
from apishield.ingest.base import ParseOptions
from apishield.ingest.stats import IngestStats, Skip, number, shown, shown_time
from apishield.ingest.stream import READ_ERRORS, LogStream
from apishield.ingest.target import is_method, split_target
from apishield.ingest.timestamps import parse_timestamp

MAX_DEPTH = 32
"""A HAR entry is five levels deep; anything far deeper is an attack on the reader."""

Events = Iterator[tuple[str, Any]]
Flaws = list[tuple[str, str]]
"""Unreadable parts of one entry, as (reason, detail); the entry is still read."""
_OPEN = ("start_map", "start_array")
_CLOSE = ("end_map", "end_array")


class NotHar(Exception):  # noqa: N818 - reported per file as a skipped entry, never raised out
    """The document is valid JSON but has no `log.entries` array where a HAR has one."""


def read_har(stream: LogStream, options: ParseOptions, stats: IngestStats) -> Iterator[Exchange]:
    """Every entry in order; a document broken midway keeps the entries before the break."""
    index = 0
    events = ijson.basic_parse(stream)
    try:
        for entry in _entries(events):
            index += 1
            stats.lines += 1
            flaws: Flaws = []
            try:
                exchange = _exchange(entry, options, index, flaws)
            except Skip as skip:
                stats.skip(options.name, index, skip.reason, skip.detail)
                continue
            for reason, detail in flaws:
                stats.left_out(options.name, index, reason, detail)
            stats.events += 1
            yield exchange
        for _ in events:  # anything after the document (a second HAR pasted on) is reported
            raise NotHar("more data follows the HAR document; give each HAR its own file")
    except (ijson.JSONError, UnicodeDecodeError, NotHar, *READ_ERRORS) as exc:
        stats.lines += 1
        stats.skip(options.name, index + 1, *_failure(exc))


def _failure(exc: Exception) -> tuple[str, str]:
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, NotHar):
        return "not a HAR", message
    if isinstance(exc, ijson.JSONError | UnicodeDecodeError):
        return "not valid JSON", f"{message}; entries before this point were read"
    if isinstance(exc, EOFError):
        return "truncated input", message
    return "read error", message


def _entries(events: Events) -> Iterator[Any]:
    """Each item of `log.entries` (a `Skip` for one nested too deeply); the rest is passed over."""
    if next(events, ("", None))[0] != "start_map":
        raise NotHar('the top level is not a JSON object; a HAR is {"log": {"entries": [...]}}')
    for key in _keys(events):
        if key != "log":
            _pass_over(events, _next(events))
        elif _next(events) != "start_map":
            raise NotHar('"log" is not an object')
        else:
            yield from _log_entries(events)


def _log_entries(events: Events) -> Iterator[Any]:
    found = False
    for key in _keys(events):
        if key != "entries":
            _pass_over(events, _next(events))
            continue
        if _next(events) != "start_array":
            raise NotHar('"log.entries" is not an array')
        found = True
        for event, value in events:
            if event == "end_array":
                break
            yield _value(events, event, value)
    if not found:
        raise NotHar('"log" has no "entries" array; a HAR is {"log": {"entries": [...]}}')


def _keys(events: Events) -> Iterator[str]:
    """The keys of the object being read, stopping at its end; the caller consumes each value."""
    for event, value in events:
        if event == "end_map":
            return
        yield str(value)


def _next(events: Events) -> str:
    for event, _ in events:
        return event
    raise ijson.IncompleteJSONError("the document ended early")


def _pass_over(events: Events, first: str) -> None:
    depth = 1 if first in _OPEN else 0
    while depth:
        event = _next(events)
        depth += 1 if event in _OPEN else -1 if event in _CLOSE else 0


def _value(events: Events, first: str, first_value: Any) -> Any:
    """The JSON value that starts with this token, built without recursion."""
    if first not in _OPEN:
        return _scalar(first, first_value)
    root: Any = {} if first == "start_map" else []
    stack: list[Any] = [root]
    keys: list[str] = [""]
    for event, value in events:
        if event == "map_key":
            keys[-1] = value
        elif event in _CLOSE:
            stack.pop()
            keys.pop()
            if not stack:
                return root
        else:
            item: Any = {} if event == "start_map" else [] if event == "start_array" else None
            _put(stack[-1], keys[-1], _scalar(event, value) if item is None else item)
            if item is not None:
                if len(stack) >= MAX_DEPTH:
                    _pass_over(events, event)
                    _close_all(events, len(stack))
                    return Skip("entry nested too deeply", f"more than {MAX_DEPTH} levels")
                stack.append(item)
                keys.append("")
    raise ijson.IncompleteJSONError("the document ended inside an entry")


def _close_all(events: Events, depth: int) -> None:
    while depth:
        event = _next(events)
        depth += 1 if event in _OPEN else -1 if event in _CLOSE else 0


def _put(parent: Any, key: str, item: Any) -> None:
    if type(parent) is dict:
        parent[key] = item
    else:
        parent.append(item)


def _scalar(event: str, value: Any) -> Any:
    return float(value) if type(value) is Decimal else value


def _exchange(entry: Any, options: ParseOptions, index: int, flaws: Flaws) -> Exchange:
    if isinstance(entry, Skip):
        raise entry
    if type(entry) is not dict:
        raise Skip("entry is not an object", shown(entry))
    request = _request(_object(entry, "request"), options.max_body_bytes, flaws)
    peer = entry.get("_clientIPAddress")
    if type(peer) is str and len(peer) <= 64:
        request.peer_ip = peer
    response = _response(entry.get("response"), options.max_body_bytes, flaws)
    started = entry.get("startedDateTime")
    try:
        when = parse_timestamp(started) if type(started) is str else None
    except ValueError:
        when = None
    if when is None:
        raise Skip("bad time", f"startedDateTime is {shown_time(started)}")
    millis = number(entry.get("time"))
    seconds = millis / 1000 if millis is not None else None
    return Exchange(request, response, when, seconds, f"{options.name}:{index}")


def _request(request: dict[str, Any], cap: int, flaws: Flaws) -> Request:
    method, url = request.get("method"), request.get("url")
    if type(method) is not str or not is_method(method):
        raise Skip("bad field request.method", shown(method))
    if type(url) is not str or not url:
        raise Skip("bad field request.url", shown(url))
    scheme, host, path, query = split_target(url.partition("#")[0])
    headers, authority = _headers(request.get("headers"))
    host = headers.get("host") or authority or host
    if host:
        headers.setdefault("host", host)
    declared = _size(request.get("bodySize"), "request.bodySize", flaws)
    body, size = _body(request.get("postData"), "request.postData", declared, cap, flaws)
    version = request.get("httpVersion")
    return Request(
        method.upper(),
        path,
        query,
        headers,
        body,
        size,
        scheme or "",
        host,
        "",
        version if type(version) is str else "",
    )


def _response(response: Any, cap: int, flaws: Flaws) -> Response | None:
    if type(response) is not dict:
        return None
    status = response.get("status")
    if type(status) is not int or status == 0:
        return None
    if not 100 <= status <= 999:
        raise Skip("bad status", shown(status))
    headers, _ = _headers(response.get("headers"))
    content = response.get("content")
    size = content.get("size") if type(content) is dict else None
    declared = _size(size, "response.content.size", flaws)
    body, size = _body(content, "response.content", declared, cap, flaws)
    return Response(status, headers, body, size)


def _headers(listed: Any) -> tuple[Headers, str]:
    """Lower-case names, repeats joined; HTTP/2 pseudo-headers dropped but `:authority` kept."""
    headers: Headers = {}
    authority = ""
    for item in listed if type(listed) is list else ():
        name = item.get("name") if type(item) is dict else None
        value = item.get("value") if type(item) is dict else None
        if type(name) is not str or type(value) is not str or not name:
            continue
        name = name.lower()
        if name.startswith(":"):
            authority = value if name == ":authority" else authority
        elif name in headers:
            headers[name] = f"{headers[name]}, {value}"
        else:
            headers[name] = value
    return headers, authority


def _size(declared: Any, field: str, flaws: Flaws) -> int | None:
    """A declared body size; -1 is HAR's "not known", anything else not a count is a flaw."""
    if type(declared) is int and declared >= 0:
        return declared
    if declared is not None and declared != -1:
        flaws.append((f"bad field {field}", f"{shown(declared)}; a size is a count of bytes or -1"))
    return None


def _body(
    content: Any, part: str, declared: int | None, cap: int, flaws: Flaws
) -> tuple[bytes | None, int | None]:
    """Body bytes cut to `cap`, and the real size. A body the capture left out stays None, and so
    does one that cannot be read, named in `flaws`."""
    if content is None:
        content = {}
    elif type(content) is not dict:
        flaws.append((f"bad field {part}", f"expected an object, got {shown(content)}"))
        return None, declared
    text = content.get("text")
    if text is None:
        return (b"", 0) if declared == 0 else (None, declared)
    if type(text) is not str:
        flaws.append((f"bad field {part}.text", f"expected a string, got {shown(text)}"))
        return None, declared
    encoding = content.get("encoding")
    if encoding is None or encoding == "":
        return _utf8(text, cap)
    if type(encoding) is not str or encoding.lower() != "base64":
        detail = f"{shown(encoding)}; a HAR body is base64 or plain text"
        flaws.append((f"bad field {part}.encoding", detail))
        return None, declared
    decoded = _base64(text, cap)
    if decoded is None:
        detail = f"not valid base64 ({len(text):,} characters); analysed without this body"
        flaws.append((f"bad field {part}.text", detail))
        return None, declared
    return decoded


def _utf8(text: str, cap: int) -> tuple[bytes, int]:
    """Only what the cap keeps is encoded: an ASCII text's size is its length."""
    if text.isascii():
        return text[:cap].encode("ascii"), len(text)
    body = text.encode("utf-8", "replace")
    return body[:cap], len(body)


_STANDARD = re.compile(r"[A-Za-z0-9+/]*={0,2}")
_URLSAFE = re.compile(r"[A-Za-z0-9_-]*={0,2}")
_LINE_BREAKS = re.compile(r"[ \t\r\n]+")
_FROM_URLSAFE = str.maketrans("-_", "+/")


def _base64(text: str, cap: int) -> tuple[bytes, int] | None:
    """The first `cap` bytes and the decoded size, or None for text that is not base64.

    Browsers write the standard alphabet, padded, on one line; other exporters wrap lines (MIME
    encoders), leave the padding off or use the URL-safe alphabet, all unambiguous and accepted.
    Other characters, mixed alphabets, and padding inside or beyond what is missing are refused.
    Only what the cap keeps is decoded: a body may be hundreds of megabytes.
    """
    if not _STANDARD.fullmatch(text):
        text = _LINE_BREAKS.sub("", text)
        if not _STANDARD.fullmatch(text):
            if not _URLSAFE.fullmatch(text):
                return None
            text = text.translate(_FROM_URLSAFE)
    padding = 2 if text.endswith("==") else 1 if text.endswith("=") else 0
    digits = len(text) - padding
    if digits % 4 == 1 or padding > -digits % 4:
        return None
    head = text[: min(digits, -(-cap // 3) * 4)]
    body = base64.b64decode(head + "=" * (-len(head) % 4), validate=True)
    return body[:cap], digits * 3 // 4


def _object(entry: dict[str, Any], key: str) -> dict[str, Any]:
    value = entry.get(key)
    if type(value) is not dict:
        raise Skip(f"bad field {key}", f"expected an object, got {shown(value)}")
    return value

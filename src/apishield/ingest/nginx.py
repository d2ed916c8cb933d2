"""nginx `combined` access logs, and the common extensions of it, into exchanges.

    $remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent
    "$http_referer" "$http_user_agent" ["$http_x_forwarded_for"] [rt=$request_time ...]

nginx writes `"`, `\\` and bytes outside printable ASCII as `\\xHH`; those are turned back into the
bytes the client sent, so checks see the real payload. A line that is not valid UTF-8 (only possible
with `escape=none`) is decoded with U+FFFD in place of the bad bytes rather than dropped: the
structure is ASCII, so the event is still readable.
"""

from __future__ import annotations

import re

from apishield.exchange import Exchange, Headers, Request, Response
from apishield.ingest.base import ParseOptions
from apishield.ingest.stats import Skip, shown, shown_time
from apishield.ingest.target import parse_request_line, split_target
from apishield.ingest.timestamps import parse_timestamp
from apishield.ingest.values import count, duration, status_code

COMBINED = re.compile(
    r'(\S+) \S+ \S+ \[([^\]]+)\] "([^"]*)" (\S+) (\S+)(?: "([^"]*)" "([^"]*)")?(.*)', re.DOTALL
)
"""The combined format; referer and user agent are optional so `common` logs read too.

Every part is delimited by a character it cannot contain, so a hostile line costs time linear in
its length (a lazy `.*?` before `[` made one with many " [" quadratic).
"""
_ESCAPE = re.compile(rb"\\x([0-9A-Fa-f]{2})")
_DURATION_KEYS = ("rt", "request_time")


class NginxParser:
    """Reads combined-format lines; one instance per file, for the source name."""

    __slots__ = ("_name", "_started", "_when")

    def __init__(self, options: ParseOptions) -> None:
        self._name = options.name
        # The last time text read and its value: lines of one second share it.
        self._when = ""
        self._started = 0.0

    def __call__(self, line: bytes, line_no: int) -> Exchange:
        match = COMBINED.match(line.decode("utf-8", "replace"))
        if match is None:
            raise Skip("not nginx combined format", shown(line.rstrip()))
        peer_ip, when, request_line, status, sent, referer, agent, rest = match.groups()
        if when == self._when:
            started = self._started
        else:
            try:
                started = parse_timestamp(when)
            except ValueError:
                raise Skip("bad time", shown_time(when)) from None
            self._when, self._started = when, started
        parts = parse_request_line(unescape(request_line))
        if parts is None:
            raise Skip("bad request line", shown(request_line))
        method, target, version = parts
        scheme, host, path, query = split_target(target)
        headers = _headers(referer, agent, rest)
        seconds = _duration(rest) if rest else None
        request = Request(
            method.upper(),
            path,
            query,
            headers,
            None,
            None,
            scheme or "",
            host,
            peer_ip,
            version,
        )
        if host:
            headers.setdefault("host", host)
        source = f"{self._name}:{line_no}"
        return Exchange(request, _response(status, sent), started, seconds, source)


def nginx_parser(options: ParseOptions) -> NginxParser:
    return NginxParser(options)


def unescape(text: str) -> str:
    """Undo nginx's `\\xHH` escaping; the bytes are read as UTF-8, U+FFFD where they are not."""
    if "\\x" not in text:
        return text
    raw = _ESCAPE.sub(lambda match: bytes.fromhex(match[1].decode()), text.encode())
    return raw.decode("utf-8", "replace")


def _response(status: str, sent: str) -> Response | None:
    if len(status) == 3 and status.isdecimal() and status[0] != "0":  # "200", read inline
        code = int(status)
    else:
        logged = status_code(status)
        if logged is None:
            return None
        code = logged
    return Response(code, {}, None, int(sent) if sent.isdecimal() else count(sent))


def _headers(referer: str | None, agent: str | None, rest: str) -> Headers:
    headers: Headers = {}
    if referer and referer != "-":
        headers["referer"] = unescape(referer)
    if agent and agent != "-":
        headers["user-agent"] = unescape(agent)
    if rest.startswith(' "'):
        forwarded = rest[2:].partition('"')[0]
        if forwarded and forwarded != "-":
            headers["x-forwarded-for"] = unescape(forwarded)
    return headers


def _duration(rest: str) -> float | None:
    """`rt=0.012` or `request_time=0.012` after the quoted fields, as many setups append."""
    for word in rest.split():
        key, sep, value = word.partition("=")
        if sep and key in _DURATION_KEYS:
            return duration(value.strip('"'))
    return None

"""Header fields: names and values a parser could split or misread, Host, Connection, method
overrides, Accept and Content-Type charsets, media types and their parameters, and Range.

Ordinary requests cost a handful of dict lookups and string tests: all names are checked in one
regex match and all values in one `isprintable`, and per-header rules run only where they matter.
"""

from __future__ import annotations

import functools
import itertools
import re
from urllib.parse import unquote_plus

from apishield.checks.form_values import ldap_breakout
from apishield.checks.framing import full_capture, has_content
from apishield.checks.http_syntax import (
    CONTROL,
    HEADER_LINE,
    REQUEST_LINE,
    SPLIT_STRICT,
    TOKEN,
    charset_allowed,
    parse_media,
    printable,
    proto_finding,
    sample,
)
from apishield.checks.media_types import MediaTypes
from apishield.checks.methods import OVERRIDE_HEADERS, method_override
from apishield.exchange import Finding, Headers, Request, Severity

HIGH, MEDIUM, LOW = Severity.HIGH, Severity.MEDIUM, Severity.LOW

_MULTIPART_TYPES = frozenset(
    {"multipart/form-data", "multipart/related", "multipart/mixed", "multipart/alternative"}
    | {"multipart/byteranges", "multipart/x-mixed-replace"}
)
_RESTRICTED_HEADERS: dict[str, tuple[Severity, str]] = {
    "proxy": (MEDIUM, "Proxy header, which CGI stacks turn into HTTP_PROXY (httpoxy)"),
    "x-middleware-subrequest": (HIGH, "x-middleware-subrequest header (Next.js auth bypass)"),
    "x-original-url": (MEDIUM, "X-Original-URL header, which can override the routed path"),
    "x-rewrite-url": (MEDIUM, "X-Rewrite-URL header, which can override the routed path"),
    "lock-token": (LOW, "WebDAV Lock-Token header on an API request"),
    "if": (LOW, "WebDAV If header on an API request"),
}
_RESTRICTED_NAMES = frozenset(_RESTRICTED_HEADERS)
_OVERRIDE_NAMES = frozenset(OVERRIDE_HEADERS)
_PLAIN_CONNECTION = frozenset({"keep-alive", "close", "upgrade"})
_HEADER_LIMITS = (("accept-encoding", 100), ("host", 255), ("content-type", 512))
_HOP_ABUSE = frozenset(
    {"content-length", "transfer-encoding", "host", "authorization", "cookie"}
    | {"x-forwarded-for", "x-real-ip", "forwarded", "x-api-key"}
)

_NAMES = re.compile(r"[a-z0-9_-]*")
"""All header names joined: lower-case letters, digits, dashes and underscores need no look."""
_MEDIA = re.compile(r"[A-Za-z0-9][\w!#$&^.+-]*/[A-Za-z0-9][\w!#$&^.+-]*")
_NUMERIC_HOST = re.compile(r"(?:[0-9.]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?")
"""An IPv4 address in any of its spellings (dotted, or one decimal number) or a bracketed IPv6
address, with or without a port."""
HOST_SHAPE = re.compile(r"(?:[A-Za-z0-9_](?:[A-Za-z0-9._-]*)|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?")


_GOOD_HOSTS_MAX = 1024
_good_hosts: set[str] = set()
"""Host values seen to raise nothing: an API answers under a few names, so a repeat costs one
set lookup. Emptied when full."""


def check_host(request: Request, out: list[Finding], *, numeric: bool = True) -> None:
    """Missing, repeated or malformed Host headers; with `numeric`, one that is an address."""
    value = request.headers.get("host")
    if value is None:
        if request.http_version == "HTTP/1.1" and full_capture(request.headers):
            out.append(proto_finding("host-missing", "HTTP/1.1 request without Host", MEDIUM))
        return
    if value in _good_hosts:
        return
    host = value.strip()
    if not host:
        out.append(proto_finding("host-missing", "empty Host header", MEDIUM))
    elif "," in host:
        out.append(proto_finding("host", "more than one Host header", HIGH, host=sample(host)))
    elif not _plain_host(host) and not HOST_SHAPE.fullmatch(host):
        out.append(proto_finding("host", "malformed Host header", MEDIUM, host=sample(host)))
    elif _NUMERIC_HOST.fullmatch(host):
        # Never remembered as good: whether it is reported depends on the caller's `numeric`.
        if numeric:
            title = "Host header is an IP address, not a name"
            out.append(proto_finding("numeric-host", title, LOW, host=sample(host)))
    else:
        if len(_good_hosts) >= _GOOD_HOSTS_MAX:
            _good_hosts.clear()
        _good_hosts.add(value)


def _plain_host(host: str) -> bool:
    return host.isascii() and host.replace(".", "").replace("-", "").isalnum()


def check_headers(headers: Headers, out: list[Finding]) -> None:
    """One set test over all names and one pass over all values, then per header only where
    it matters."""
    if not _plain_names.issuperset(headers) and not _learn_names(headers):
        for name in headers:
            if not name.startswith(":") and not TOKEN.fullmatch(name):
                title = "invalid character in a header name"
                out.append(proto_finding("header-chars", title, MEDIUM, header=sample(name)))
    values = " ".join(headers.values())
    if not printable(values) or ("%" in values and "%0" in values) or "HTTP/" in values:
        for name, value in headers.items():
            _header_value(name, value, out)
    if not _RESTRICTED_NAMES.isdisjoint(headers):
        for name in _RESTRICTED_HEADERS.keys() & headers.keys():
            severity, title = _RESTRICTED_HEADERS[name]
            out.append(proto_finding("restricted-header", title, severity, header=name))
    for name, limit in _HEADER_LIMITS:
        length = len(headers.get(name, ""))
        if length > limit:
            title = f"{name} header longer than {limit} characters"
            out.append(
                proto_finding("header-length", title, MEDIUM, header=name, length=str(length))
            )
    _header_semantics(headers, out)


_PLAIN_NAMES_MAX = 4096
_plain_names: set[str] = set()
"""Header names seen to be all `_NAMES` characters; names are few, so this stays small, and it
is emptied when full."""


def _learn_names(headers: Headers) -> bool:
    """Whether every name is made of `_NAMES` characters, remembering the ones that are."""
    if not _NAMES.fullmatch("".join(headers)):
        return False
    if len(headers) > _PLAIN_NAMES_MAX:
        return True
    if len(_plain_names) + len(headers) > _PLAIN_NAMES_MAX:
        _plain_names.clear()
    _plain_names.update(headers)
    return True


def _header_value(name: str, value: str, out: list[Finding]) -> None:
    if not value.isprintable():
        _header_controls(name, value, out)
    if "%0" in value:
        _encoded_breaks(name, value, out)
    if "HTTP/" in value and REQUEST_LINE.search(value):
        title = "HTTP request line inside a header value"
        out.append(proto_finding("splitting", title, MEDIUM, header=name))


def _header_controls(name: str, value: str, out: list[Finding]) -> None:
    if "\r" in value or "\n" in value or "\x00" in value:
        title = "CR, LF or NUL in a header value"
        out.append(proto_finding("header-chars", title, HIGH, header=name))
    elif CONTROL.search(value):
        title = "control character in a header value"
        out.append(proto_finding("header-chars", title, MEDIUM, header=name))


def _encoded_breaks(name: str, value: str, out: list[Finding]) -> None:
    lowered = value.lower()
    if "%0d" not in lowered and "%0a" not in lowered:
        return
    decoded = unquote_plus(value)
    if SPLIT_STRICT.search(decoded) or HEADER_LINE.search(decoded):
        title = "encoded line break and injected header in a header value"
        out.append(proto_finding("splitting", title, HIGH, header=name))


def _header_semantics(headers: Headers, out: list[Finding]) -> None:
    for name in ("user-agent", "accept"):
        value = headers.get(name)
        if value is not None and (not value or value.isspace()):
            out.append(proto_finding("empty-header", f"empty {name} header", LOW, header=name))
    connection = headers.get("connection")
    if connection is not None and connection.lower() not in _PLAIN_CONNECTION:
        _connection(connection, out)
    cookie = headers.get("cookie")
    if cookie is not None:
        if cookie.lstrip()[:8].lower() == "$version":
            title = "RFC 2109 ($Version) cookie, parsed differently by servers and WAFs"
            out.append(proto_finding("cookie", title, LOW, header="cookie"))
        if ")" in cookie:
            ldap_breakout(cookie, "cookie", out)
    if not _OVERRIDE_NAMES.isdisjoint(headers):
        for name in OVERRIDE_HEADERS:
            if name in headers:
                method_override(headers[name], name, out)
    accept = headers.get("accept")
    if accept is not None and ";" in accept and "charset" in accept.lower():
        _accept_charsets(accept, out)  # a charset is a parameter, after a ";"


def _connection(value: str, out: list[Finding]) -> None:
    tokens = [token.strip().lower() for token in value.split(",") if token.strip()]
    if "close" in tokens and "keep-alive" in tokens:
        title = "Connection asks for both close and keep-alive"
        out.append(proto_finding("connection", title, MEDIUM, connection=sample(value)))
    elif len(set(tokens)) < len(tokens):
        title = "repeated Connection option"
        out.append(proto_finding("connection", title, LOW, connection=sample(value)))
    stripped = _HOP_ABUSE.intersection(tokens)
    if stripped:
        title = "Connection marks an end-to-end header hop-by-hop, so a proxy drops it"
        out.append(proto_finding("connection", title, MEDIUM, headers=", ".join(sorted(stripped))))


def _accept_charsets(accept: str, out: list[Finding]) -> None:
    for item in accept.split(","):
        _, params, _ = parse_media(item)
        for charset in (value for key, value in params if key == "charset"):
            if not charset_allowed(charset):
                title = "Accept asks for a charset that hides content from inspection"
                out.append(proto_finding("charset", title, MEDIUM, charset=sample(charset)))


# --- Content-Type and charsets -------------------------------------------------------------


@functools.lru_cache(maxsize=512)
def body_media(value: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """Cached: an API sees a handful of Content-Type values."""
    media, params, _ = parse_media(value)
    return media, tuple(params)


def check_content_type(request: Request, accepted: MediaTypes, out: list[Finding]) -> None:
    value = request.headers.get("content-type")
    if value is None:
        if request.body and full_capture(request.headers):
            out.append(proto_finding("content-type", "body without Content-Type", LOW))
        return
    out.extend(_content_type_findings(value))
    if has_content(request):
        media = body_media(value)[0]
        if media and not accepted.allows(media):
            title = "request body of a media type the API does not take"
            out.append(proto_finding("content-type", title, LOW, content_type=sample(media)))


@functools.lru_cache(maxsize=512)
def _content_type_findings(value: str) -> tuple[Finding, ...]:
    """Cached: an API sees a handful of Content-Type values, and findings are values."""
    out: list[Finding] = []
    media, params, malformed = parse_media(value)
    if "," in value and _multiple_types(value):
        title = "more than one Content-Type"
        out.append(proto_finding("content-type", title, MEDIUM, content_type=sample(value)))
    elif malformed or not _MEDIA.fullmatch(media):
        title = "malformed Content-Type"
        out.append(proto_finding("content-type", title, MEDIUM, content_type=sample(value)))
    _type_params(media, params, out)
    if media.startswith("multipart/") and media not in _MULTIPART_TYPES:
        title = "unknown multipart subtype, which parsers handle differently"
        out.append(proto_finding("content-type", title, LOW, content_type=sample(media)))
    return tuple(out)


def _multiple_types(value: str) -> bool:
    unquoted = re.sub(r'"[^"]*"', "", value)
    return sum(1 for item in unquoted.split(",") if _MEDIA.match(item.strip())) > 1


def _type_params(media: str, params: list[tuple[str, str]], out: list[Finding]) -> None:
    charsets = [value for key, value in params if key == "charset"]
    if len(charsets) > 1:
        out.append(
            proto_finding("charset", "more than one charset", MEDIUM, count=str(len(charsets)))
        )
    elif charsets and not charset_allowed(charsets[0]):
        title = "charset not allowed"
        out.append(proto_finding("charset", title, MEDIUM, charset=sample(charsets[0])))
    keys = [key for key, _ in params]
    if media.startswith("multipart/") and "boundary" not in keys:
        out.append(proto_finding("multipart", "multipart type without a boundary", MEDIUM))
    elif "boundary" in keys and not media.startswith("multipart/"):
        title = "boundary on a type that is not multipart"
        out.append(proto_finding("content-type", title, MEDIUM, content_type=media))
    if any("/" in value and _MEDIA.fullmatch(value) for key, value in params if key != "type"):
        title = "media type hidden in a Content-Type parameter"
        out.append(proto_finding("content-type", title, MEDIUM, content_type=media))


# --- Range ---------------------------------------------------------------------------------


def check_range(headers: Headers, out: list[Finding]) -> None:
    legacy = headers.get("request-range")
    if legacy is not None:
        out.append(
            proto_finding("range", "obsolete Request-Range header", LOW, header="request-range")
        )
    value = headers.get("range", legacy)
    if not value or not value.strip():
        return
    unit, sep, specs = value.strip().partition("=")
    if not sep:
        out.append(proto_finding("range", "malformed Range", MEDIUM, range=sample(value)))
    elif unit.strip().lower() == "bytes":
        _byte_ranges(specs, out)


def _byte_ranges(specs: str, out: list[Finding]) -> None:
    items = specs.split(",")
    if len(items) > 5:
        title = "more than five byte ranges"
        out.append(proto_finding("range", title, MEDIUM, ranges=str(len(items))))
    spans: list[tuple[int, int]] = []
    for item in items[:100]:
        first, sep, last = item.strip().partition("-")
        if not sep or not (first or last) or not (first + last).isdigit():
            out.append(proto_finding("range", "malformed byte range", MEDIUM, range=sample(item)))
            return
        if first and last and int(last) < int(first):
            out.append(proto_finding("range", "byte range ends before it starts", MEDIUM))
            return
        if first:
            spans.append((int(first), int(last) if last else 1 << 62))
    spans.sort()
    if any(start <= end for (_, end), (start, _) in itertools.pairwise(spans)):
        out.append(
            proto_finding("range", "overlapping byte ranges", MEDIUM, ranges=str(len(items)))
        )

"""Protocol enforcement: requests that bend HTTP itself, not the API's parameters (API8:2023).

Request smuggling, header and response splitting, multipart and charset tricks all work the same
way: two parsers (a proxy and the app, a WAF and the framework) read one request differently. The
rules below look for the places where readers are known to disagree: conflicting framing headers,
line breaks and control characters where none belong, malformed Content-Type parameters, odd
encodings and ranges. Ordinary requests cost a handful of dict lookups and string tests; bodies are
only searched with C-level `find`/single regex passes, never character by character in Python.

Access logs record only some headers, so a missing header is evidence only when the request looks
like a full capture: it carries at least one header that logs do not keep (`_WIRE_ONLY`).
"""

from __future__ import annotations

import functools
import itertools
import re
from urllib.parse import unquote_plus, unquote_to_bytes

from apishield.checks.http_syntax import (
    TOKEN,
    charset_allowed,
    parse_media,
    proto_finding,
    sample,
)
from apishield.checks.multipart import check_multipart
from apishield.checks.registry import CheckContext
from apishield.exchange import Exchange, Finding, Headers, Request, Severity

HIGH, MEDIUM, LOW = Severity.HIGH, Severity.MEDIUM, Severity.LOW

STANDARD_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
RISKY_METHODS = frozenset({"TRACE", "TRACK", "DEBUG"})
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_VERSIONS = frozenset(
    {"", "HTTP/1.0", "HTTP/1.1", "HTTP/2", "HTTP/2.0", "HTTP/3", "HTTP/3.0", "H2", "H2C", "H3"}
    | {"1.0", "1.1", "2", "2.0", "3", "3.0", "UNKNOWN"}
)
_HTTP1 = frozenset({"HTTP/1.0", "HTTP/1.1"})
_WIRE_ONLY = frozenset(
    {"accept", "accept-encoding", "accept-language", "connection", "content-length"}
    | {"transfer-encoding", "cache-control", "pragma", "te", "upgrade", "expect"}
)
"""Headers a client sends but an access log rarely records: their presence means a full capture."""

_CODINGS = frozenset({"chunked", "gzip", "x-gzip", "deflate", "compress", "x-compress", "br"})
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
_OVERRIDE_HEADERS = ("x-http-method-override", "x-http-method", "x-method-override")
_OVERRIDE_NAMES = frozenset(_OVERRIDE_HEADERS)
_PLAIN_CONNECTION = frozenset({"keep-alive", "close", "upgrade"})
_HEADER_LIMITS = (("accept-encoding", 100), ("host", 255), ("content-type", 512))
_HOP_ABUSE = frozenset(
    {"content-length", "transfer-encoding", "host", "authorization", "cookie"}
    | {"x-forwarded-for", "x-real-ip", "forwarded", "x-api-key"}
)
_RESTRICTED_SUFFIXES = (
    ".bak", ".backup", ".old", ".orig", ".save", ".swp", ".swo", ".tmp",
    ".db", ".sqlite", ".sqlite3", ".mdb", ".rdb", ".dbf", ".sql", ".dump",
    ".env", ".ini", ".conf", ".config", ".cfg", ".key", ".pem", ".htpasswd", ".htaccess",
)  # fmt: skip

_METHOD_SHAPE = re.compile(r"[A-Z][A-Z_-]{0,23}")
"""What every registered method looks like (GET, VERSION-CONTROL, M-SEARCH)."""
_NAMES = re.compile(r"[a-z0-9_-]*")
"""All header names joined: lower-case letters, digits, dashes and underscores need no look."""
_MEDIA = re.compile(r"[A-Za-z0-9][\w!#$&^.+-]*/[A-Za-z0-9][\w!#$&^.+-]*")
_HOST = re.compile(r"(?:[A-Za-z0-9_](?:[A-Za-z0-9._-]*)|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2}|[uU][0-9A-Fa-f]{4})")
_PERCENT_U = re.compile(r"%[uU][0-9A-Fa-f]{4}")
_DOUBLE_PERCENT = re.compile(r"%25(?:0[0aAdD]|2[eE]|5[cC]|3[cC])")
"""A second escaping of NUL, CR, LF, dot, backslash or `<`, which filters look for. Not of `/`,
`=` or `&`: a URL nested in a parameter (`next=%2Fa%253Fb%253D1`) legitimately has those."""
_OVERLONG = re.compile(r"%(?:[cC][01]|[eE]0%[89][0-9A-Fa-f]|[fF]0%8[0-9A-Fa-f])")
_ASCII_ESCAPE = re.compile(r"\\u00(?:3[0-9]|[46][1-9A-Fa-f]|[57][0-9Aa])")
_METHODS = r"(?-i:GET|POST|PUT|DELETE|HEAD|OPTIONS|PATCH|TRACE|CONNECT)"
_REQUEST_LINE = re.compile(rf"{_METHODS}\s+\S+\s+(?-i:HTTP)/\d")
_SPLIT_HEADERS = (
    r"set-cookie|cookie|location|refresh|content-(?:type|length|disposition)|transfer-encoding"
    r"|host|x-forwarded-[\w-]+|forwarded|via|remote-(?:addr|ip|host)|x-originating-ip"
    r"|x-real-ip|access-control-[\w-]+|x-xss-protection|content-security-policy"
)
_BREAK = r"(?<!\s)[^\S\r\n]*+[\r\n]\s*+"
"""A run of blanks holding a line break, tried only from the run's first character, so a search
stays linear however long the run."""
_SPLIT_STRICT = re.compile(
    rf"{_BREAK}(?:(?-i:HTTP)/\d|{_METHODS}\s+\S|(?:{_SPLIT_HEADERS})\s*:|<)", re.I
)
"""A line break followed by a status line, request line, a header that matters, or markup."""
_SPLIT_FORM = re.compile(
    rf"{_BREAK}(?:(?-i:HTTP)/\d|{_METHODS}\s+\S+\s+(?-i:HTTP)/"
    r"|(?:set-cookie|content-length|transfer-encoding)\s*:)",
    re.I,
)
"""Form text legitimately spans lines, so only what no prose contains counts there."""
_ENCODED_SPLIT = re.compile(
    rf"(?<!%0[dDaA])(?:%0[dDaA])++(?:%20|%09|[ \t])*+"
    rf"(?:(?-i:HTTP)/\d|(?:{_SPLIT_HEADERS})\s*(?::|%3[aA]))",
    re.I,
)
"""A line break still percent-encoded after the server's own decoding, as a second decoder (a
redirect or cookie writer) would turn it into a header; never prose, so also searched in JSON."""
_HEADER_LINE = re.compile(rf"{_BREAK}[A-Za-z][\w-]{{0,63}}\s*:")
_LINE_ENDS = ("%0a", "%0A", "%0d", "%0D", "\r", "\n")
_MAX_PARAMS = 1000
"""Parameters looked at one by one, as servers cap them (PHP's max_input_vars is 1000)."""
_LDAP_BREAKOUT = re.compile(r"\)\s*[&|!]?\s*\(\s*(?:[&|!]|[\w.;-]+\s*[~<>]?=|\)|$)")
"""Closing an LDAP filter component and opening another: `)(uid=*`, `)(|`, `)!(sn=`, `)(&)`."""


def check_protocol(exchange: Exchange, context: CheckContext) -> list[Finding]:
    """Findings for HTTP framing, syntax and encoding abuse; one per rule id, the gravest."""
    request = exchange.request
    out: list[Finding] = []
    _method(request, out)
    _target(request, out)
    _version(request, out)
    _framing(request, context, out)
    _host(request, out)
    _headers(request.headers, out)
    _content_type(request, out)
    _range(request.headers, out)
    if request.query:
        _text(request.query, "query", _SPLIT_STRICT, out)
        _proxy_target(request.query, out)
    _path(request.path, out)
    body = request.body
    if body:
        cap = context.max_body_bytes
        _body(request, body if len(body) <= cap else body[:cap], out)
    return _gravest(out) if len(out) > 1 else out


def _gravest(findings: list[Finding]) -> list[Finding]:
    best: dict[str, Finding] = {}
    for finding in findings:
        kept = best.get(finding.rule_id)
        if kept is None or finding.severity > kept.severity:
            best[finding.rule_id] = finding
    return list(best.values())


# --- request line ---------------------------------------------------------------------------


def _method(request: Request, out: list[Finding]) -> None:
    method = request.method
    if method in STANDARD_METHODS:
        return
    if not _METHOD_SHAPE.fullmatch(method):
        title = "malformed request method"  # case or punctuation that servers read differently
        out.append(proto_finding("method", title, MEDIUM, method=sample(method)))
    elif method == "CONNECT":
        return
    elif method in RISKY_METHODS:
        out.append(proto_finding("method", f"{method} request to an API", MEDIUM, method=method))
    else:
        out.append(proto_finding("method", "unknown request method", LOW, method=method))


def _target(request: Request, out: list[Finding]) -> None:
    path = request.path
    if path.startswith("/") or (path == "*" and request.method == "OPTIONS"):
        return
    if request.method == "CONNECT" and _HOST.fullmatch(path):
        return  # authority-form, the one target CONNECT takes; allowing CONNECT is policy
    title = "request target is not an origin-form path"
    out.append(proto_finding("request-target", title, MEDIUM, target=sample(path)))


def _version(request: Request, out: list[Finding]) -> None:
    version = request.http_version
    if version in _VERSIONS or version.upper() in _VERSIONS:
        return
    title = "invalid or unsupported HTTP version"
    out.append(proto_finding("http-version", title, MEDIUM, version=sample(version)))


# --- framing: Content-Length, Transfer-Encoding, bodies on GET ---------------------------------


def _framing(request: Request, context: CheckContext, out: list[Finding]) -> None:
    headers = request.headers
    te, cl = headers.get("transfer-encoding"), headers.get("content-length")
    if te is not None:
        _transfer_encoding(request, te, cl, out)
    if cl is not None:
        _content_length(request, cl, context, out)
    elif te is None and _missing_length(request):
        title = f"{request.method} without Content-Length or Transfer-Encoding"
        out.append(proto_finding("content-length", title, LOW, method=request.method))
    if request.method in ("GET", "HEAD"):
        _get_body(request, te, cl, out)


def _transfer_encoding(request: Request, te: str, cl: str | None, out: list[Finding]) -> None:
    codings = [coding.strip().lower() for coding in te.split(",")]
    if cl is not None:
        title = "both Content-Length and Transfer-Encoding"
        out.append(proto_finding("smuggling", title, HIGH, transfer_encoding=sample(te)))
    if (
        codings[-1:] != ["chunked"]
        or codings.count("chunked") != 1
        or not _CODINGS.issuperset(codings)
    ):
        title = "obfuscated or invalid Transfer-Encoding"
        out.append(proto_finding("smuggling", title, HIGH, transfer_encoding=sample(te)))
    version = request.http_version.upper()
    if version == "HTTP/1.0":
        title = "Transfer-Encoding in an HTTP/1.0 request"
        out.append(proto_finding("smuggling", title, MEDIUM, version=version))
    elif version.startswith(("HTTP/2", "HTTP/3", "H2", "H3")):
        title = "Transfer-Encoding in an HTTP/2 or HTTP/3 request"
        out.append(proto_finding("smuggling", title, HIGH, version=version))


def _content_length(request: Request, cl: str, context: CheckContext, out: list[Finding]) -> None:
    values = [cl] if cl.isdigit() else [value.strip() for value in cl.split(",")]
    if len(set(values)) > 1:
        out.append(proto_finding("smuggling", "conflicting Content-Length", HIGH, value=sample(cl)))
        return
    if len(values) > 1:
        out.append(
            proto_finding("content-length", "repeated Content-Length", MEDIUM, value=sample(cl))
        )
    value = values[0]
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        out.append(
            proto_finding("content-length", "invalid Content-Length", MEDIUM, value=sample(cl))
        )
        return
    body = request.body
    if body is None or len(body) >= context.max_body_bytes or b"\xef\xbf\xbd" in body:
        return  # not captured, cut at the cap, or re-encoded text: the length cannot be compared
    if int(value) < len(body):
        title = "body longer than its Content-Length"
        out.append(
            proto_finding("content-length", title, MEDIUM, declared=value, seen=str(len(body)))
        )


def _get_body(request: Request, te: str | None, cl: str | None, out: list[Finding]) -> None:
    """A body on GET or HEAD is only allowed, not defined; it matters when its framing is odd,
    because a front end that ignores it and a back end that reads it split the stream apart."""
    if te is not None:
        title = f"{request.method} request with Transfer-Encoding"
    elif request.method == "HEAD" and (request.body or (cl or "0").strip() != "0"):
        title = "HEAD request with a body"
    elif cl is None and request.body and full_capture(request.headers):
        title = "GET request with a body but no Content-Length"
    else:
        return
    out.append(proto_finding("get-body", title, MEDIUM, method=request.method))


def _missing_length(request: Request) -> bool:
    return (
        request.method in _BODY_METHODS
        and request.http_version in _HTTP1
        and full_capture(request.headers)
    )


def full_capture(headers: Headers) -> bool:
    """Whether the source recorded the request's own headers, not just what an access log keeps."""
    return any(name in headers for name in _WIRE_ONLY)


# --- headers -------------------------------------------------------------------------------


def _host(request: Request, out: list[Finding]) -> None:
    host = request.headers.get("host")
    if host is None:
        if request.http_version == "HTTP/1.1" and full_capture(request.headers):
            out.append(proto_finding("host-missing", "HTTP/1.1 request without Host", MEDIUM))
        return
    host = host.strip()
    if not host:
        out.append(proto_finding("host-missing", "empty Host header", MEDIUM))
    elif "," in host:
        out.append(proto_finding("host", "more than one Host header", HIGH, host=sample(host)))
    elif not _plain_host(host) and not _HOST.fullmatch(host):
        out.append(proto_finding("host", "malformed Host header", MEDIUM, host=sample(host)))


def _plain_host(host: str) -> bool:
    return host.isascii() and host.replace(".", "").replace("-", "").isalnum()


def _headers(headers: Headers, out: list[Finding]) -> None:
    """One pass over all names and one over all values, then per header only where it matters."""
    if not _NAMES.fullmatch("".join(headers)):
        for name in headers:
            if not name.startswith(":") and not TOKEN.fullmatch(name):
                title = "invalid character in a header name"
                out.append(proto_finding("header-chars", title, MEDIUM, header=sample(name)))
    values = " ".join(headers.values())
    if not values.isprintable() or "%0" in values or "HTTP/" in values:
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


def _header_value(name: str, value: str, out: list[Finding]) -> None:
    if not value.isprintable():
        _header_controls(name, value, out)
    if "%0" in value:
        _encoded_breaks(name, value, out)
    if "HTTP/" in value and _REQUEST_LINE.search(value):
        title = "HTTP request line inside a header value"
        out.append(proto_finding("splitting", title, MEDIUM, header=name))


def _header_controls(name: str, value: str, out: list[Finding]) -> None:
    if "\r" in value or "\n" in value or "\x00" in value:
        title = "CR, LF or NUL in a header value"
        out.append(proto_finding("header-chars", title, HIGH, header=name))
    elif _CONTROL.search(value):
        title = "control character in a header value"
        out.append(proto_finding("header-chars", title, MEDIUM, header=name))


def _encoded_breaks(name: str, value: str, out: list[Finding]) -> None:
    lowered = value.lower()
    if "%0d" not in lowered and "%0a" not in lowered:
        return
    decoded = unquote_plus(value)
    if _SPLIT_STRICT.search(decoded) or _HEADER_LINE.search(decoded):
        title = "encoded line break and injected header in a header value"
        out.append(proto_finding("splitting", title, HIGH, header=name))


def _header_semantics(headers: Headers, out: list[Finding]) -> None:
    for name in ("user-agent", "accept"):
        value = headers.get(name)
        if value is not None and not value.strip():
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
            _ldap(cookie, "cookie", out)
    if not _OVERRIDE_NAMES.isdisjoint(headers):
        for name in _OVERRIDE_HEADERS:
            if name in headers:
                _override(headers[name], name, out)
    accept = headers.get("accept")
    if accept is not None and "charset" in accept.lower():
        _accept_charsets(accept, out)


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


def _override(value: str, where: str, out: list[Finding]) -> None:
    method = value.strip().upper()
    if len(method) < 3 or not (method.isascii() and method.isalpha()):
        return  # frameworks honour only letter-only method names, and none is shorter than GET
    severity = LOW if method in STANDARD_METHODS else MEDIUM
    title = "HTTP method override"
    out.append(
        proto_finding("method-override", title, severity, where=where, method=sample(method))
    )


def _accept_charsets(accept: str, out: list[Finding]) -> None:
    for item in accept.split(","):
        _, params, _ = parse_media(item)
        for charset in (value for key, value in params if key == "charset"):
            if not charset_allowed(charset):
                title = "Accept asks for a charset that hides content from inspection"
                out.append(proto_finding("charset", title, MEDIUM, charset=sample(charset)))


# --- Content-Type and charsets -------------------------------------------------------------


@functools.lru_cache(maxsize=512)
def _body_media(value: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """Cached: an API sees a handful of Content-Type values."""
    media, params, _ = parse_media(value)
    return media, tuple(params)


def _content_type(request: Request, out: list[Finding]) -> None:
    value = request.headers.get("content-type")
    if value is None:
        if request.body and full_capture(request.headers):
            out.append(proto_finding("content-type", "body without Content-Type", LOW))
        return
    out.extend(_content_type_findings(value))


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


def _range(headers: Headers, out: list[Finding]) -> None:
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


# --- query, path and form values ----------------------------------------------------------------


def _text(raw: str, location: str, splitting: re.Pattern[str], out: list[Finding]) -> None:
    """Encoding and line-break checks on a query string or form body, parameter by parameter."""
    if "%" in raw:
        _encoding(raw, location, out)
        if location == "body" and _BAD_PERCENT.search(raw):
            title = "invalid percent-encoding in a form body"
            out.append(proto_finding("encoding", title, MEDIUM, location=location))
    tokens = raw.split("&")
    decoded = _form_decoded(raw, tokens)
    if "\\u" in decoded and _ASCII_ESCAPE.search(decoded):
        title = "\\u escape of a plain ASCII character"
        out.append(proto_finding("encoding", title, MEDIUM, location=location))
    if "_method" in decoded:
        for name, _, value in _pairs(raw, tokens):
            if name == "_method":
                _override(value, f"{location} _method", out)
    if ")" in decoded:
        _ldap(decoded, location, out)
    if decoded.isprintable() and "HTTP/" not in decoded and "%0" not in decoded:
        return
    for name, _, value in _pairs(raw, tokens):
        _param(name, value, location, splitting, out)


_PLAIN_ESCAPES = (
    ("%20", " "), ("%2C", ","), ("%2c", ","), ("%2F", "/"), ("%2f", "/"),
    ("%3A", ":"), ("%3a", ":"), ("%40", "@"),
)  # fmt: skip
"""Escapes that query strings carry all the time, decoded by plain replacement."""


def _form_decoded(raw: str, tokens: list[str]) -> str:
    """The text as a form parser decodes it (`+` is a space). Most texts hold only the escapes of
    `_PLAIN_ESCAPES`, which plain replacement decodes exactly as `unquote_plus` does."""
    text = raw.replace("+", " ") if "+" in raw else raw
    if "%" not in text:
        return text
    left = text.count("%")
    for escape, char in _PLAIN_ESCAPES:
        if escape in text:
            left -= text.count(escape)
            text = text.replace(escape, char)
    if not left:
        return text
    if len(tokens) > _MAX_PARAMS:
        return unquote_plus(raw)
    return "&".join(n + sep + v for n, sep, v in _pairs(raw, tokens))


def _pairs(raw: str, tokens: list[str]) -> list[tuple[str, str, str]]:
    """The first `_MAX_PARAMS` parameters, decoded; joined with `&` they give the whole text
    decoded, since no escape spans an `&`."""
    if "%" not in raw and "+" not in raw:
        return [token.partition("=") for token in tokens[:_MAX_PARAMS]]
    return [_decoded_pair(token) for token in tokens[:_MAX_PARAMS]]


def _decoded_pair(token: str) -> tuple[str, str, str]:
    name, sep, value = token.partition("=")
    return unquote_plus(name), sep, unquote_plus(value)


def _encoding(raw: str, location: str, out: list[Finding]) -> None:
    if ("%u" in raw or "%U" in raw) and _PERCENT_U.search(raw):
        title = "non-standard %u encoding"
        out.append(proto_finding("encoding", title, MEDIUM, location=location))
    if _OVERLONG.search(raw):
        title = "overlong UTF-8 encoding"
        out.append(proto_finding("encoding", title, MEDIUM, location=location))
    if "%25" in raw and _DOUBLE_PERCENT.search(raw):
        title = "double percent-encoding of a control or path character"
        out.append(proto_finding("encoding", title, MEDIUM, location=location))


def _param(
    name: str, value: str, location: str, split: re.Pattern[str], out: list[Finding]
) -> None:
    shown = sample(name)
    for text, part in ((name, "name"), (value, "value")):
        if "\x00" in text:
            title = f"NUL byte in a {location} parameter {part}"
            out.append(proto_finding("null-byte", title, MEDIUM, location=location, name=shown))
        match = split.search(text) or ("%0" in text and _ENCODED_SPLIT.search(text)) or None
        if match:
            title = f"line break and HTTP header or status line in a {location} parameter"
            evidence = {
                "location": location,
                "name": shown,
                "sample": sample(text[match.start() :]),
            }
            out.append(proto_finding("splitting", title, HIGH, **evidence))
        elif "HTTP/" in text and _REQUEST_LINE.search(text):
            title = f"HTTP request line in a {location} parameter {part}"
            out.append(proto_finding("splitting", title, MEDIUM, location=location, name=shown))
    if "\r" in name or "\n" in name:
        title = f"line break in a {location} parameter name"
        out.append(proto_finding("line-break", title, MEDIUM, location=location, name=shown))
    if _CONTROL.search(name.replace("\x00", "")):
        title = f"control character in a {location} parameter name"
        out.append(proto_finding("control-chars", title, LOW, location=location, name=shown))


def _ldap(text: str, location: str, out: list[Finding]) -> None:
    """A whole filter passed as a value is balanced; a breakout closes a filter it never opened."""
    for match in itertools.islice(_LDAP_BREAKOUT.finditer(text), 20):
        at = match.start()
        start = max(text.rfind("&", 0, at), text.rfind('"', 0, at), text.rfind(";", 0, at)) + 1
        if text.count("(", start, at) < text.count(")", start, at) + 1:
            title = "LDAP filter breakout: a value closes one filter and opens another"
            out.append(
                proto_finding("ldap", title, MEDIUM, location=location, sample=sample(match[0]))
            )
            return


def _proxy_target(raw: str, out: list[Finding]) -> None:
    if ":" in raw and "|" in raw and "unix:" in raw.lower():
        title = "unix: socket target with a pipe (mod_proxy SSRF, CVE-2021-40438)"
        out.append(proto_finding("proxy-target", title, HIGH, location="query"))


def _path(path: str, out: list[Finding]) -> None:
    if "%" in path:
        _encoding(path, "path", out)
        decoded = unquote_to_bytes(path).decode("utf-8", "replace")
    else:
        decoded = path
    if not decoded.isprintable():
        _path_controls(decoded, out)
    if ("." in decoded or "~" in decoded) and _restricted_file(decoded):
        title = "request for a backup, database or configuration file"
        out.append(proto_finding("restricted-file", title, MEDIUM, path=sample(decoded)))
    if "unix:" in decoded.lower() and "|" in decoded:
        title = "unix: socket target with a pipe (mod_proxy SSRF, CVE-2021-40438)"
        out.append(proto_finding("proxy-target", title, HIGH, location="path"))


def _path_controls(decoded: str, out: list[Finding]) -> None:
    if "\x00" in decoded:
        out.append(proto_finding("null-byte", "NUL byte in the path", MEDIUM, location="path"))
    if _SPLIT_STRICT.search(decoded):
        title = "line break and HTTP header or status line in the path"
        out.append(proto_finding("splitting", title, HIGH, location="path"))
    elif "\r" in decoded or "\n" in decoded:
        out.append(proto_finding("line-break", "line break in the path", MEDIUM, location="path"))
    if _CONTROL.search(decoded.replace("\x00", "")):
        title = "control character in the path"
        out.append(proto_finding("control-chars", title, LOW, location="path"))


def _restricted_file(path: str) -> bool:
    for segment in path.lower().split("/"):
        if segment.endswith("~") or segment.endswith(_RESTRICTED_SUFFIXES):
            return True
    return False


# --- bodies ------------------------------------------------------------------------------------


def _without_line_end(text: str) -> str:
    """Drop the line end an editor or `curl --data-binary @file` leaves after a form body."""
    for _ in range(4):
        for end in _LINE_ENDS:
            if text.endswith(end):
                text = text[: -len(end)]
                break
        else:
            return text
    return text


def _body(request: Request, body: bytes, out: list[Finding]) -> None:
    if request.headers.get("content-encoding", "identity").strip().lower() != "identity":
        return  # compressed: its bytes say nothing until decoded
    media, params = _body_media(request.headers.get("content-type", ""))
    if media == "application/x-www-form-urlencoded":
        _text(_without_line_end(body.decode("utf-8", "replace")), "body", _SPLIT_FORM, out)
    elif media == "multipart/form-data":
        boundary = next((value for key, value in params if key == "boundary"), "")
        check_multipart(body, boundary, out)
    else:
        if b"\x00" in body and (media.endswith(("json", "xml")) or media.startswith("text/")):
            title = "NUL byte in a text body"
            out.append(proto_finding("null-byte", title, MEDIUM, location="body"))
        # one-byte searches first: they run at memchr speed, longer needles do not
        if b"\\" in body and b"\\u00" in body and _ASCII_ESCAPE.search(body.decode("latin-1")):
            title = "\\u escape of a plain ASCII character"
            out.append(proto_finding("encoding", title, MEDIUM, location="body"))
        if b")" in body:
            _ldap(body.decode("latin-1"), "body", out)
        if b"%" in body and b"%0" in body and _ENCODED_SPLIT.search(body.decode("latin-1")):
            title = "percent-encoded line break and HTTP header in a body value"
            out.append(proto_finding("splitting", title, HIGH, location="body"))

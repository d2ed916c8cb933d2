"""Message framing: Content-Length, Transfer-Encoding and bodies on GET and HEAD.

Request smuggling needs two readers (a proxy and the app) to disagree on where a request ends.
These rules look for the framing headers they are known to read differently.

Access logs record only some headers, so a missing header is evidence only when the request looks
like a full capture: it carries at least one header that logs do not keep (`_WIRE_ONLY`).
"""

from __future__ import annotations

from apishield.checks.http_syntax import parse_media, proto_finding, sample
from apishield.checks.registry import CheckContext
from apishield.exchange import Finding, Headers, Request, Severity

HIGH, MEDIUM, LOW = Severity.HIGH, Severity.MEDIUM, Severity.LOW

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_HTTP1 = frozenset({"HTTP/1.0", "HTTP/1.1"})
_WIRE_ONLY = frozenset(
    {"accept", "accept-encoding", "accept-language", "connection", "content-length"}
    | {"transfer-encoding", "cache-control", "pragma", "te", "upgrade", "expect"}
)
"""Headers a client sends but an access log rarely records: their presence means a full capture."""

_CODINGS = frozenset({"chunked", "gzip", "x-gzip", "deflate", "compress", "x-compress", "br"})


def check_framing(request: Request, context: CheckContext, out: list[Finding]) -> None:
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
        if has_content(request) and not _json(request):
            # JSON on GET is a known API idiom (search queries); a form or anything else is
            # not, and hides parameters from whatever reads only the query string.
            title = "GET request with a body that is not JSON"
            out.append(proto_finding("get-body", title, LOW, method=request.method))
        return
    out.append(proto_finding("get-body", title, MEDIUM, method=request.method))


def has_content(request: Request) -> bool:
    """The request carries a body: captured, or declared by Content-Length where bodies are
    not recorded (access logs)."""
    if request.body is not None:
        return bool(request.body)
    length = request.headers.get("content-length", "")
    return length.isdigit() and int(length) > 0


def _json(request: Request) -> bool:
    """Declared JSON, or, without a Content-Type, a captured body that opens like JSON."""
    content_type = request.headers.get("content-type")
    if content_type is None:
        return request.body is not None and request.body.lstrip()[:1] in (b"{", b"[")
    media = parse_media(content_type)[0]
    return media == "application/json" or media.endswith("+json")


def _missing_length(request: Request) -> bool:
    return (
        request.method in _BODY_METHODS
        and request.http_version in _HTTP1
        and full_capture(request.headers)
    )


def full_capture(headers: Headers) -> bool:
    """Whether the source recorded the request's own headers, not just what an access log keeps."""
    return not _WIRE_ONLY.isdisjoint(headers)


# --- headers -------------------------------------------------------------------------------

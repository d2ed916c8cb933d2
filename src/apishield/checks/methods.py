"""Request methods: the ones an API expects, the ones that probe it, and overrides that swap one
for another after a proxy or WAF has already judged the request by its first method."""

from __future__ import annotations

import re

from apishield.checks.http_syntax import proto_finding, sample
from apishield.exchange import Finding, Request, Severity

STANDARD_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
RISKY_METHODS = frozenset({"TRACE", "TRACK", "DEBUG"})
OVERRIDE_HEADERS = ("x-http-method-override", "x-http-method", "x-method-override")

_METHOD_SHAPE = re.compile(r"[A-Z][A-Z_-]{0,23}")
"""What every registered method looks like (GET, VERSION-CONTROL, M-SEARCH)."""


def check_method(request: Request, out: list[Finding]) -> None:
    method = request.method
    if method in STANDARD_METHODS:
        return
    if not _METHOD_SHAPE.fullmatch(method):
        title = "malformed request method"  # case or punctuation that servers read differently
        out.append(proto_finding("method", title, Severity.MEDIUM, method=sample(method)))
    elif method == "CONNECT":
        return
    elif method in RISKY_METHODS:
        title = f"{method} request to an API"
        out.append(proto_finding("method", title, Severity.MEDIUM, method=method))
    else:
        out.append(proto_finding("method", "unknown request method", Severity.LOW, method=method))


def method_override(value: str, where: str, out: list[Finding]) -> None:
    method = value.strip().upper()
    if len(method) < 3 or not (method.isascii() and method.isalpha()):
        return  # frameworks honour only letter-only method names, and none is shorter than GET
    severity = Severity.LOW if method in STANDARD_METHODS else Severity.MEDIUM
    title = "HTTP method override"
    out.append(
        proto_finding("method-override", title, severity, where=where, method=sample(method))
    )

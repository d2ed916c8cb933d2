"""Protocol enforcement: requests that bend HTTP itself, not the API's parameters (API8:2023).

Request smuggling, header and response splitting, multipart and charset tricks all work the same
way: two parsers (a proxy and the app, a WAF and the framework) read one request differently. The
rules look for the places where readers are known to disagree: conflicting framing headers
(`framing`), line breaks and control characters where none belong and malformed Content-Type
parameters (`header_fields`), odd encodings in values (`form_values`) and multipart bodies
(`multipart`). This module holds the request line, the path and the dispatch of bodies. Bodies are
only searched with C-level `find`/single regex passes, never character by character in Python.
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from apishield.checks.form_values import check_encoding, check_text, ldap_breakout
from apishield.checks.framing import check_framing, full_capture
from apishield.checks.header_fields import (
    HOST_SHAPE,
    body_media,
    check_content_type,
    check_headers,
    check_host,
    check_range,
)
from apishield.checks.http_syntax import (
    ASCII_ESCAPE,
    CONTROL,
    ENCODED_SPLIT,
    SPLIT_FORM,
    SPLIT_STRICT,
    proto_finding,
    sample,
)
from apishield.checks.methods import RISKY_METHODS, STANDARD_METHODS, check_method
from apishield.checks.multipart import check_multipart
from apishield.checks.registry import CheckContext
from apishield.exchange import Exchange, Finding, Request, Severity

__all__ = ["RISKY_METHODS", "STANDARD_METHODS", "check_protocol", "full_capture"]

HIGH, MEDIUM, LOW = Severity.HIGH, Severity.MEDIUM, Severity.LOW

_VERSIONS = frozenset(
    {"", "HTTP/1.0", "HTTP/1.1", "HTTP/2", "HTTP/2.0", "HTTP/3", "HTTP/3.0", "H2", "H2C", "H3"}
    | {"1.0", "1.1", "2", "2.0", "3", "3.0", "UNKNOWN"}
)
_RESTRICTED_SUFFIXES = (
    ".bak", ".backup", ".old", ".orig", ".save", ".swp", ".swo", ".tmp",
    ".db", ".sqlite", ".sqlite3", ".mdb", ".rdb", ".dbf", ".sql", ".dump",
    ".env", ".ini", ".conf", ".config", ".cfg", ".key", ".pem", ".htpasswd", ".htaccess",
    ".log", ".pwd", ".pass", ".pfx", ".p12", ".jks", ".keystore", ".kdbx", ".mdf", ".ldf",
    ".bat", ".cmd", ".vbs", ".dll", ".pdb", ".lnk", ".inc", ".cs", ".vb", ".csproj", ".vbproj",
    ".resx", ".resources", ".licx", ".asa", ".asax", ".htr", ".htw", ".ida", ".idc", ".idq",
    ".printer", ".cdx",
)  # fmt: skip
"""What no API serves on purpose: backups, databases, keys and configuration, source and
project files, Windows scripts and libraries, and the handlers of old IIS exploits."""

_LINE_ENDS = ("%0a", "%0A", "%0d", "%0D", "\r", "\n")


def check_protocol(exchange: Exchange, context: CheckContext) -> list[Finding]:
    """Findings for HTTP framing, syntax and encoding abuse; one per rule id, the gravest."""
    request = exchange.request
    out: list[Finding] = []
    check_method(request, out)
    _target(request, out)
    _version(request, out)
    check_framing(request, context, out)
    check_host(request, out, numeric=context.numeric_host)
    check_headers(request.headers, out)
    check_content_type(request, context.media_types, out)
    check_range(request.headers, out)
    if request.query:
        check_text(request.query, "query", SPLIT_STRICT, out)
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


def _target(request: Request, out: list[Finding]) -> None:
    path = request.path
    if path.startswith("/") or (path == "*" and request.method == "OPTIONS"):
        return
    if request.method == "CONNECT" and HOST_SHAPE.fullmatch(path):
        return  # authority-form, the one target CONNECT takes; allowing CONNECT is policy
    title = "request target is not an origin-form path"
    out.append(proto_finding("request-target", title, MEDIUM, target=sample(path)))


def _version(request: Request, out: list[Finding]) -> None:
    version = request.http_version
    if version in _VERSIONS or version.upper() in _VERSIONS:
        return
    title = "invalid or unsupported HTTP version"
    out.append(proto_finding("http-version", title, MEDIUM, version=sample(version)))


# --- path and body ---------------------------------------------------------------------------


def _proxy_target(raw: str, out: list[Finding]) -> None:
    if ":" in raw and "|" in raw and "unix:" in raw.lower():
        title = "unix: socket target with a pipe (mod_proxy SSRF, CVE-2021-40438)"
        out.append(proto_finding("proxy-target", title, HIGH, location="query"))


def _path(path: str, out: list[Finding]) -> None:
    if "%" in path:
        # An encoded slash alone is no finding: APIs carry encoded URLs and paths in a segment
        # (`/projects/group%2Fname`), and routing holds such a path to the limits of every
        # route it could reach (`routes.encoded_slash`); a climb through it is traversal.
        check_encoding(path, "path", out)
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
    if SPLIT_STRICT.search(decoded):
        title = "line break and HTTP header or status line in the path"
        out.append(proto_finding("splitting", title, HIGH, location="path"))
    elif "\r" in decoded or "\n" in decoded:
        out.append(proto_finding("line-break", "line break in the path", MEDIUM, location="path"))
    if CONTROL.search(decoded.replace("\x00", "")):
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
    media, params = body_media(request.headers.get("content-type", ""))
    if media == "application/x-www-form-urlencoded":
        check_text(_without_line_end(body.decode("utf-8", "replace")), "body", SPLIT_FORM, out)
    elif media == "multipart/form-data":
        boundary = next((value for key, value in params if key == "boundary"), "")
        check_multipart(body, boundary, out)
    else:
        if b"\x00" in body and (media.endswith(("json", "xml")) or media.startswith("text/")):
            title = "NUL byte in a text body"
            out.append(proto_finding("null-byte", title, MEDIUM, location="body"))
        # one-byte searches first: they run at memchr speed, longer needles do not
        if b"\\" in body and b"\\u00" in body and ASCII_ESCAPE.search(body.decode("latin-1")):
            title = "\\u escape of a plain ASCII character"
            out.append(proto_finding("encoding", title, MEDIUM, location="body"))
        if b")" in body:
            ldap_breakout(body.decode("latin-1"), "body", out)
        if b"%" in body and b"%0" in body and ENCODED_SPLIT.search(body.decode("latin-1")):
            title = "percent-encoded line break and HTTP header in a body value"
            out.append(proto_finding("splitting", title, HIGH, location="body"))

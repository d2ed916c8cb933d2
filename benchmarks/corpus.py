"""The evaluation corpora as samples, and each record as apishield and a real server would see it.

Records come from ../shared/corpora (README there): CRS go-ftw tests as whole requests, and plain
payload lists (libinjection, BLNS) as `GET /?q=<payload>`. One record becomes one wire request
(what ModSecurity is sent) and one `Exchange` (what apishield checks), built from the same header
list so both sides see the same request. Half of the records, chosen by a hash of their id, are
the TUNE split that rules may be tuned on; the other half is HOLDOUT and is only reported.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

from apishield.exchange import Exchange, Request

CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"

SETS: tuple[tuple[str, str], ...] = (
    ("crs_sqli", "crs/crs_sqli.jsonl"),
    ("crs_xss", "crs/crs_xss.jsonl"),
    ("crs_rce", "crs/crs_rce.jsonl"),
    ("crs_lfi", "crs/crs_lfi.jsonl"),
    ("crs_rfi", "crs/crs_rfi.jsonl"),
    ("crs_php", "crs/crs_php.jsonl"),
    ("crs_ssrf", "crs/crs_ssrf.jsonl"),
    ("crs_log4shell", "crs/crs_log4shell.jsonl"),
    ("crs_nosqli", "crs/crs_nosqli.jsonl"),
    ("crs_protocol", "crs/crs_protocol.jsonl"),
    ("crs_other", "crs/crs_other.jsonl"),
    ("crs_benign", "crs/crs_benign.jsonl"),
    ("crs_ambiguous", "crs/crs_ambiguous.jsonl"),
    ("libinjection_sqli", "libinjection/libinjection_sqli.jsonl"),
    ("libinjection_xss", "libinjection/libinjection_xss.jsonl"),
    ("libinjection_benign", "libinjection/libinjection_benign.jsonl"),
    ("blns_attack", "blns/blns_attack.jsonl"),
    ("blns_benign", "blns/blns_benign.jsonl"),
    ("blns_ambiguous", "blns/blns_ambiguous.jsonl"),
)
"""(set name, file under the corpora folder). The set name's prefix is its family."""

CRS_TEST_HEADERS: tuple[tuple[str, str], ...] = (
    ("Host", "localhost"),
    ("User-Agent", "OWASP CRS test agent"),
    (
        "Accept",
        "text/xml,application/xml,application/xhtml+xml,text/html;q=0.9,text/plain;q=0.8,"
        "image/png,*/*;q=0.5",
    ),
)
"""The headers every CRS test sends; payload-list records get them too, so that neither side
scores a plain payload on a request no browser would send (no Host, no User-Agent)."""

FORM = "application/x-www-form-urlencoded"
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
"""Methods go-ftw sends a Content-Length with even for an empty body (nginx answers 411 without)."""
T0 = 1_700_000_000.0
REPEAT = re.compile(r'\{\{\s*"([^"]*)"\s*\|\s*repeat\s+(\d+)\s*\}\}')


def is_tune(record_id: str) -> bool:
    """The project-wide split: tune only on records where this is true."""
    return int(hashlib.sha256(record_id.encode()).hexdigest(), 16) % 2 == 0


@dataclass(frozen=True, slots=True)
class Sample:
    """One corpus record and the set it came from."""

    set: str
    record: dict[str, Any]

    @property
    def family(self) -> str:
        return self.set.split("_", 1)[0]

    @property
    def id(self) -> str:
        return str(self.record["id"])

    @property
    def label(self) -> str:
        return str(self.record["label"])

    @property
    def klass(self) -> str:
        return str(self.record.get("class") or "benign")

    @property
    def split(self) -> str:
        return "tune" if is_tune(self.id) else "holdout"

    @property
    def paranoia(self) -> str:
        """ "PL1" or "PL2+" for CRS records; "" for payload lists, which have no level."""
        level = self.record.get("crs_paranoia_level")
        if level is None:
            return ""
        return "PL1" if int(level) <= 1 else "PL2+"


def load(root: Path = CORPORA, limit: int | None = None) -> Iterator[Sample]:
    """Every record of every set, or the first `limit` of each set for a quick run."""
    for name, relative in SETS:
        path = root / relative
        if not path.exists():
            raise SystemExit(f"corpus file {path} is missing: pass --corpora DIR (see its README)")
        with path.open(encoding="utf-8") as lines:
            for count, line in enumerate(lines):
                if limit is not None and count >= limit:
                    break
                yield Sample(name, json.loads(line))


def body_bytes(record: dict[str, Any]) -> bytes | None:
    """The test's body with go-ftw's `{{ "x" | repeat N }}` (its only template in use) expanded."""
    body = record.get("body")
    if body is None:
        return None
    return REPEAT.sub(lambda m: m.group(1) * int(m.group(2)), str(body)).encode("utf-8")


def request_parts(record: dict[str, Any]) -> tuple[list[tuple[str, str]], bytes | None]:
    """Headers in wire order and the body, completed and encoded the way go-ftw sends a test.

    Unless a test turns autocomplete off, go-ftw adds a form Content-Type to a body that has
    none, form-encodes each name and value of a form body that holds no escapes yet, adds
    `Connection: close`, and a Content-Length to any body or body-carrying method; multipart
    bodies always get CRLF line ends. Both sides are given the request after these changes.
    """
    headers = [(str(name), str(value)) for name, value in (record.get("headers") or {}).items()]
    if "value" in record and not headers:
        headers = list(CRS_TEST_HEADERS)
    body = body_bytes(record)
    auto = record.get("autocomplete_headers", True) is not False
    if body and auto:
        if header(headers, "content-type") is None:
            headers.append(("Content-Type", FORM))
        if header(headers, "content-type") == FORM:
            body = form_encode(body)
    if body and (header(headers, "content-type") or "").startswith("multipart/form-data;"):
        body = body.replace(b"\n", b"\r\n")
    if auto:
        if header(headers, "connection") is None:
            headers.append(("Connection", "close"))
        sends_body = bool(body) or str(record.get("method")) in BODY_METHODS
        if sends_body and header(headers, "content-length") is None:
            headers.append(("Content-Length", str(len(body or b""))))
    return headers, body


def header(headers: list[tuple[str, str]], name: str) -> str | None:
    return next((value for key, value in headers if key.lower() == name), None)


def form_encode(body: bytes) -> bytes:
    """Escape each name and value of a form body written in clear; leave an escaped one alone."""
    if b"%" in body or b"+" in body:
        return body
    tokens = []
    for token in body.split(b"&"):
        name, sep, value = token.partition(b"=")
        tokens.append(quote_plus(name, safe="") + (f"={quote_plus(value, safe='')}" if sep else ""))
    return "&".join(tokens).encode("ascii")


def lower_headers(items: list[tuple[str, str]]) -> dict[str, str]:
    """Lower-case names, repeated headers joined with ", " as `Exchange` expects."""
    joined: dict[str, str] = {}
    for name, value in items:
        key = name.lower()
        joined[key] = f"{joined[key]}, {value}" if key in joined else value
    return joined


def to_exchange(record: dict[str, Any]) -> Exchange | None:
    """The request as apishield's request phase sees it; None for a raw request it cannot parse."""
    if "raw_request" in record:
        return parse_raw_request(str(record["raw_request"]).encode("utf-8"), str(record["id"]))
    items, body = request_parts(record)
    headers = lower_headers(items)
    return _exchange(
        str(record["method"]),
        str(record["path"]),
        str(record.get("query") or ""),
        headers,
        body,
        str(record.get("http_version") or "HTTP/1.1"),
        str(record["id"]),
    )


def _exchange(
    method: str,
    path: str,
    query: str,
    headers: dict[str, str],
    body: bytes | None,
    version: str,
    source: str,
) -> Exchange:
    request = Request(
        method=method,
        path=path,
        query=query,
        headers=headers,
        body=body,
        body_size=None if body is None else len(body),
        host=headers.get("host", ""),
        peer_ip="127.0.0.1",
        http_version=version,
    )
    return Exchange(request=request, response=None, started=T0, source=source)


def parse_raw_request(raw: bytes, source: str) -> Exchange | None:
    """Parse a request sent as raw bytes; chunked bodies are de-chunked like a server would."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = raw.partition(b"\n\n")
    lines = head.decode("utf-8", "replace").splitlines()
    parts = lines[0].split(" ") if lines else []
    if len(parts) != 3:
        return None
    method, target, version = parts
    items = [tuple(line.split(":", 1)) for line in lines[1:] if ":" in line]
    headers = lower_headers([(name.strip(), value.strip()) for name, value in items])
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = dechunk(body)
    path, _, query = target.partition("?")
    return _exchange(method, path, query, headers, body if sep else None, version, source)


def dechunk(data: bytes) -> bytes:
    """The payload of a chunked body; whatever follows a malformed chunk size is kept as is."""
    out = bytearray()
    while data:
        size_line, sep, rest = data.partition(b"\r\n")
        try:
            size = int(size_line.split(b";")[0].strip() or b"x", 16)
        except ValueError:
            return bytes(out + data)
        if not sep or size == 0:
            break
        out += rest[:size]
        data = rest[size + 2 :]
    return bytes(out)


def wire_request(record: dict[str, Any]) -> bytes:
    """The bytes go-ftw puts on the socket for a test; raw requests verbatim."""
    if "raw_request" in record:
        return str(record["raw_request"]).encode("utf-8")
    target = str(record["path"]) + (f"?{record['query']}" if record.get("query") else "")
    version = str(record.get("http_version") or "HTTP/1.1")
    headers, body = request_parts(record)
    lines = [f"{record['method']} {target} {version}", *(f"{k}: {v}" for k, v in headers)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + (body or b"")

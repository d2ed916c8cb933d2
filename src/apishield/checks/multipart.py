"""Multipart bodies: the boundary, each part's headers, names and charsets, read the ways a
framework and an inspector could disagree on (protocol checks, API8:2023)."""

from __future__ import annotations

import re

from apishield.checks.http_syntax import (
    TOKEN,
    charset_allowed,
    parse_media,
    proto_finding,
    sample,
)
from apishield.exchange import Finding, Severity

HIGH, MEDIUM, LOW = Severity.HIGH, Severity.MEDIUM, Severity.LOW
_DISPOSITION_PARAM = re.compile(r'([\w*-]+)\s*=\s*("(?:[^"\\\r\n]|\\.)*"|[^;]*)')
_ENTITY = re.compile(r"&(?:[A-Za-z]{2,8}|#\d{1,7}|#[xX][0-9A-Fa-f]{1,6});")
_PART_HEAD_MAX = 8192


def check_multipart(body: bytes, boundary: str, out: list[Finding]) -> None:
    if not boundary:
        return  # reported with the Content-Type
    if len(boundary) > 70 or boundary.endswith(" ") or not TOKEN.fullmatch(boundary.strip("'")):
        out.append(proto_finding("multipart", "malformed multipart boundary", MEDIUM))
    delimiter = b"--" + boundary.encode("utf-8", "replace")
    at = body.find(delimiter)
    if at < 0:
        out.append(proto_finding("multipart", "multipart body never uses its boundary", MEDIUM))
        return
    for _ in range(200):
        start = at + len(delimiter)
        if body.startswith(b"--", start):
            return
        end = _head_end(body, start)
        if end < 0:
            title = f"multipart part headers without an end within {_PART_HEAD_MAX} bytes"
            out.append(proto_finding("multipart", title, MEDIUM))
            return
        _part_head(body[start:end].decode("utf-8", "replace"), out)
        at = body.find(delimiter, end)
        if at < 0:
            return


def _head_end(body: bytes, start: int) -> int:
    """Where a part's headers end, looked for only within `_PART_HEAD_MAX` bytes: a file part
    without a blank line must not make every part scan the rest of the body."""
    stop = start + _PART_HEAD_MAX
    ends = (body.find(b"\r\n\r\n", start, stop), body.find(b"\n\n", start, stop))
    return min((at for at in ends if at >= 0), default=-1)


def _part_head(head: str, out: list[Finding]) -> None:
    padding, *lines = head.split("\n")
    if not any(line.strip() for line in lines):
        return  # a part with no headers names no field: nothing for parsers to disagree on
    if padding.strip():
        title = "text after a multipart boundary"
        out.append(proto_finding("multipart", title, MEDIUM, sample=sample(padding)))
    dispositions = 0
    for line in lines:
        name, sep, value = line.rstrip("\r").partition(":")
        key = name.strip().lower()
        if not sep or name != name.strip() or not TOKEN.fullmatch(key):
            out.append(proto_finding("multipart", "malformed multipart part header", MEDIUM))
        elif key == "content-disposition":
            dispositions += 1
            _disposition(value.strip(), out)
        elif key == "content-type":
            _media, params, _ = parse_media(value)
            _part_charsets(params, out)
        elif key == "content-transfer-encoding":
            _part_transfer_encoding(value.strip().lower(), out)
        elif key not in ("content-length", "content-id"):
            title = "unexpected header in a multipart part"
            out.append(proto_finding("multipart", title, MEDIUM, header=sample(key)))
    if dispositions != 1:
        title = "multipart part without exactly one Content-Disposition"
        out.append(proto_finding("multipart", title, MEDIUM, count=str(dispositions)))


def _disposition(value: str, out: list[Finding]) -> None:
    kind, _, rest = value.partition(";")
    if kind.strip().lower() != "form-data":
        title = "multipart part is not form-data"
        out.append(proto_finding("multipart", title, MEDIUM, disposition=sample(kind)))
    for match in _DISPOSITION_PARAM.finditer(rest):
        key, raw = match[1].lower(), match[2].strip()
        text = raw[1:-1] if raw.startswith('"') else raw
        if key in ("name", "filename"):
            _part_name(key, text, out)


def _part_name(key: str, text: str, out: list[Finding]) -> None:
    """`;` (outside an HTML entity, which browsers use for characters they cannot send), quotes,
    backslashes and control characters make parsers disagree on where a value ends, or let it
    smuggle a second parameter (`name="a; filename=x.php"`); `=` alone is only odd."""
    if "&" in text:
        text = _ENTITY.sub("", text)
    if any(char in text for char in ';"\\\r\n\x00'):
        title = f"multipart {key} with characters that parsers split differently"
        out.append(proto_finding("multipart", title, MEDIUM, param=key, sample=sample(text)))
    elif "=" in text:
        title = f"multipart {key} containing '='"
        out.append(proto_finding("multipart", title, LOW, param=key, sample=sample(text)))


def _part_charsets(params: list[tuple[str, str]], out: list[Finding]) -> None:
    for key, value in params:
        if key == "charset" and not charset_allowed(value):
            title = "multipart part charset not allowed"
            out.append(proto_finding("charset", title, MEDIUM, charset=sample(value)))


def _part_transfer_encoding(value: str, out: list[Finding]) -> None:
    severity = LOW if value in ("7bit", "8bit", "binary") else MEDIUM
    title = "Content-Transfer-Encoding in a multipart part (deprecated by RFC 7578)"
    out.append(proto_finding("multipart", title, severity, encoding=sample(value)))

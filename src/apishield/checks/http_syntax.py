"""HTTP syntax shared by the protocol checks: tokens, media types and their parameters,
charsets that keep ASCII meaning ASCII, the line breaks that split a request or response, and how
a protocol finding and its evidence look."""

from __future__ import annotations

import functools
import re

from apishield.exchange import Finding, Severity

CATEGORY = "API8:2023"
SAMPLE_CHARS = 40

TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_DIGITS = re.compile(r"\d{5,}")
_SAFE_CHARSETS = frozenset({"utf-8", "utf8", "us-ascii", "ascii", "iso-8859-1", "iso-8859-15"})
_CHARSET_PROBE = "a=b&c+d <e>'\"%;:/\\-_.~"


CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
ASCII_ESCAPE = re.compile(r"\\u00(?:3[0-9]|[46][1-9A-Fa-f]|[57][0-9Aa])")
"""A `\\u` escape of a character that needs none: a way past filters that read the raw text."""
_METHODS = r"(?-i:GET|POST|PUT|DELETE|HEAD|OPTIONS|PATCH|TRACE|CONNECT)"
REQUEST_LINE = re.compile(rf"{_METHODS}\s+\S+\s+(?-i:HTTP)/\d")
_SPLIT_HEADERS = (
    r"set-cookie|cookie|location|refresh|content-(?:type|length|disposition)|transfer-encoding"
    r"|host|x-forwarded-[\w-]+|forwarded|via|remote-(?:addr|ip|host)|x-originating-ip"
    r"|x-real-ip|access-control-[\w-]+|x-xss-protection|content-security-policy"
)
_BREAK = r"(?<!\s)[^\S\r\n]*+[\r\n]\s*+"
"""A run of blanks holding a line break, tried only from the run's first character, so a search
stays linear however long the run."""
SPLIT_STRICT = re.compile(
    rf"{_BREAK}(?:(?-i:HTTP)/\d|{_METHODS}\s+\S|(?:{_SPLIT_HEADERS})\s*:|<)", re.I
)
"""A line break followed by a status line, request line, a header that matters, or markup."""
SPLIT_FORM = re.compile(
    rf"{_BREAK}(?:(?-i:HTTP)/\d|{_METHODS}\s+\S+\s+(?-i:HTTP)/"
    r"|(?:set-cookie|content-length|transfer-encoding)\s*:)",
    re.I,
)
"""Form text legitimately spans lines, so only what no prose contains counts there."""
ENCODED_SPLIT = re.compile(
    rf"(?<!%0[dDaA])(?:%0[dDaA])++(?:%20|%09|[ \t])*+"
    rf"(?:(?-i:HTTP)/\d|(?:{_SPLIT_HEADERS})\s*(?::|%3[aA]))",
    re.I,
)
"""A line break still percent-encoded after the server's own decoding, as a second decoder (a
redirect or cookie writer) would turn it into a header; never prose, so also searched in JSON."""
HEADER_LINE = re.compile(rf"{_BREAK}[A-Za-z][\w-]{{0,63}}\s*:")


_PRINTABLE_ASCII = bytes(range(0x20, 0x7F))


def printable(text: str) -> bool:
    """`str.isprintable`; for ASCII, which holds nothing unprintable but C0 controls and DEL, by
    deleting the printable bytes in one C pass, twice as fast as the Unicode table lookups."""
    if text.isascii():
        return not text.encode("ascii").translate(None, _PRINTABLE_ASCII)
    return text.isprintable()


def proto_finding(rule: str, title: str, severity: Severity, **evidence: str) -> Finding:
    return Finding(f"proto.{rule}", title, severity, evidence, CATEGORY)


def sample(text: str) -> str:
    """A short, printable excerpt: line breaks shown as escapes, long numbers masked."""
    shown = text[:SAMPLE_CHARS].encode("unicode_escape").decode("ascii")
    return _DIGITS.sub(lambda m: m[0][:2] + "#" * (len(m[0]) - 2), shown)


def parse_media(value: str) -> tuple[str, list[tuple[str, str]], bool]:
    """(lower-case type/subtype, [(lower-case name, unquoted value)], whether it is malformed)."""
    media, *rest = value.split(";")
    params: list[tuple[str, str]] = []
    malformed = False
    for raw in rest:
        part = raw.strip()
        if not part:
            continue
        name, sep, val = part.partition("=")
        key = name.strip().lower()
        if not sep or key != name.lower() or val != val.lstrip() or not TOKEN.fullmatch(key):
            malformed = True
        val = val.strip()
        if val.startswith('"'):
            malformed = malformed or len(val) < 2 or not val.endswith('"')
            val = val[1:-1]
        elif val and not TOKEN.fullmatch(val):
            malformed = True
        params.append((key, val))
    return media.strip().lower(), params, malformed


@functools.lru_cache(maxsize=256)
def charset_allowed(charset: str) -> bool:
    """A charset is safe when ASCII syntax (=, &, <, quotes) stays ASCII: UTF-7, UTF-16, EBCDIC
    and unknown names let a body mean one thing to the app and another to an inspector."""
    name = charset.strip().strip('"').lower()
    if name in _SAFE_CHARSETS:
        return True
    try:
        return _CHARSET_PROBE.encode(name) == _CHARSET_PROBE.encode("ascii")
    except (LookupError, UnicodeError, ValueError):
        return False

"""HTTP syntax shared by the protocol checks: tokens, media types and their parameters,
charsets that keep ASCII meaning ASCII, and how a protocol finding and its evidence look."""

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

"""Query strings and form bodies, parameter by parameter: encodings that hide characters from a
filter, line breaks that split a response, NUL bytes, method overrides and LDAP filter breakouts.

A text is decoded once as a form parser would; only when the decoded text holds something odd
(a control character, `HTTP/`, an encoded line break) are its parameters looked at one by one.
"""

from __future__ import annotations

import itertools
import re
from urllib.parse import unquote_plus

from apishield.checks.http_syntax import (
    ASCII_ESCAPE,
    CONTROL,
    ENCODED_SPLIT,
    REQUEST_LINE,
    printable,
    proto_finding,
    sample,
)
from apishield.checks.methods import method_override
from apishield.exchange import Finding, Severity

HIGH, MEDIUM, LOW = Severity.HIGH, Severity.MEDIUM, Severity.LOW

_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2}|[uU][0-9A-Fa-f]{4})")
_PERCENT_U = re.compile(r"%[uU][0-9A-Fa-f]{4}")
_DOUBLE_PERCENT = re.compile(r"%25(?:0[0aAdD]|2[eE]|5[cC]|3[cC](?!%(?:25)?3[dD]))")
"""A second escaping of NUL, CR, LF, dot, backslash or `<`, which filters look for. Not of `/`,
`=` or `&`: a URL nested in a parameter (`next=%2Fa%253Fb%253D1`) legitimately has those; nor of
a `<` before `=`, the filter operator of a nested query (`DateCreated%253C%253D2024-01-01`)."""
_OVERLONG = re.compile(r"%(?:[cC][01]|[eE]0%[89][0-9A-Fa-f]|[fF]0%8[0-9A-Fa-f])")
_MAX_PARAMS = 1000
"""Parameters looked at one by one, as servers cap them (PHP's max_input_vars is 1000)."""
_LDAP_BREAKOUT = re.compile(r"\)\s*[&|!]?\s*\(\s*(?:[&|!]|[\w.;-]+\s*[~<>]?=|\)|$)")
"""Closing an LDAP filter component and opening another: `)(uid=*`, `)(|`, `)!(sn=`, `)(&)`."""


def check_text(raw: str, location: str, splitting: re.Pattern[str], out: list[Finding]) -> None:
    """Encoding and line-break checks on a query string or form body, parameter by parameter."""
    if "%" in raw:
        check_encoding(raw, location, out)
        if location == "body" and _BAD_PERCENT.search(raw):
            title = "invalid percent-encoding in a form body"
            out.append(proto_finding("encoding", title, MEDIUM, location=location))
    decoded = _form_decoded(raw)
    # one-character tests first: they run at memchr speed, longer needles do not
    if "\\" in decoded and "\\u" in decoded and ASCII_ESCAPE.search(decoded):
        title = "\\u escape of a plain ASCII character"
        out.append(proto_finding("encoding", title, MEDIUM, location=location))
    if "_method" in decoded:
        for name, _, value in _pairs(raw):
            if name == "_method":
                method_override(value, f"{location} _method", out)
    if ")" in decoded:
        ldap_breakout(decoded, location, out)
    if printable(decoded) and "HTTP/" not in decoded and not ("%" in decoded and "%0" in decoded):
        return
    for name, _, value in _pairs(raw):
        _param(name, value, location, splitting, out)


_HEX = "0123456789ABCDEFabcdef"
_ASCII_ESCAPES = {high + low: chr(int(high + low, 16)) for high in "01234567" for low in _HEX}
"""Every escape of an ASCII character, in any case, as `unquote_plus` reads it."""
_HEX_PAIRS = frozenset(high + low for high in _HEX for low in _HEX)


def _form_decoded(raw: str) -> str:
    """The text as a form parser decodes it (`+` is a space): what `unquote_plus` gives, which is
    what decoding each parameter gives, since no escape spans an `&` or `=` and UTF-8 decoding
    starts afresh at every ASCII byte. Escapes of ASCII characters (nearly all of them) are
    decoded here escape by escape, as `unquote_plus` decodes them, and `%` without two hex
    digits stays as it is; an escaped byte beyond ASCII needs UTF-8, so `unquote_plus` decodes
    that text."""
    text = raw.replace("+", " ") if "+" in raw else raw
    if "%" not in text:
        return text
    parts = text.split("%")
    for at in range(1, len(parts)):
        part = parts[at]
        char = _ASCII_ESCAPES.get(part[:2])
        if char is not None:
            parts[at] = char + part[2:]
        elif part[:2] in _HEX_PAIRS:
            return unquote_plus(raw)
        else:
            parts[at] = "%" + part
    return "".join(parts)


def _pairs(raw: str) -> list[tuple[str, str, str]]:
    """The first `_MAX_PARAMS` parameters, decoded."""
    tokens = raw.split("&", _MAX_PARAMS)
    if "%" not in raw and "+" not in raw:
        return [token.partition("=") for token in tokens[:_MAX_PARAMS]]
    return [_decoded_pair(token) for token in tokens[:_MAX_PARAMS]]


def _decoded_pair(token: str) -> tuple[str, str, str]:
    name, sep, value = token.partition("=")
    if "%" not in token and "+" not in token:
        return name, sep, value  # what `unquote_plus` gives back unchanged
    return unquote_plus(name), sep, unquote_plus(value)


_ENCODING_TRICKS = re.compile(
    "%(?:"
    + "|".join(pattern.pattern[1:] for pattern in (_PERCENT_U, _OVERLONG, _DOUBLE_PERCENT))
    + ")"
)
"""The three patterns below in one scan, `%` outside so the scan skips from `%` to `%` at C speed:
a text none of them matches costs one search instead of three."""


def check_encoding(raw: str, location: str, out: list[Finding]) -> None:
    if not _ENCODING_TRICKS.search(raw):
        return
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
        match = split.search(text) or ("%0" in text and ENCODED_SPLIT.search(text)) or None
        if match:
            title = f"line break and HTTP header or status line in a {location} parameter"
            evidence = {
                "location": location,
                "name": shown,
                "sample": sample(text[match.start() :]),
            }
            out.append(proto_finding("splitting", title, HIGH, **evidence))
        elif "HTTP/" in text and REQUEST_LINE.search(text):
            title = f"HTTP request line in a {location} parameter {part}"
            out.append(proto_finding("splitting", title, MEDIUM, location=location, name=shown))
    if "\r" in name or "\n" in name:
        title = f"line break in a {location} parameter name"
        out.append(proto_finding("line-break", title, MEDIUM, location=location, name=shown))
    if CONTROL.search(name.replace("\x00", "")):
        title = f"control character in a {location} parameter name"
        out.append(proto_finding("control-chars", title, LOW, location=location, name=shown))


def ldap_breakout(text: str, location: str, out: list[Finding]) -> None:
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

"""The forms a server could see of one attacker-controlled value, so signatures match them all.

Attackers hide payloads behind whatever decoding the target performs and the filter does not:
double percent-encoding (`%252e`), IIS `%u002e`, overlong UTF-8 (`%c0%af` for `/`), HTML entities
with or without `;`, JavaScript `\\x3c` / `\\u003c` escapes, fullwidth letters that NFKC folds to
ASCII, and null bytes that C code treats as the end of a string. `variants` undoes each of these a
bounded number of rounds and returns every distinct intermediate form, raw first, so that one
Hyperscan scan over all of them sees the payload however it was wrapped.

Everything here is bounded: a value is cut at `MAX_CHARS`, decoding runs at most `ROUNDS` rounds,
and each form is cut again after NFKC (which can lengthen text), so hostile input costs at most a
few linear passes.
"""

from __future__ import annotations

import html
import re
import unicodedata
from urllib.parse import unquote_to_bytes

MAX_CHARS = 65_536
"""Longest prefix of a value that is decoded and scanned."""
ROUNDS = 3
"""Decoding rounds: enough for double and triple encoding, bounded against decode bombs."""

_PCT_U = re.compile(r"%u([0-9a-fA-F]{4})")
_OVERLONG_2 = re.compile(rb"[\xc0\xc1][\x80-\xbf]")
_OVERLONG_3 = re.compile(rb"\xe0[\x80-\x9f][\x80-\xbf]")
_COMMENT = re.compile(r"/\*(?!!).{0,256}?\*/|/\*!\d{0,5}|\*/", re.DOTALL)
_BACKSLASH = re.compile(r"\\(?:x([0-9a-fA-F]{2})|u\{([0-9a-fA-F]{1,6})\}|u([0-9a-fA-F]{4}))")


def form_variants(value: str) -> list[str]:
    """`variants` of a form-encoded value (a query or form body value) that holds a `+`.

    Every server reads `+` there as a space, and a literal plus arrives as `%2B`, so the forms
    that keep `+` are left out but for the raw value: "Select+menu+for+users" is not arithmetic.
    """
    value = value[:MAX_CHARS]
    forms = [value]
    final = _add_chain(forms, value.replace("+", " "))
    if "/*" in final:
        _append(forms, strip_comments(final))
    return forms


def variants(value: str) -> list[str]:
    """Raw value first, then each distinct decoded form a server or browser could end up with."""
    if len(value) > MAX_CHARS:
        value = value[:MAX_CHARS]
    # spelled out rather than looped over: this runs for every value judged one by one
    plain = not ("%" in value or "&" in value or "\\" in value or "/*" in value or "\x00" in value)
    if plain and value.isascii():
        if "+" not in value:
            return [value]
        if "+AD" not in value:  # no UTF-7: `+` is a space to a form parser, and nothing else
            return [value, value.replace("+", " ")]
    elif plain and "+" not in value and unicodedata.is_normalized("NFKC", value):
        return [value]  # beyond ASCII, but already as NFKC leaves it (accents, CJK)
    forms = [value]
    finals = [_add_chain(forms, value)]
    if "+" in value:
        finals.append(_add_chain(forms, value.replace("+", " ")))
    for final in finals:
        if "/*" in final:
            _append(forms, strip_comments(final))
    return forms


def nothing_to_decode(text: str) -> bool:
    """True when no line of `text` holds anything `variants` would decode: no escape of any
    kind, no comment, nothing NFKC changes, nothing cut. One look for all the values of a request.

    A line without `+` is then its only form. NFKC leaves a text as it is exactly when it leaves
    each line alone: a newline never composes or reorders with its neighbours.
    """
    if len(text) > MAX_CHARS or "%" in text or "&" in text or "\\" in text or "\x00" in text:
        return False
    if "*" in text and "/*" in text:
        return False
    return text.isascii() or _nfkc_stable(text)


_LATIN1_COMPATIBILITY = b"\xa0\xa8\xaa\xaf\xb2\xb3\xb4\xb5\xb8\xb9\xba\xbc\xbd\xbe"
"""The only Latin-1 characters NFKC changes (no-break space, spacing accents, ordinals,
superscripts, fractions, micro). Latin-1 holds no combining mark, so nothing else composes."""


def _nfkc_stable(text: str) -> bool:
    """`unicodedata.is_normalized("NFKC", text)`, without its cost for Western European text."""
    try:
        raw = text.encode("latin-1")
    except UnicodeEncodeError:
        return unicodedata.is_normalized("NFKC", text)
    return len(raw.translate(None, _LATIN1_COMPATIBILITY)) == len(raw)


def _add_chain(forms: list[str], start: str) -> str:
    """Append each round's decoding of `start` until a fixed point; return the last form."""
    current = start
    _append(forms, current)
    for _ in range(ROUNDS):
        decoded = decode_once(current)
        if decoded == current:
            break
        _append(forms, decoded)
        current = decoded
    return current


def _append(forms: list[str], form: str) -> None:
    if form not in forms:
        forms.append(form)


def strip_comments(text: str) -> str:
    """The text as a SQL or JavaScript parser reads it: `/*...*/` comments become a space.

    `UNION/**/SELECT` and `document/*x*/.cookie` hide keywords from filters, not from the parser.
    MySQL's `/*!50000 ... */` runs its content, so only its markers are removed.
    """
    return _COMMENT.sub(" ", text)


def decode_once(text: str) -> str:
    """One round of every decoding a web stack might apply, in the order servers apply them."""
    if "%" in text:
        text = percent_decode(text)
    if "&" in text:
        text = html.unescape(text)
    if "\\" in text:
        text = _BACKSLASH.sub(_unescape_backslash, text)
    if "+AD" in text and text.isascii():
        text = _utf7(text)
    if "\x00" in text:
        text = text.replace("\x00", "")
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)[:MAX_CHARS]
    return text


def percent_decode(text: str) -> str:
    """Percent-decoding as a lenient server does it: `%uXXXX`, then bytes, with overlong UTF-8."""
    if "%u" in text or "%U" in text:
        text = _PCT_U.sub(_unescape_pct_u, text)
    raw = unquote_to_bytes(text.encode("utf-8", errors="surrogatepass"))
    if b"\xc0" in raw or b"\xc1" in raw or b"\xe0" in raw:
        raw = _OVERLONG_2.sub(_fold_overlong_2, raw)
        raw = _OVERLONG_3.sub(_fold_overlong_3, raw)
    return raw.decode("utf-8", errors="replace")


def _utf7(text: str) -> str:
    """UTF-7 spells `<` as `+ADw-`; old Internet Explorer sniffed it, so filters read it too."""
    return text.encode("utf-8", errors="surrogatepass").decode("utf-7", errors="replace")


def _unescape_pct_u(match: re.Match[str]) -> str:
    return _safe_chr(int(match.group(1), 16))


def _fold_overlong_2(match: re.Match[bytes]) -> bytes:
    """`%c0%af` is an illegal two-byte spelling of `/` that old decoders accepted."""
    first, second = match.group(0)
    return bytes([((first & 0x1F) << 6) | (second & 0x3F)])


def _fold_overlong_3(match: re.Match[bytes]) -> bytes:
    """`%e0%80%af`: the three-byte overlong spelling of an ASCII character."""
    _, second, third = match.group(0)
    code = ((second & 0x3F) << 6) | (third & 0x3F)
    return bytes([code]) if code < 0x80 else chr(code).encode("utf-8")


def _unescape_backslash(match: re.Match[str]) -> str:
    digits = match.group(1) or match.group(2) or match.group(3)
    return _safe_chr(int(digits, 16))


def _safe_chr(code: int) -> str:
    """A character for a code point, or U+FFFD for surrogates and values past Unicode."""
    if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return "\ufffd"
    return chr(code)

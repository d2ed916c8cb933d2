"""Find the classes that need no field name in free text: plain-text bodies and prose fields.

Every search starts from a literal (the "@" of an e-mail, "eyJ" of a JWT, a key prefix) or runs over
a "shape" of the text, where digits become 9 and capitals A, so that card and IBAN candidates are
literal searches too. Python's regex engine skips quickly to a literal prefix but tries a character
class at every position, so this keeps a scan linear and cheap. Candidates are rationed per scan,
so hostile text cannot make a scan slow.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from apishield.inventory.credentials import KEY_FORMATS, PRIVATE_KEY, is_jwt
from apishield.inventory.personal import is_email, is_international_phone
from apishield.inventory.validators import is_card_number, is_iban

_SHAPE = bytes.maketrans(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", b"9" * 10 + b"A" * 26)
_CARD_SHAPE = re.compile(
    rb"9999(?P<a>[ -])9999(?P=a)9999(?P=a)9999(?:(?P=a)999)?|9999(?P<b>[ -])999999(?P=b)99999?"
)
_IBAN_SHAPE = re.compile(rb"AA99(?:[A9]{11,30}+|(?: [A9]{4}){2,7}+(?: [A9]{1,3})?)")
_JWT = re.compile(r"eyJ(?<![\w-]eyJ)[\w-]{2,8192}+\.[\w-]{2,16384}+\.[\w-]{0,8192}+", re.ASCII)
_PHONE = re.compile(r"\+[1-9][\d ().-]{6,22}", re.ASCII)
_LOCAL_REVERSED = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}")
_DOMAIN = re.compile(r"[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){1,8}")
_WORD_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_CARD_EDGE = frozenset("0123456789-")

MAX_CANDIDATES = 20_000
"""Candidates checked per scan, across all classes."""
MAX_PHONE_CHECKS = 2_000
"""Phone candidates checked per scan; each costs a few microseconds."""


@dataclass(slots=True)
class TextScan:
    hits: list[tuple[int, str]] = field(default_factory=list)
    """(offset, class id) of each value found."""
    complete: bool = True
    """False when a ration ran out and the rest of the text was not looked at."""
    _candidates: int = 0
    _phones: int = 0

    def ration(self, *, phone: bool = False) -> bool:
        self._candidates += 1
        self._phones += phone
        if self._candidates > MAX_CANDIDATES or self._phones > MAX_PHONE_CHECKS:
            self.complete = False
            return False
        return True


def scan_text(text: str) -> TextScan:
    """Hits in offset order, so the caller can map them back to the fields the text came from."""
    scan = TextScan()
    if len(text) < 6:
        return scan
    _emails(text, scan)
    if "eyJ" in text:
        _matches(text, _JWT, is_jwt, "jwt", scan)
    if "-----BEGIN" in text:
        _matches(text, PRIVATE_KEY, _always, "private_key", scan)
    for prefix, pattern in KEY_FORMATS:
        if prefix in text:
            _matches(text, pattern, _always, "api_key", scan)
    if "+" in text:
        _phones(text, scan)
    _shaped(text, scan)
    scan.hits.sort()
    return scan


def _always(_: str) -> bool:
    return True


def _bounded(text: str, start: int, end: int, edge: frozenset[str] = _WORD_CHARS) -> bool:
    """A match must not be the middle of a longer token."""
    return (start == 0 or text[start - 1] not in edge) and (
        end == len(text) or text[end] not in edge
    )


def _matches(
    text: str, pattern: re.Pattern[str], check: Callable[[str], bool], class_id: str, scan: TextScan
) -> None:
    for match in pattern.finditer(text):
        if not scan.ration():
            return
        start, end = match.span()
        if _bounded(text, start, end) and check(match.group()):
            scan.hits.append((start, class_id))


def _emails(text: str, scan: TextScan) -> None:
    at = text.find("@", 1)
    while at > 0:
        if not scan.ration():
            return
        local = _LOCAL_REVERSED.match(text[max(0, at - 64) : at][::-1])
        domain = _DOMAIN.match(text, at + 1)
        if local is not None and domain is not None:
            start = at - len(local.group().lstrip("."))
            candidate = text[start : domain.end()].rstrip(".-")
            if is_email(candidate):
                scan.hits.append((start, "email"))
        at = text.find("@", at + 1)


def _phones(text: str, scan: TextScan) -> None:
    for match in _PHONE.finditer(text):
        start = match.start()
        if start and (text[start - 1] in _WORD_CHARS or text[start - 1] == "+"):
            continue
        candidate = match.group().rstrip(" ().-")
        end = start + len(candidate)
        if end < len(text) and text[end].isdigit():
            continue
        if not scan.ration(phone=True):
            return
        if is_international_phone(candidate):
            scan.hits.append((start, "phone"))


def _card(value: str) -> bool:
    return is_card_number(value, separated_only=True)


_SHAPED: tuple[tuple[re.Pattern[bytes], Callable[[str], bool], str, frozenset[str]], ...] = (
    (_CARD_SHAPE, _card, "payment_card", _CARD_EDGE),
    (_IBAN_SHAPE, is_iban, "iban", _WORD_CHARS),
)


def _shaped(text: str, scan: TextScan) -> None:
    """Cards and IBANs, found as literal runs of 9s and As in the text's shape. ASCII encoding
    with "?" for everything else keeps the shape's offsets equal to the text's."""
    shape = text.encode("ascii", "replace").translate(_SHAPE)
    for pattern, check, class_id, edge in _SHAPED:
        for match in pattern.finditer(shape):
            if not scan.ration():
                return
            start, end = match.span()
            ends = [end]
            if class_id == "payment_card" and end - start == 23:
                ends.append(start + 19)  # 4-4-4-4-3, or 4-4-4-4 and then other digits
            if any(_bounded(text, start, e, edge) and check(text[start:e]) for e in ends):
                scan.hits.append((start, class_id))

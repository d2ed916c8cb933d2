"""Validate a parameter against its documented (or learned) type instead of pattern-matching it.

A value that is a valid integer, UUID, date, phone number or enum member cannot carry an
injection, so it is not scanned; that is how an API's own identifiers stop looking like attacks.
A value that breaks its type is reported as its own finding and scanned as usual.
"""

from __future__ import annotations

import re

from apishield.checks.registry import ParamRule

_INTEGER = re.compile(r"[+-]?\d{1,40}")
_NUMBER = re.compile(r"[+-]?(?:\d{1,40}(?:\.\d{0,40})?|\.\d{1,40})(?:[eE][+-]?\d{1,4})?")
_UUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
_DATE = re.compile(r"\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])")
_DATETIME = re.compile(
    r"\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])[Tt ]"
    r"(?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d{1,9})?)?(?:[Zz]|[+-](?:[01]\d|2[0-3]):?[0-5]\d)?"
)
_PHONE = re.compile(r"\+?\d[\d \-().]{5,22}\d")
_BOOLEAN = frozenset(("true", "false", "0", "1"))

_PATTERNS = {
    "integer": _INTEGER,
    "number": _NUMBER,
    "uuid": _UUID,
    "date": _DATE,
    "date-time": _DATETIME,
    "phone": _PHONE,
}

VALIDATED = frozenset((*_PATTERNS, "boolean", "enum"))
"""The kinds this module can judge; any other kind is scanned like free text."""


def conforms(rule: ParamRule, value: str) -> bool:
    """Whether a decoded value is what the rule says it is.

    A plain date passes as a date-time: APIs document date-time filters and take dates (Twilio
    does), and a date can carry no attack either way.
    """
    kind = rule.kind
    if kind == "enum":
        return value in rule.values
    if kind == "date-time" and _DATE.fullmatch(value):
        return True
    if kind == "boolean":
        return value.lower() in _BOOLEAN
    pattern = _PATTERNS.get(kind)
    return pattern is not None and len(value) <= 64 and pattern.fullmatch(value) is not None

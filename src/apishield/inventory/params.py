"""The type of a parameter value, from cheap character tests: types are kept, values never."""

from __future__ import annotations

import re

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}\Z")
_HEX = frozenset("0123456789abcdefABCDEF")
_PHONE_CHARS = frozenset("0123456789 +-()")
_FLOAT_ALNUM = "0123456789eE"
"""The only ASCII letters and digits a finite `float` spelling that starts with a digit has."""


def value_type(value: str) -> str:
    """One of: integer, number, boolean, uuid, date, date-time, email, phone, hex, string."""
    if not value:
        return "string"
    first = value[0]
    if value.isdigit() and value.isascii():
        return "integer" if len(value) < 16 or first != "0" else "string"
    if first == "-" and value[1:].isdigit():
        return "integer"
    if value in ("true", "false"):
        return "boolean"
    if first == "+" and 8 <= len(value) <= 20 and _PHONE_CHARS.issuperset(value):
        return "phone"
    if first.isdigit() or first in "-.":
        return _numeric_or_date(value)
    if len(value) == 36 and _UUID.match(value):
        return "uuid"
    if "@" in value and _EMAIL.match(value):
        return "email"
    if len(value) >= 16 and _HEX.issuperset(value):
        return "hex"
    return "string"


def _numeric_or_date(value: str) -> str:
    if len(value) == 36 and _UUID.match(value):
        return "uuid"
    if _DATE.match(value):
        return "date"
    if _DATETIME.match(value):
        return "date-time"
    if value.isascii() and value.isalnum() and value.strip(_FLOAT_ALNUM):
        # Letters other than an exponent: `float` would refuse it, and raising is slow.
        return _hex_or_string(value)
    try:
        float(value)
    except ValueError:
        return _hex_or_string(value)
    return "number"


def _hex_or_string(value: str) -> str:
    return "hex" if len(value) >= 16 and _HEX.issuperset(value) else "string"

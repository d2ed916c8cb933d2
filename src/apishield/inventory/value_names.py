"""Names that are values: a JSON map keyed by phone numbers, an e-mail address sent as a
query parameter's name. Such a name is kept by its kind (`{phone}`, `{email}`), never as written,
and the data class it proves is counted as a value's would be.

Most names are words (`first_name`, `createdAt`, `x-request-id`): one `str.strip` over letters
and separators sets them aside. The rest are judged by the checks that find values in bodies,
then by the shapes route learning gives path segments. Short numbers (`200`, `2024`) and short
codes stay as they are: they name nothing personal, and keys such as status codes mean something.
"""

from __future__ import annotations

import re
from string import ascii_letters
from typing import NamedTuple

from apishield.inventory import personal, validators
from apishield.inventory.classify import by_value
from apishield.normalise.segments import (
    IP,
    NATIONAL_PHONE,
    SHORT_HEX,
    SHORT_ID,
    SHORT_TOKEN,
    classify,
)

_WORD_CHARS = ascii_letters + "_-.$[] "
_MIN_TOKEN = 16
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+")
"""Any address with a dotted domain, international ones too: `personal.is_email` takes ASCII."""


class ValueName(NamedTuple):
    shown: str
    """The name as kept: its kind in braces."""
    data_class: str | None
    """The data class the name itself proves, if any."""


_SHOWN_BY_CLASS = {
    "email": "{email}",
    "phone": "{phone}",
    "msisdn": "{phone}",
    "ssn": "{ssn}",
    "payment_card": "{card}",
    "iban": "{iban}",
    "jwt": "{token}",
    "api_key": "{token}",
    "private_key": "{token}",
    "ip_address": "{ip}",
    "iccid": "{id}",
}
_KEPT = frozenset({SHORT_ID, SHORT_HEX, SHORT_TOKEN})
"""Weak kinds that stay as written: short numbers, and short codes that may be words."""


def ordinary(name: str) -> bool:
    """The cheap first look at a name that cannot be a value: letters and separators only (no
    digit, "@" or "+", which every kind of value has but random letters), and shorter than a
    random token."""
    return len(name) < _MIN_TOKEN and not name.strip(_WORD_CHARS)


def value_name(name: str) -> ValueName | None:
    """What a name that is a value is kept as; None for a name that is a name."""
    return None if ordinary(name) else _judge(name)


def _judge(name: str) -> ValueName | None:
    found = by_value(name, True)
    if found is not None:
        return ValueName(_SHOWN_BY_CLASS[found], found)
    kind = classify(name)
    if kind is None and "@" in name and _EMAIL.fullmatch(name):
        return ValueName("{email}", "email")
    if kind is None or kind in _KEPT:
        return None
    if kind is NATIONAL_PHONE:
        # Digits with separators, which `by_value` leaves to the field name around a value.
        found = "ssn" if validators.is_ssn(name) else None
        if found is None and personal.is_national_phone(name):
            found = "phone"
    elif kind is IP and personal.is_ip(name):
        found = "ip_address"
    elif kind.name == "token" and not _random(name):
        return None
    if found is not None:
        return ValueName(_SHOWN_BY_CLASS[found], found)
    return ValueName("{" + kind.name + "}", None)


def _random(name: str) -> bool:
    """A token, not an identifier made of words and numbers (`jwt_hs256_secret_hex`): some part
    between separators reads as random by itself."""
    parts = name.replace("-", "_").replace(".", "_").split("_")
    if len(parts) == 1:
        return True
    return any(len(part) >= 8 and classify(part) is not None for part in parts)

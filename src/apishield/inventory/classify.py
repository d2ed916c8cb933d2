"""One value, with the name of the field it sits under, to at most one data class.

The field name nominates classes and the value must pass their checks; a few classes are
recognised from the value alone because their format cannot be mistaken for something else.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING

from apishield.inventory import credentials, personal, validators

if TYPE_CHECKING:  # fieldnames imports `by_value` (through value_names): an annotation here
    from apishield.inventory.fieldnames import FieldName

DATA_CLASSES: tuple[str, ...] = (
    "email", "phone", "person_name", "date_of_birth", "postal_address", "ssn", "national_id",
    "payment_card", "iban", "account_number", "msisdn", "imsi", "imei", "iccid",
    "jwt", "api_key", "private_key", "password", "ip_address",
)  # fmt: skip
PERSONAL: frozenset[str] = frozenset(DATA_CLASSES[:14])
"""Classes that identify or describe a person. IP addresses are left out: most in API responses
belong to servers, and counting them would make every infrastructure endpoint "personal"."""
SECRETS: frozenset[str] = frozenset({"jwt", "api_key", "private_key", "password"})


def _api_key(value: str) -> bool:
    return credentials.is_known_key(value) or credentials.is_random_secret(value)


def _jwt(value: str) -> bool:
    return credentials.is_jwt(credentials.without_scheme(value))


def _iban(value: str) -> bool:
    return validators.is_iban(value, any_case=True)


CHECKS: dict[str, tuple[str, Callable[[str], bool]]] = {
    "email": ("email", personal.is_email),
    "phone": ("phone", personal.is_national_phone),
    "msisdn": ("msisdn", personal.is_msisdn),
    "imsi": ("imsi", validators.is_imsi),
    "imei": ("imei", validators.is_imei),
    "imeisv": ("imei", validators.is_imeisv),
    "iccid": ("iccid", validators.is_iccid),
    "payment_card": ("payment_card", validators.is_card_number),
    "iban": ("iban", _iban),
    "account_number": ("account_number", validators.is_account_number),
    "ssn": ("ssn", validators.is_ssn),
    "national_id": ("national_id", validators.is_national_id),
    "person_name": ("person_name", personal.is_person_name),
    "postal_address": ("postal_address", personal.is_street),
    "password": ("password", credentials.is_password),
    "jwt": ("jwt", _jwt),
    "api_key": ("api_key", _api_key),
    "ip_address": ("ip_address", personal.is_ip),
}
"""Check name -> (class it finds, check). Dates of birth are checked apart: they need the date."""

_MSISDN_OR_PHONE = ("msisdn", "phone")
"""Checked together by `personal.msisdn_or_phone`, which asks a number's plan once."""
_MAX_VALUE = 16_384
"""Longer strings are documents, not values; the free-text scan looks at them instead."""


def classify(field: FieldName, value: str | int, latest: dt.date | None = None) -> str | None:
    """`latest` is the exchange's date: a date of birth must not be after it."""
    text = value if type(value) is str else str(value)
    if len(text) > _MAX_VALUE:
        return None
    checks = field.checks
    if checks == _MSISDN_OR_PHONE:
        found = personal.msisdn_or_phone(text)
        if found is not None:
            return found
    else:
        for check in checks:
            if check == "date_of_birth":
                if personal.is_birth_date(text, latest=latest):
                    return check
                continue
            class_id, passes = CHECKS[check]
            if passes(text):
                return class_id
    if type(value) is str:
        if text[:1] == "+" and "phone" in checks and "@" not in text:
            return None  # the phone check has asked `is_international_phone` already
        return by_value(text, field.identifier)
    return None


def by_value(value: str, identifier: bool) -> str | None:
    """The classes a value's own format proves, tried from cheapest gate to dearest check."""
    size = len(value)
    if size < 6:
        return None
    first = value[0]
    if "@" in value:
        return "email" if personal.is_email(value) else None
    if first == "+":
        return "phone" if personal.is_international_phone(value) else None
    if first == "e" and credentials.is_jwt(value):
        return "jwt"
    if first == "-" and credentials.is_private_key(value):
        return "private_key"
    if credentials.is_known_key(value):
        return "api_key"
    if "A" <= first <= "Z" and size >= 15 and value[2:4].isdigit() and validators.is_iban(value):
        return "iban"
    if first.isdigit() and size >= 14:
        if size <= 23 and validators.is_card_number(value, separated_only=True):
            return "payment_card"
        if not identifier and value.startswith("89") and validators.is_iccid(value):
            return "iccid"
    return None

"""Value checks for data about a person: e-mail, phone numbers, names, dates of birth, addresses.

Phone numbers are checked against the number plans in `phonenumbers`' metadata.
`phonenumbers.parse` plus `is_valid_number` costs 35-60 µs a number, more than the whole budget for
a customer record, so the digits are matched directly against the same per-type patterns, merged
into one regex per country calling code and compiled once.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re

import phonenumbers

_EMAIL = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)
_PHONE_PUNCTUATION = str.maketrans("", "", " -().\u00a0")
_NUMBER_TYPES = (
    "fixed_line", "mobile", "toll_free", "premium_rate", "shared_cost",
    "personal_number", "voip", "pager", "uan", "voicemail",
)  # fmt: skip
NATIONAL_REGIONS = ("US", "GB", "DE", "FR", "ES", "IT", "NL", "IN", "BR", "AU")
"""Regions whose national formats ("(415) 555-2671", "020 7946 0958") are recognised under a phone
field; numbers from elsewhere are recognised when sent in international form."""

_plans: dict[int, tuple[re.Pattern[str], tuple[str, ...]] | None] = {}
_CALLING_CODES = {str(code): code for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE if code > 0}
"""Calling codes as the digits that start a number, so splitting one off needs no int()."""
_national: list[int] = []

_NAME = re.compile(r"[^\W\d_]+(?:[ '’.,-]+[^\W\d_]+)*\.?")
_NOT_NAMES = frozenset({"unknown", "none", "null", "anonymous", "test", "guest", "user", "n.a."})
_DATE = re.compile(
    r"(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?"
    r"(?:Z|[+-]\d{2}:?\d{2})?)?"
    r"|(?P<y2>\d{4})/(?P<m2>\d{2})/(?P<d2>\d{2})"
    r"|(?P<a>\d{1,2})[/.-](?P<b>\d{1,2})[/.-](?P<y3>\d{4})"
    r"|(?P<y4>\d{4})(?P<m4>\d{2})(?P<d4>\d{2})",
    re.ASCII,
)
_LETTER = re.compile(r"[^\W\d_]")
_DIGIT = re.compile(r"\d")
_IPV4 = re.compile(
    r"(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
)
_IPV6_CHARS = re.compile(r"[0-9A-Fa-f:.]{2,45}")
_EARLIEST_BIRTH = dt.date(1900, 1, 1)
_LATEST_BIRTH = dt.date(2100, 1, 1)


def is_email(value: str) -> bool:
    """RFC 5321 lengths and a dot-atom local part; quoted local parts are too rare to matter."""
    at = value.find("@")
    return 0 < at <= 64 and len(value) <= 254 and _EMAIL.fullmatch(value) is not None


def is_international_phone(value: str) -> bool:
    """A "+" or "00" number whose digits fit its country's numbering plan."""
    if value[:1] == "+" and value[1:].isdigit() and value.isascii():
        return 8 <= len(value) <= 16 and _in_plan(value[1:])  # E.164: nothing to strip
    return _is_international(value.translate(_PHONE_PUNCTUATION))


def _is_international(compact: str) -> bool:
    """`is_international_phone` of a number already stripped of punctuation."""
    if compact.startswith("+"):
        digits = compact[1:]
    elif compact.startswith("00"):
        digits = compact[2:]
    else:
        return False
    return 7 <= len(digits) <= 15 and digits.isascii() and digits.isdigit() and _in_plan(digits)


def is_national_phone(value: str) -> bool:
    """A number without a country code, checked against each of `NATIONAL_REGIONS` in turn."""
    return _is_phone(value.translate(_PHONE_PUNCTUATION))


def _is_phone(digits: str) -> bool:
    """`is_national_phone` of a number already stripped of punctuation."""
    if _is_international(digits):
        return True
    if not 7 <= len(digits) <= 13 or not digits.isascii() or not digits.isdigit():
        return False
    if digits == digits[0] * len(digits):
        return False
    return any(_in_plan_of(code, digits) for code in _national_codes())


def is_msisdn(value: str) -> bool:
    """MSISDNs are international numbers, often written without the "+"."""
    if value.isascii() and value.removeprefix("+").isdigit():
        digits = value.removeprefix("+")
    else:
        digits = value.translate(_PHONE_PUNCTUATION).removeprefix("+")
    return 8 <= len(digits) <= 15 and digits.isascii() and digits.isdigit() and _in_plan(digits)


def msisdn_or_phone(value: str) -> str | None:
    """`is_msisdn`, else `is_national_phone`: "msisdn", "phone" or None. A "+" number that fails
    the first has failed the second too, which would only ask the same numbering plan again."""
    if value.isascii() and value.removeprefix("+").isdigit():
        compact = value  # nothing to strip
    else:
        compact = value.translate(_PHONE_PUNCTUATION)
    digits = compact.removeprefix("+")
    if 8 <= len(digits) <= 15 and digits.isascii() and digits.isdigit():
        if _in_plan(digits):
            return "msisdn"
        if compact[0] == "+":
            return None
    return "phone" if _is_phone(compact) else None


def _in_plan(digits: str) -> bool:
    """Split off the calling code (1-3 digits, prefix-free by ITU design) and check the rest."""
    if digits[0] == "0":
        return False
    codes = _CALLING_CODES
    for size in (1, 2, 3):
        code = codes.get(digits[:size])
        if code is not None:
            return _in_plan_of(code, digits[size:])
    return False


def _in_plan_of(code: int, national: str) -> bool:
    """Like `phonenumbers.parse`, accept a trunk prefix after the country code ("+33 (0)4...")."""
    plan = _plans[code] if code in _plans else _plan(code)
    if plan is None:
        return False
    pattern, trunk_prefixes = plan
    if pattern.fullmatch(national) is not None:
        return True
    for prefix in trunk_prefixes:
        if national.startswith(prefix) and pattern.fullmatch(national[len(prefix) :]) is not None:
            return True
    return False


def _national_codes() -> list[int]:
    """The calling codes of `NATIONAL_REGIONS`, looked up on first use."""
    if not _national:
        for region in NATIONAL_REGIONS:
            metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
            if metadata is not None and metadata.country_code is not None:
                _national.append(metadata.country_code)
    return _national


def _plan(code: int) -> tuple[re.Pattern[str], tuple[str, ...]] | None:
    """Every number-type pattern of every region that shares the calling code, as one regex."""
    branches: list[str] = []
    trunk_prefixes: set[str] = set()
    for region in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(code, ()):
        if region == phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY:
            metadata = phonenumbers.PhoneMetadata.metadata_for_nongeo_region(code)
        else:
            metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
        if metadata is None:
            continue
        if metadata.national_prefix:
            trunk_prefixes.add(metadata.national_prefix)
        for number_type in _NUMBER_TYPES:
            desc = getattr(metadata, number_type)
            if desc is not None and desc.national_number_pattern:
                branches.append(desc.national_number_pattern)
    plan = None
    if branches:
        pattern = re.compile("|".join(f"(?:{b})" for b in branches))
        plan = (pattern, tuple(sorted(trunk_prefixes)))
    _plans[code] = plan
    return plan


def is_person_name(value: str) -> bool:
    """Up to six words of letters with the separators names use, and not a placeholder."""
    if not 2 <= len(value) <= 100 or value.count(" ") > 5 or _NAME.fullmatch(value) is None:
        return False
    return value.lower() not in _NOT_NAMES


def is_birth_date(value: str, *, latest: dt.date | None = None) -> bool:
    """A real calendar date between 1900 and `latest` (the exchange's date, when known)."""
    upper = latest or _LATEST_BIRTH
    if len(value) == 10 and value[4] == "-":
        try:
            return _EARLIEST_BIRTH <= dt.date.fromisoformat(value) <= upper
        except ValueError:
            return False
    match = _DATE.fullmatch(value)
    if match is None:
        return False
    group = match.groupdict()
    if group["y"] is not None:
        candidates = [(group["y"], group["m"], group["d"])]
    elif group["y2"] is not None:
        candidates = [(group["y2"], group["m2"], group["d2"])]
    elif group["y3"] is not None:
        # Day-first and month-first both occur; either reading that is a real date will do.
        candidates = [(group["y3"], group["b"], group["a"]), (group["y3"], group["a"], group["b"])]
    else:
        candidates = [(group["y4"], group["m4"], group["d4"])]
    return any(_date_between(y, m, d, upper) for y, m, d in candidates)


def _date_between(year: str, month: str, day: str, latest: dt.date) -> bool:
    try:
        date = dt.date(int(year), int(month), int(day))
    except ValueError:
        return False
    return _EARLIEST_BIRTH <= date <= latest


def is_street(value: str) -> bool:
    """A street line: words with letters, not an e-mail, URL or network address."""
    if not 4 <= len(value) <= 200 or not 1 <= value.count(" ") <= 20:
        return False
    return _LETTER.search(value) is not None and "@" not in value and "://" not in value


def is_postcode(value: str) -> bool:
    compact = value.replace(" ", "").replace("-", "")
    return 3 <= len(compact) <= 10 and compact.isalnum() and _DIGIT.search(compact) is not None


def is_place(value: str) -> bool:
    """A city or town: a short run of words without digits."""
    return (
        2 <= len(value) <= 60 and _DIGIT.search(value) is None and _LETTER.search(value) is not None
    )


def is_ip(value: str) -> bool:
    """IPv4 by pattern; only strings that could be IPv6 pay for `ipaddress`."""
    if _IPV4.fullmatch(value) is not None:
        return True
    if ":" not in value or _IPV6_CHARS.fullmatch(value) is None:
        return False
    try:
        ipaddress.IPv6Address(value)
    except ValueError:
        return False
    return True

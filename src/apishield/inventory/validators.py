"""Check digits and number plans for identifiers, so a long number is only called a card, an IBAN or
an IMEI when it could really be one."""

from __future__ import annotations

import re

_DOUBLED = bytes.maketrans(b"0123456789", b"0246813579")
"""Each digit's doubled digit sum, as a byte translation so Luhn runs in C."""

_CARD_SEPARATED = re.compile(
    r"\d{4}(?P<a>[ -])\d{4}(?P=a)\d{4}(?P=a)\d{4}(?:(?P=a)\d{3})?"  # 4-4-4-4 and 4-4-4-4-3
    r"|\d{4}(?P<b>[ -])\d{6}(?P=b)\d{4,5}",  # Amex 4-6-5, Diners 4-6-4
    re.ASCII,
)
_NUMBER_SEPARATORS = str.maketrans("", "", " -")

# (lowest prefix, highest prefix, lengths) per issuer; same-length prefixes compare as strings.
_SHORT_TO_LONG = tuple(range(12, 20))
_SIXTEEN_UP = (16, 17, 18, 19)
_ISSUER_RANGES: tuple[tuple[str, str, tuple[int, ...]], ...] = (
    ("4", "4", (13, 16, 19)),  # Visa
    ("51", "55", (16,)),  # Mastercard
    ("2221", "2720", (16,)),  # Mastercard 2-series
    ("34", "34", (15,)),  # American Express
    ("37", "37", (15,)),
    ("6011", "6011", _SIXTEEN_UP),  # Discover
    ("644", "649", _SIXTEEN_UP),
    ("65", "65", _SIXTEEN_UP),
    ("300", "305", (14, *_SIXTEEN_UP)),  # Diners Club
    ("36", "36", (14, *_SIXTEEN_UP)),
    ("38", "39", (14, *_SIXTEEN_UP)),
    ("3528", "3589", _SIXTEEN_UP),  # JCB
    ("62", "62", _SIXTEEN_UP),  # UnionPay
    ("2200", "2204", _SIXTEEN_UP),  # Mir
    ("50", "50", _SHORT_TO_LONG),  # Maestro
    ("56", "58", _SHORT_TO_LONG),
    ("639", "639", _SHORT_TO_LONG),
    ("67", "67", _SHORT_TO_LONG),
    ("60", "60", (16,)),  # RuPay
    ("81", "82", (16,)),
    ("9792", "9792", (16,)),  # Troy
)

_IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27,
    "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27,
    "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22,
    "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32,
    "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19,
    "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24,
    "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24, "SC": 31,
    "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28, "TL": 23,
    "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}  # fmt: skip
_IBAN_DIGITS = {ord(c): str(i) for i, c in enumerate("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")}
_IBAN_SHAPE = re.compile(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}", re.ASCII)

# Mobile country codes are allocated by region in these blocks; 001 and 999 are test networks.
_MCC_BLOCKS = ((202, 299), (302, 376), (401, 489), (502, 553), (602, 659), (702, 750), (901, 901))

_SSN = re.compile(r"(\d{3})([- ]?)(\d{2})\2(\d{4})", re.ASCII)
_SSN_RETIRED = frozenset({"078051120", "219099999", "123456789"})
"""Published in advertising or wallet inserts, then voided by the SSA: never a real person's."""

_NINO = re.compile(r"(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]\d{6}[A-D]")
_DNI = re.compile(r"([XYZ]?)(\d{7,8})([A-Z])")
_DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"
_VERHOEFF_D = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 2, 3, 4, 0, 6, 7, 8, 9, 5),
    (2, 3, 4, 0, 1, 7, 8, 9, 5, 6), (3, 4, 0, 1, 2, 8, 9, 5, 6, 7),
    (4, 0, 1, 2, 3, 9, 5, 6, 7, 8), (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2), (7, 6, 5, 9, 8, 2, 1, 0, 4, 3),
    (8, 7, 6, 5, 9, 3, 2, 1, 0, 4), (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)  # fmt: skip
_VERHOEFF_P = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 5, 7, 6, 2, 8, 3, 0, 9, 4),
    (5, 8, 0, 3, 7, 9, 6, 1, 4, 2), (8, 9, 1, 6, 0, 4, 3, 5, 2, 7),
    (9, 4, 5, 3, 1, 2, 6, 8, 7, 0), (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5), (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
)  # fmt: skip


def luhn(digits: str) -> bool:
    """The mod-10 check shared by cards, IMEIs, ICCIDs and Canadian SINs; ASCII digits only."""
    kept = sum(digits[-1::-2].encode())
    doubled = sum(digits[-2::-2].encode().translate(_DOUBLED))
    return (kept + doubled - 48 * len(digits)) % 10 == 0


def _repeated(digits: str) -> bool:
    """All-zero and one-digit fillers pass Luhn; no issuer hands them out."""
    return digits == digits[0] * len(digits)


def is_card_number(value: str, *, separated_only: bool = False) -> bool:
    """A PAN must pass Luhn and start inside an issuer range with that range's length.

    Without a card-like field name only the printed form (groups split by spaces or dashes) counts,
    since bare 16-digit Luhn-valid numbers are common as order and tracking numbers.
    """
    if separated_only or not value.isdigit():
        if _CARD_SEPARATED.fullmatch(value) is None:
            return False
        value = value.translate(_NUMBER_SEPARATORS)
    length = len(value)
    if not 12 <= length <= 19 or not value.isascii() or _repeated(value):
        return False
    for low, high, lengths in _ISSUER_RANGES:
        prefix = value[: len(low)]
        if low <= prefix <= high and length in lengths:
            return luhn(value)
    return False


def is_iban(value: str, *, any_case: bool = False) -> bool:
    """Country length and the ISO 13616 mod-97 check: random strings pass it one time in 97."""
    compact = value.replace(" ", "")
    if any_case:
        compact = compact.upper()
    if _IBAN_SHAPE.fullmatch(compact) is None or _IBAN_LENGTHS.get(compact[:2]) != len(compact):
        return False
    rearranged = (compact[4:] + compact[:4]).translate(_IBAN_DIGITS)
    return int(rearranged) % 97 == 1


def _digits(value: str, lengths: range) -> str | None:
    if len(value) < lengths.start:
        return None  # stripping separators only shortens it
    compact = value if value.isdigit() else value.translate(_NUMBER_SEPARATORS)
    if len(compact) in lengths and compact.isascii() and compact.isdigit():
        return compact
    return None


def is_imei(value: str) -> bool:
    digits = _digits(value, range(15, 16))
    return digits is not None and not _repeated(digits) and luhn(digits)


def is_imeisv(value: str) -> bool:
    """IMEISV replaces the check digit with a two-digit software version, so it has no check."""
    digits = _digits(value, range(16, 17))
    return digits is not None and not _repeated(digits) and digits[14:] != "99"


def is_imsi(value: str) -> bool:
    """15 digits whose first three are an allocated mobile country code."""
    digits = _digits(value, range(15, 16))
    if digits is None:
        return False
    mcc = int(digits[:3])
    return any(low <= mcc <= high for low, high in _MCC_BLOCKS)


def is_iccid(value: str) -> bool:
    """SIM serials: the telecom industry prefix 89, 19 or 20 digits, Luhn-valid."""
    digits = _digits(value, range(19, 21))
    return digits is not None and digits.startswith("89") and luhn(digits)


def is_ssn(value: str) -> bool:
    """SSA rules: no area 000, 666 or 900-999, no group 00, no serial 0000."""
    match = _SSN.fullmatch(value)
    if match is None:
        return False
    area, _, group, serial = match.groups()
    if area in ("000", "666") or area[0] == "9" or group == "00" or serial == "0000":
        return False
    return area + group + serial not in _SSN_RETIRED


def is_national_id(value: str) -> bool:
    """National IDs with a public check rule: UK NINO, Spanish DNI/NIE, Dutch BSN, Canadian SIN
    and Indian Aadhaar. Only asked under an ID-like field name, so the rules are tried in turn."""
    compact = value.translate(_NUMBER_SEPARATORS).upper()
    if not compact.isascii():
        return False
    if compact.isdigit():
        if _repeated(compact):
            return False
        if len(compact) == 9:
            return _is_bsn(compact) or (compact[0] not in "08" and luhn(compact))
        return len(compact) == 12 and compact[0] not in "01" and _verhoeff(compact)
    return _NINO.fullmatch(compact) is not None or _is_dni(compact)


def _is_bsn(digits: str) -> bool:
    """The Dutch "elfproef": weights 9..2 and -1, the sum divisible by 11."""
    total = sum((9 - i) * (ord(c) - 48) for i, c in enumerate(digits[:8])) - (ord(digits[8]) - 48)
    return total % 11 == 0


def _is_dni(value: str) -> bool:
    match = _DNI.fullmatch(value)
    if match is None:
        return False
    prefix, number, letter = match.groups()
    if prefix:
        if len(number) != 7:
            return False
        number = str("XYZ".index(prefix)) + number
    elif len(number) != 8:
        return False
    return _DNI_LETTERS[int(number) % 23] == letter


def _verhoeff(digits: str) -> bool:
    check = 0
    for i, c in enumerate(reversed(digits)):
        check = _VERHOEFF_D[check][_VERHOEFF_P[i % 8][ord(c) - 48]]
    return check == 0


def is_account_number(value: str) -> bool:
    """Bank and billing account numbers have no public check digit: a mostly-numeric 6-24 char
    code is all that can be asked for, which is why this only runs under account-like names."""
    compact = value if value.isalnum() else value.translate(_NUMBER_SEPARATORS)
    if not 6 <= len(compact) <= 24 or not compact.isascii() or not compact.isalnum():
        return False
    digits = sum(map(str.isdigit, compact))
    return digits >= 6 and digits * 10 >= len(compact) * 6 and not _repeated(compact)

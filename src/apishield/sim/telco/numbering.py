"""The demo telco's numbers: phone numbers, SIM serials and subscriber identities, all invented.

Phone numbers are US numbers in the 555-0100..0199 block of every area code that libphonenumber
knows as a single-time-zone US code (sim/data/area-codes.tsv): NANPA reserves that block for
fiction, yet the numbers still pass `phonenumbers.is_valid_number` and apishield's own phone and
MSISDN checks, so the simulated traffic exercises the same data-class detection as real numbers.
That gives 35,300 numbers; the population uses a fraction of them, so most numbers an enumerator
tries are not subscribers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from importlib import resources

BLOCK = range(100, 200)
"""Line numbers 555-0100..0199 in each area code."""
MCC_MNC = "310999"
"""IMSI prefix: mobile country code 310 (US) and a network code no operator holds."""
ICCID_PREFIX = "8901999"
"""ICCID: industry 89, country 01, an issuer code no operator holds."""
_STANDARD_OFFSET = {
    "America/New_York": -5,
    "America/Chicago": -6,
    "America/Denver": -7,
    "America/Phoenix": -7,
    "America/Los_Angeles": -8,
    "Pacific/Honolulu": -10,
}
_NO_DST = frozenset({"America/Phoenix", "Pacific/Honolulu"})


@dataclass(frozen=True, slots=True)
class AreaCode:
    npa: str
    time_zone: str
    state: str
    city: str
    """"" where the code covers a whole state or region."""


def area_codes() -> tuple[AreaCode, ...]:
    """The table, read once per call: callers keep what they need."""
    text = resources.files("apishield.sim").joinpath("data/area-codes.tsv").read_text("utf-8")
    rows = (line.split("\t") for line in text.splitlines() if line and not line.startswith("#"))
    return tuple(AreaCode(npa, zone, state, city) for npa, zone, state, city in rows)


def msisdn(npa: str, line: int) -> str:
    """E.164 form, as the API writes it: +1 NPA 555 01xx."""
    return f"+1{npa}55501{line - 100:02d}"


def all_numbers(codes: tuple[AreaCode, ...]) -> list[str]:
    return [msisdn(code.npa, line) for code in codes for line in BLOCK]


def imsi(serial: int) -> str:
    return f"{MCC_MNC}{serial:09d}"


def iccid(serial: int) -> str:
    """20 digits, Luhn-complete, as printed on the SIM."""
    return luhn_complete(f"{ICCID_PREFIX}{serial:012d}")


def luhn_complete(digits: str) -> str:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return digits + str((10 - total % 10) % 10)


def is_luhn(digits: str) -> bool:
    return digits.isdigit() and luhn_complete(digits[:-1]) == digits


def utc_offset_hours(time_zone: str, day: dt.date) -> int:
    """US rules since 2007: daylight time from the second Sunday of March to the first Sunday
    of November. Computed here so the simulator needs no tz database on the machine."""
    offset = _STANDARD_OFFSET[time_zone]
    if time_zone in _NO_DST:
        return offset
    start = _nth_sunday(day.year, 3, 2)
    end = _nth_sunday(day.year, 11, 1)
    return offset + 1 if start <= day < end else offset


def _nth_sunday(year: int, month: int, nth: int) -> dt.date:
    first = dt.date(year, month, 1)
    return first + dt.timedelta(days=(6 - first.weekday()) % 7 + 7 * (nth - 1))

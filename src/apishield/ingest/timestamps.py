"""Event time from the spellings logs use, as UTC epoch seconds.

Replay must use the time an event happened, never the wall clock, and logs write that time in a
handful of ways. Parsing a date is slow next to the rest of a line, but a busy log repeats the same
second thousands of times, so text timestamps are cached. A second not seen before is read by
position when it has one of the two shapes nearly every log uses (ISO 8601 and nginx
`$time_local`), with the midnight of its date cached; any other shape goes to the general parser,
which gives the same value for those two.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import Any

_MONTHS = {
    name: number
    for number, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}
_TIME_LOCAL = re.compile(
    r"(\d{1,2})/([A-Z][a-z]{2})/(\d{4}):(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))? ?([+-])(\d{2}):?(\d{2})"
)


LAST = 4_102_444_800.0
"""2100-01-01 UTC. An event time from 1970 up to this is believed; a later one (a year typed
as 9999, milliseconds read as seconds) is a bad time: every report must be able to print it."""


def in_range(seconds: float) -> float:
    """`seconds` if it is an event time a log can hold, else ValueError (a counted skip)."""
    if not 0 <= seconds < LAST:
        raise ValueError(f"{seconds!r} is not a time between 1970 and 2100")
    return seconds


def epoch_seconds(value: float) -> float:
    """Seconds from a number that may be seconds, milliseconds, microseconds or nanoseconds.

    The unit is told by magnitude: 1e11 seconds is the year 5138, while 1e11 milliseconds is 1973,
    so no real log is ambiguous.
    """
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{value!r} is not a time")
    if value < 1e11:
        return in_range(float(value))
    if value < 1e14:
        return in_range(value / 1e3)
    if value < 1e17:
        return in_range(value / 1e6)
    return in_range(value / 1e9)


def epoch_text(text: str) -> float:
    """Epoch seconds written as text, like nginx `$msec` ("1700000000.123"); never cached."""
    return epoch_seconds(float(text))


def parse_timestamp(text: str) -> float:
    """Any of: ISO 8601 (Z, offset, or none meaning UTC), nginx `$time_local`, epoch, RFC 1123.

    An ISO time with a fraction ("…T22:13:20.123Z", as Envoy writes it) differs on every line,
    so the whole second is what is cached and the fraction is added to it.
    """
    if type(text) is not str:
        raise TypeError(f"{text!r} is not text")
    if len(text) > 20 and text[19] == "." and text[10] in "T ":
        rest = text[20:]
        zone = rest.lstrip("0123456789")
        digits = rest[: len(rest) - len(zone)]
        if digits:
            return in_range(_whole_seconds(text[:19] + zone) + float("0." + digits))
    return in_range(_whole_seconds(text))


@lru_cache(maxsize=512)
def _whole_seconds(text: str) -> float:
    value = text.strip()
    if value.startswith("[") and value.endswith("]"):
        value = value[1:-1]
    if not value:
        raise ValueError("empty time")
    if len(value) > 64:
        raise ValueError(f"{value[:64]!r}… is not a time")
    seconds = fixed_shape_seconds(value)
    if seconds is not None:
        return seconds
    try:
        return _any_spelling(value)
    except OverflowError as exc:
        raise ValueError(f"{value!r} is out of range for a time") from exc


def fixed_shape_seconds(value: str) -> float | None:
    """Seconds of "2023-11-14T22:13:20" (or a space for "T") with "Z", "+01:00" or no zone, or
    of "14/Nov/2023:22:13:20 +0000"; None for any other shape, a date that does not exist, or a
    field out of range, all of which the general parser decides.
    """
    size = len(value)
    if size == 26 and value[2] == "/":
        return _time_local_fixed(value)
    if size in (19, 20, 25) and value[10] in "T ":
        return _iso_fixed(value)
    return None


def _time_local_fixed(value: str) -> float | None:
    midnight = _midnight(value[:11])
    clock = _clock(value, 12)
    offset = value[22:26]
    if (
        midnight is None
        or clock is None
        or value[11] != ":"
        or value[20] != " "
        or value[21] not in "+-"
        or not (offset.isdigit() and offset.isascii())
    ):
        return None
    shift = int(offset[:2]) * 3600 + int(offset[2:]) * 60
    return float(midnight + clock - shift if value[21] == "+" else midnight + clock + shift)


def _iso_fixed(value: str) -> float | None:
    midnight = _midnight(value[:10])
    clock = _clock(value, 11)
    if midnight is None or clock is None:
        return None
    if len(value) == 19:
        return float(midnight + clock)
    if len(value) == 20:
        return float(midnight + clock) if value[19] == "Z" else None
    shift = _iso_offset(value[19:])
    return None if shift is None else float(midnight + clock - shift)


_MIDNIGHTS: dict[str, int | None] = {}
"""Date text ("2023-11-14" or "14/Nov/2023") to the epoch seconds of its midnight, None when it
is no date; a log spans few dates, so this stays small, and it is emptied when it does not."""
_MAX_MIDNIGHTS = 4096
_EPOCH_DAY = date(1970, 1, 1).toordinal()


def _midnight(text: str) -> int | None:
    if text in _MIDNIGHTS:
        return _MIDNIGHTS[text]
    if len(_MIDNIGHTS) >= _MAX_MIDNIGHTS:
        _MIDNIGHTS.clear()
    midnight = _MIDNIGHTS[text] = _read_date(text)
    return midnight


def _read_date(text: str) -> int | None:
    if text[4:5] == "-" == text[7:8]:
        year, month, day = text[:4], text[5:7], text[8:10]
    elif text[2:3] == "/" == text[6:7] and text[3:6] in _MONTHS:
        year, month, day = text[7:11], f"{_MONTHS[text[3:6]]:02d}", text[:2]
    else:
        return None
    digits = year + month + day
    # Years 1 and 9999 are left to the general parser, which finds where a zone takes them out
    # of range.
    if (
        len(digits) != 8
        or not (digits.isdigit() and digits.isascii())
        or year in ("0000", "0001", "9999")
    ):
        return None
    try:
        return (date(int(year), int(month), int(day)).toordinal() - _EPOCH_DAY) * 86400
    except ValueError:
        return None


def _clock(value: str, start: int) -> int | None:
    """Seconds into the day of "HH:MM:SS" at `start`, or None."""
    if value[start + 2] != ":" or value[start + 5] != ":":
        return None
    digits = value[start : start + 2] + value[start + 3 : start + 5] + value[start + 6 : start + 8]
    if not (digits.isdigit() and digits.isascii()):
        return None
    hour, minute, second = int(digits[:2]), int(digits[2:4]), int(digits[4:])
    if hour > 23 or minute > 59 or second > 59:
        return None
    return hour * 3600 + minute * 60 + second


def _iso_offset(zone: str) -> int | None:
    """Seconds east of UTC of "+HH:MM" or "-HH:MM", or None."""
    digits = zone[1:3] + zone[4:6]
    if zone[0] not in "+-" or zone[3] != ":" or not (digits.isdigit() and digits.isascii()):
        return None
    hours, minutes = int(digits[:2]), int(digits[2:])
    if hours > 23 or minutes > 59:
        return None
    shift = hours * 3600 + minutes * 60
    return shift if zone[0] == "+" else -shift


def _any_spelling(value: str) -> float:
    if value[0].isdigit() and value[1:3].find("/") >= 0:
        return _time_local(value)
    try:
        return epoch_text(value)
    except ValueError:
        pass
    try:
        return _iso(value)
    except ValueError:
        return _rfc1123(value)


def event_time(value: object) -> float:
    """Epoch seconds from a decoded JSON value, whichever way the log wrote it."""
    if type(value) is str:
        return parse_timestamp(value)
    if type(value) is int or type(value) is float:
        return epoch_seconds(value)
    raise ValueError(f"{value!r} is not a time")


def time_reader(sample: object) -> Callable[[Any], float]:
    """A fast reader for time values shaped like `sample`, for the hot loop.

    For a value of another shape it may raise TypeError or ValueError, or return a number outside
    [0, LAST); the caller then falls back to `event_time`, which reads every shape. nginx `$msec`
    differs on every line, so it is read with plain `float` and never cached.
    """
    if type(sample) is str:
        try:
            seconds = float(sample)
        except ValueError:
            return parse_timestamp
        if 0 <= seconds < LAST:
            return float
    return event_time


def _time_local(value: str) -> float:
    match = _TIME_LOCAL.fullmatch(value)
    if match is None or match[2] not in _MONTHS:
        raise ValueError(f"{value!r} is not an nginx time_local such as 10/Oct/2000:13:55:36 -0700")
    day, month, year, hour, minute, second, fraction, sign, off_h, off_m = match.groups()
    moment = datetime(
        int(year), _MONTHS[month], int(day), int(hour), int(minute), int(second), tzinfo=UTC
    ).timestamp()
    offset = int(off_h) * 3600 + int(off_m) * 60
    moment += float(f"0.{fraction}") if fraction else 0.0
    return moment - offset if sign == "+" else moment + offset


def _iso(value: str) -> float:
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _rfc1123(value: str) -> float:
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError) as exc:
        raise ValueError(
            f"{value!r} is not a time: expected ISO 8601, epoch seconds or milliseconds, "
            "nginx time_local or RFC 1123"
        ) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()

"""Event time from the spellings logs use, as UTC epoch seconds.

Replay must use the time an event happened, never the wall clock, and logs write that time in a
handful of ways. Parsing a date is slow next to the rest of a line, but a busy log repeats the same
second thousands of times, so text timestamps are cached.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import UTC, datetime
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


def epoch_seconds(value: float) -> float:
    """Seconds from a number that may be seconds, milliseconds, microseconds or nanoseconds.

    The unit is told by magnitude: 1e11 seconds is the year 5138, while 1e11 milliseconds is 1973,
    so no real log is ambiguous.
    """
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{value!r} is not a time")
    if value < 1e11:
        return float(value)
    if value < 1e14:
        return value / 1e3
    if value < 1e17:
        return value / 1e6
    return value / 1e9


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
            return _whole_seconds(text[:19] + zone) + float("0." + digits)
    return _whole_seconds(text)


@lru_cache(maxsize=512)
def _whole_seconds(text: str) -> float:
    value = text.strip()
    if value.startswith("[") and value.endswith("]"):
        value = value[1:-1]
    if not value:
        raise ValueError("empty time")
    if len(value) > 64:
        raise ValueError(f"{value[:64]!r}… is not a time")
    try:
        return _any_spelling(value)
    except OverflowError as exc:
        raise ValueError(f"{value!r} is out of range for a time") from exc


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
    [0, 1e11); the caller then falls back to `event_time`, which reads every shape. nginx `$msec`
    differs on every line, so it is read with plain `float` and never cached.
    """
    if type(sample) is str:
        try:
            seconds = float(sample)
        except ValueError:
            return parse_timestamp
        if 0 <= seconds < 1e11:
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

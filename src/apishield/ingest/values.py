"""How logs spell statuses, byte counts, durations, bodies and peer addresses.

Shared by every log reader, and forgiving in the same way everywhere: "-", "" and null mean "not
logged", and a value of the wrong kind is absent rather than an error, except a status, which
decides whether there was a response at all.
"""

from __future__ import annotations

from apishield.exchange import Headers
from apishield.ingest.stats import Skip, shown


def status_code(value: object) -> int | None:
    """The status, or None where the source says there was no response (0, "-", empty)."""
    if value is None or value in ("-", ""):
        return None
    if type(value) is int:
        status = value
    elif type(value) is str and value.isdecimal():
        status = int(value)
    else:
        raise Skip("bad status", shown(value))
    if status == 0:
        return None
    if not 100 <= status <= 999:
        raise Skip("bad status", shown(value))
    return status


def count(value: object) -> int | None:
    """A byte count, or None for "-", null or anything that is not a whole non-negative number."""
    if type(value) is int:
        return value if value >= 0 else None
    if type(value) is str and value.isdecimal():
        return int(value)
    return None


def duration(value: object) -> float | None:
    """Seconds (or ms) as logged; nginx lists one time per upstream tried ("0.010, 0.004")."""
    if type(value) is str:
        try:
            seconds = float(value)
        except ValueError:
            seconds = _sum_of_times(value)
    elif type(value) is float or type(value) is int:
        seconds = float(value)
    else:
        return None
    return seconds if 0 <= seconds < 1e9 else None


def _sum_of_times(value: str) -> float:
    try:
        return sum(float(part) for part in value.replace(":", ",").split(",") if part.strip())
    except ValueError:
        return -1.0


def capped(value: object, cap: int) -> tuple[bytes | None, int | None]:
    """A logged body as bytes, cut to `cap`, with the size it had before the cut."""
    if type(value) is not str or value == "-":
        return None, None
    body = value.encode("utf-8", "replace")
    return body[:cap], len(body)


def without_port(address: str) -> str:
    """The IP of "ip:port", "[v6]:port", or a bare address (IPv6 has colons of its own)."""
    if address.startswith("["):
        return address[1:].partition("]")[0]
    if address.count(":") == 1:
        return address.partition(":")[0]
    return address


def add_headers(headers: Headers, logged: object) -> None:
    """Merge a logged header object; repeated headers logged as lists are joined with ", "."""
    if type(logged) is not dict:
        return
    for name, logged_value in logged.items():
        value = logged_value
        if type(value) is list:
            value = ", ".join(str(part) for part in value)
        if type(value) is str and value:
            headers[str(name).lower()] = value

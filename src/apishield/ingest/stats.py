"""How a read went: what it produced, what it skipped and why; the error for an unreadable file."""

from __future__ import annotations

import string
from collections import Counter
from dataclasses import dataclass, field

MAX_ERRORS = 100
"""Errors kept with their line numbers; a log with a million bad lines still counts every one."""


class IngestError(Exception):
    """The whole input cannot be read (cannot open, unknown format, format not detectable).

    The message names the bad value and the fix. A bad line is never an `IngestError`: it is counted
    in `IngestStats` and reading goes on.
    """


@dataclass(slots=True, frozen=True)
class LineError:
    source: str
    line: int
    """1-based line number; for HAR, the 1-based entry index."""
    reason: str


@dataclass(slots=True)
class IngestStats:
    """Counts for one or more reads, so a caller can tell a quiet log from a misread one.

    `lines` counts the non-blank lines read (HAR: entries), and every one of them is either an event
    or skipped, so `lines == events + skipped` once a read is finished. An event may still have had
    a part that could not be read (a body that is not base64): it is analysed without that part,
    and the part is counted in `partial`, so an operator knows what the analysis did not see.
    """

    lines: int = 0
    events: int = 0
    skipped: int = 0
    errors: list[LineError] = field(default_factory=list)
    """The first `MAX_ERRORS` lines skipped or read in part, with the detail of what was wrong."""
    skipped_by_reason: Counter[str] = field(default_factory=Counter)
    """Short reasons such as "not JSON" or "bad status", without the detail, so they aggregate."""
    partial: int = 0
    """Parts of events left out because they could not be read; the events were analysed."""
    partial_by_reason: Counter[str] = field(default_factory=Counter)
    """The part and why, such as "bad field response.content.text", without the detail."""

    def skip(self, source: str, line: int, reason: str, detail: str = "") -> None:
        self.skipped += 1
        self.skipped_by_reason[reason] += 1
        self._error(source, line, reason, detail)

    def left_out(self, source: str, line: int, reason: str, detail: str = "") -> None:
        """One unreadable part of an event that is still analysed without it."""
        self.partial += 1
        self.partial_by_reason[reason] += 1
        self._error(source, line, reason, detail)

    def _error(self, source: str, line: int, reason: str, detail: str) -> None:
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(LineError(source, line, f"{reason}: {detail}" if detail else reason))


class Skip(Exception):  # noqa: N818 - a control-flow signal for one line, not an error of the read
    """Raised by a parser for one line or entry; the reader counts it and carries on."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


def number(value: object) -> float | None:
    """A finite, non-negative JSON number (not a bool), or None."""
    if (type(value) is int or type(value) is float) and 0 <= value < 1e15:
        return float(value)
    return None


def shown(value: object, limit: int = 80) -> str:
    """A skipped value as error details keep it: its shape, bounded. Letters become `a` or `A`
    and digits `9`, the rest stays, so `jane doe [31/Feb/2024` reads `aaaa aaa [99/Aaa/9999`:
    enough to see why a line did not parse, and no client address, user or query of a log
    line reaches the database or a report (where `hash_ips` could not reach it). Hostile lines
    may carry megabytes in one value, hence the bound."""
    if value is None or type(value) in (bool, int, float):
        text = repr(value)  # a status, size or time out of range: the number is the reason
    elif isinstance(value, bytes):
        text = repr(_shape(value[:limit].decode("utf-8", "replace")))
    elif isinstance(value, str):
        text = repr(_shape(value[:limit]))
    else:
        text = _shape(repr(value))
    return text if len(text) <= limit else f"{text[:limit]}…"


def shown_time(value: object) -> str:
    """A time that did not read, as it is: a log's own clock, never a client's data, and its
    digits are what was wrong with it."""
    return quoted(value) if isinstance(value, str) else shown(value)


def quoted(value: str | bytes, limit: int = 80) -> str:
    """A bounded repr as it is, for a message printed to whoever runs the command and kept
    nowhere: "cannot tell the format from its first line ..." must show that line."""
    text = repr(value[:limit])
    return text if len(text) <= limit else f"{text[:limit]}…"


def _shape(text: str) -> str:
    if text.isascii():
        return text.translate(_SHAPE)
    return "".join(
        ("A" if c.isupper() else "a") if c.isalpha() else "9" if c.isdigit() else c for c in text
    )


_SHAPE = str.maketrans(
    string.ascii_lowercase + string.ascii_uppercase + string.digits,
    "a" * 26 + "A" * 26 + "9" * 10,
)

"""The one shape every log format module fits, so a new source is one module and a replay test."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from apishield.exchange import Exchange
from apishield.ingest.stats import IngestStats
from apishield.ingest.stream import LogStream


@dataclass(slots=True, frozen=True)
class ParseOptions:
    name: str
    """Shown in `Exchange.source` and in errors, e.g. "access.log"."""
    max_body_bytes: int = 1_048_576
    field_map: Mapping[str, Sequence[str]] = field(default_factory=dict)


class LineParser(Protocol):
    """Turns one line into an exchange, or raises `Skip` with the reason.

    The line is as read, still ending in "\n" or "\r\n" (except perhaps the last): stripping it
    would cost a copy per line, and JSON and the combined-format pattern both allow it.
    """

    def __call__(self, line: bytes, line_no: int, /) -> Exchange: ...


class Reader(Protocol):
    """Reads a whole stream. Line formats get this from `lines_of`; HAR implements it directly."""

    def __call__(
        self, stream: LogStream, options: ParseOptions, stats: IngestStats, /
    ) -> Iterator[Exchange]: ...

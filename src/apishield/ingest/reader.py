"""`read_exchanges`: any supported log, from a file or stdin, compressed or not, as exchanges."""

from __future__ import annotations

import difflib
import logging
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from types import MethodType

from apishield.config import FORMATS
from apishield.exchange import Exchange
from apishield.ingest.base import LineParser, ParseOptions, Reader
from apishield.ingest.detect import detect_format
from apishield.ingest.envoy import envoy_parser
from apishield.ingest.fieldmap import merge_fields
from apishield.ingest.har import read_har
from apishield.ingest.jsonl import jsonl_parser
from apishield.ingest.jsonlog import json_parser
from apishield.ingest.nginx import nginx_parser
from apishield.ingest.stats import IngestError, IngestStats, Skip
from apishield.ingest.stream import READ_ERRORS, LogStream, open_log, read_failed, skip_long_line

log = logging.getLogger("apishield.ingest")


def lines_of(make_parser: Callable[[ParseOptions], LineParser]) -> Reader:
    """A reader for a one-event-per-line format, given how to make its per-file line parser."""

    def read(stream: LogStream, options: ParseOptions, stats: IngestStats) -> Iterator[Exchange]:
        limit = line_limit(options.max_body_bytes)
        return parsed_stream(make_parser(options), stream, options.name, stats, limit)

    return read


def parsed(
    parse: LineParser, lines: Iterable[tuple[int, bytes]], name: str, stats: IngestStats
) -> Iterator[Exchange]:
    """Each numbered line an exchange or a counted skip; never raises for a bad line."""
    call = _bound(parse)
    for line_no, line in lines:
        try:
            exchange = call(line, line_no)
        except Exception as exc:  # a parser bug costs one line, not the file
            _skipped(stats, name, line_no, exc)
            continue
        stats.events += 1
        yield exchange


def parsed_stream(
    parse: LineParser, stream: LogStream, name: str, stats: IngestStats, limit: int
) -> Iterator[Exchange]:
    """`parsed` over `read_lines(stream, stats, limit)`, the same exchanges and counts, in one
    loop: each generator between the file and the pipeline costs a resumption per line."""
    call = _bound(parse)
    readline = stream.reader.readline
    line_no = 0
    while True:
        try:
            line = readline(limit + 1)
        except READ_ERRORS as exc:
            read_failed(stream, stats, line_no + 1, exc)
            return
        if len(line) > limit and not line.endswith(b"\n"):
            line_no += 1
            if not skip_long_line(stream, stats, line_no, limit):
                return
            continue
        if not line:
            return
        line_no += 1
        if line.isspace():
            continue
        stats.lines += 1
        try:
            exchange = call(line, line_no)
        except Exception as exc:  # a parser bug costs one line, not the file
            _skipped(stats, name, line_no, exc)
            continue
        stats.events += 1
        yield exchange


def _skipped(stats: IngestStats, name: str, line_no: int, exc: Exception) -> None:
    if isinstance(exc, Skip):
        stats.skip(name, line_no, exc.reason, exc.detail)
        return
    stats.skip(name, line_no, "parser error", f"{type(exc).__name__}: {exc}")
    if stats.skipped_by_reason["parser error"] == 1:
        log.error("parser error on %s:%d; line skipped", name, line_no, exc_info=exc)


def _bound(parse: LineParser) -> LineParser:
    """A parser object's `__call__` as a bound method: calling the object itself goes through
    its type's call slot, which costs about as much again as the call."""
    call = parse.__call__
    return call if isinstance(call, MethodType) else parse


LINE_PARSERS: dict[str, Callable[[ParseOptions], LineParser]] = {
    "nginx": nginx_parser,
    "nginx-json": json_parser,
    "envoy": envoy_parser,
    "jsonl": jsonl_parser,
}
"""The formats with one event per line: read here, and followed by `ingest.follow`."""
READERS: dict[str, Reader] = {
    **{name: lines_of(parser) for name, parser in LINE_PARSERS.items()},
    "har": read_har,
}


def read_exchanges(
    path: Path,
    fmt: str = "auto",
    *,
    field_map: Mapping[str, Sequence[str]] | None = None,
    max_body_bytes: int = 1_048_576,
    stats: IngestStats,
) -> Generator[Exchange, None, None]:
    """Exchanges in file order; `path` "-" is stdin. Bad lines are counted in `stats`.

    The format name, the field map and the path are checked before this returns, so a mistake
    there is an `IngestError` at the call; the file is opened when iteration starts, and closed
    at the end or by `close()` (a caller that stops early should call it: a compiled build
    does not close an abandoned generator's file at once).
    """
    _check_format(fmt)
    if max_body_bytes < 0:
        raise IngestError(f"max_body_bytes is {max_body_bytes}; it must be 0 or more")
    merge_fields(field_map)
    if str(path) != "-" and not path.exists():
        raise IngestError(f"{path} does not exist; check the path, or use - to read stdin")
    name = "stdin" if str(path) == "-" else path.name
    options = ParseOptions(name, max_body_bytes, dict(field_map or {}))
    return _read(path, fmt, options, stats)


def line_limit(max_body_bytes: int) -> int:
    """Longest line read: a JSONL line may carry two bodies, base64 at 4/3 their size."""
    return 4 * max_body_bytes + (1 << 20)


def _read(
    path: Path, fmt: str, options: ParseOptions, stats: IngestStats
) -> Generator[Exchange, None, None]:
    with open_log(path) as stream:
        if fmt == "auto":
            head = stream.head()
            if not head:
                if stream.error is not None:
                    # A compressed file broken before its first line: counted, not silently empty.
                    read_failed(stream, stats, 1, stream.error)
                return
            try:
                fmt = detect_format(head)
            except IngestError as exc:
                raise IngestError(f"{path}: {exc}") from None
        yield from READERS[fmt](stream, options, stats)


def _check_format(fmt: str) -> None:
    if fmt == "auto" or fmt in READERS:
        return
    close = difflib.get_close_matches(fmt, FORMATS, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise IngestError(f"unknown log format {fmt!r}.{hint} Valid formats: {', '.join(FORMATS)}.")

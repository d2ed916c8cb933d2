"""Follow growing access logs like `tail -F`, so `apishield serve` analyses traffic as it is logged.

The server polls `LogFollower.read_new` from a thread of its own. Each call reads what was
appended to each file since the last call, in bounded memory and bounded work (`max_lines`), and
never waits for more. A line is taken only once its line end is written: a writer caught halfway
through a line finishes it before it is parsed. A line ends at LF, CRLF or a lone CR, as for
`apishield analyze` (`stream.py`). A CR that ends what is written so far ends its line at once,
without waiting for the next byte: an LF written after it is the rest of a CRLF and is dropped.

Files change under a follower in three ways, all handled here:

* Rotation by rename (logrotate's default): a new file appears at the path while writers still
  hold the old one until they reopen. The old file is read to its end, kept for one more poll in
  case a writer adds to it late, then closed; the new one is read from its first byte.
* Truncation (logrotate's `copytruncate`): the file shrinks below what was read, and is read
  again from its start. Lines written between the copy and the truncation are lost to any reader.
* A file that does not exist yet is looked for at every poll (logged once) and read from its
  start when it appears.

What happens between two polls is seen only at the second: a file that is created and rotated
away in between is never read, and a `copytruncate` after which more than the old size is
written again before the next poll looks like an append (as for `tail -F`).

Each such "generation" of a file numbers its lines from 1 again (from where following began,
when it began at the end of an existing file); errors name the file. Bad lines are counted in
`stats` exactly as `read_exchanges` counts them, never raised. HAR is one JSON document that is
only valid once finished, so it cannot be followed: asking for it is an `IngestError`.
"""

from __future__ import annotations

import difflib
import io
import logging
import os
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from apishield.exchange import Exchange
from apishield.ingest.base import LineParser, ParseOptions
from apishield.ingest.detect import detect_format
from apishield.ingest.fieldmap import merge_fields
from apishield.ingest.reader import LINE_PARSERS, line_limit, parsed
from apishield.ingest.stats import IngestError, IngestStats, Skip
from apishield.ingest.stream import BOM, HEAD_BYTES, lone_crs_as_lf

log = logging.getLogger("apishield.ingest")

MAX_LINES = 10_000
CHUNK = 64 << 10
"""Bytes per read: a few hundred log lines."""
DETECT_LINES = 8
"""Complete lines after which a format that detection cannot tell is given up on."""


class _Generation:
    """One stretch of one file: from where it was joined (or its start) to its rotation."""

    def __init__(self, file: io.FileIO, name: str, limit: int, *, at_end: bool = False) -> None:
        stat = os.fstat(file.fileno())
        self.ident = (stat.st_dev, stat.st_ino)
        self.file = file
        self.name = name
        self.limit = limit
        self.parse: LineParser | None = None
        self.idle = 0
        """Polls in a row that found nothing new: a rotated file is closed after one."""
        self._rewind(0)
        if at_end:
            self._join_at_end(stat.st_size)

    def _join_at_end(self, size: int) -> None:
        """Start after the last complete line, so a line half written now is read whole."""
        start = max(0, size - CHUNK)
        self.file.seek(start)
        tail = self.file.read(size - start) or b""
        newline = max(tail.rfind(b"\n"), tail.rfind(b"\r"))
        if newline >= 0 or start == 0:
            self._rewind(start + newline + 1)
            self._after_cr = tail[newline : newline + 1] == b"\r"
        else:  # a line longer than a chunk is being written: skip to its end
            self._rewind(start + len(tail))
            self._discarding = True

    def _rewind(self, offset: int) -> None:
        self.file.seek(offset)
        self.offset = offset
        """Bytes of the file read so far; a file shorter than this was truncated."""
        self.line_no = 0
        self._buffer = b""
        self._pos = 0
        self._discarding = False
        self._after_cr = False
        """The last byte read was a CR, taken as a line end: an LF next is the rest of a CRLF."""

    def truncated(self) -> bool:
        return os.fstat(self.file.fileno()).st_size < self.offset

    def restart(self, stats: IngestStats) -> list[tuple[int, bytes]]:
        """After a truncation: the last partial line, then start again from byte 0."""
        rest = self.finish(stats)
        self._rewind(0)
        return rest

    def lines(self, budget: int, stats: IngestStats) -> list[tuple[int, bytes]]:
        """Up to `budget` complete non-blank lines appended since the last call, numbered."""
        taken: list[tuple[int, bytes]] = []
        reads = 0
        while len(taken) < budget:
            end = self._buffer.find(b"\n", self._pos)
            if end >= 0:
                line = self._buffer[self._pos : end + 1]
                self._pos = end + 1
                if self._discarding:
                    self._discarding = False
                    continue
                self.line_no += 1
                if len(line) > self.limit + 1:
                    self._too_long(stats)
                elif not line.isspace():
                    stats.lines += 1
                    taken.append((self.line_no, line))
            elif reads >= budget or not self._fill(stats):
                break
            else:
                reads += 1
        self.idle = 0 if taken or reads else self.idle + 1
        return taken

    def finish(self, stats: IngestStats) -> list[tuple[int, bytes]]:
        """The partial last line, as a whole line: its writer is gone (as for a file's end)."""
        rest = b"" if self._discarding else self._buffer[self._pos :]
        self._buffer, self._pos = b"", 0
        if not rest or rest.isspace():
            return []
        self.line_no += 1
        stats.lines += 1
        return [(self.line_no, rest)]

    def head(self) -> tuple[list[bytes], bool]:
        """The file's first complete non-blank lines, for detection, and whether they are all
        detection may wait for. Reads at most `HEAD_BYTES`, then goes back where it was."""
        self.file.seek(0)
        head = self.file.read(HEAD_BYTES) or b""
        self.file.seek(self.offset)
        end = max(head.rfind(b"\n"), head.rfind(b"\r"))
        complete = lone_crs_as_lf(head[: end + 1].removeprefix(BOM))
        lines = [line for line in complete.split(b"\n") if line.strip()][:DETECT_LINES]
        return lines, len(lines) >= DETECT_LINES or len(head) >= HEAD_BYTES

    def close(self) -> None:
        self.file.close()

    def _too_long(self, stats: IngestStats) -> None:
        stats.lines += 1
        detail = f"over {self.limit} bytes; a larger ingest.max_body_bytes allows longer lines"
        stats.skip(self.name, self.line_no, "line too long", detail)

    def _fill(self, stats: IngestStats) -> bool:
        """Read one more chunk; False at the end of what is written so far."""
        if self._discarding:
            self._buffer, self._pos = b"", 0
        elif len(self._buffer) - self._pos > self.limit:
            self.line_no += 1
            self._too_long(stats)
            self._buffer, self._pos, self._discarding = b"", 0, True
        chunk = self.file.read(CHUNK) or b""
        if not chunk:
            return False
        at_start = self.offset == 0
        self.offset += len(chunk)
        if at_start:
            chunk = chunk.removeprefix(BOM)
        self._buffer = self._buffer[self._pos :] + self._line_ends(chunk)
        self._pos = 0
        return True

    def _line_ends(self, chunk: bytes) -> bytes:
        """`chunk` with each lone CR made LF, so lines are found by LF alone. A CR that ends it
        ends its line now, as the file may stay as it is; an LF read next is then dropped."""
        if self._after_cr:
            self._after_cr = False
            if chunk.startswith(b"\n"):
                chunk = chunk[1:]
        if b"\r" not in chunk:
            return chunk
        self._after_cr = chunk.endswith(b"\r")
        return lone_crs_as_lf(chunk)


class _Followed:
    """One followed path: the file there now, and the one rotated away while it is drained."""

    def __init__(self, path: Path, name: str) -> None:
        self.path = path
        self.name = name
        self.current: _Generation | None = None
        self.retiring: _Generation | None = None
        self.refused = False
        self.reported: set[str] = set()
        """What was logged about this path already, so each trouble is logged once."""

    def once(self, key: str) -> bool:
        """True the first time `key` is asked about."""
        first = key not in self.reported
        self.reported.add(key)
        return first

    def close(self) -> None:
        for generation in (self.current, self.retiring):
            if generation is not None:
                generation.close()
        self.current = self.retiring = None


class LogFollower:
    """Follows log files through appends, rotation and truncation; see the module docstring."""

    def __init__(
        self,
        paths: Sequence[Path],
        fmt: str = "auto",
        options: ParseOptions | None = None,
        *,
        from_start: bool = False,
        max_lines: int = MAX_LINES,
    ) -> None:
        """Files that exist are joined at their end, or read from their start with
        `from_start`. A format that cannot be followed (HAR, named or detected), a field map
        with an unknown field, or a path that cannot be opened is an `IngestError` here."""
        _check_format(fmt)
        if not paths:
            raise IngestError("no log file to follow; name at least one")
        if max_lines < 1:
            raise IngestError(f"max_lines is {max_lines}; it must be 1 or more")
        self.options = options or ParseOptions("")
        merge_fields(self.options.field_map)  # an unknown field name fails now, not per line
        self.fmt = fmt
        self.max_lines = max_lines
        self.stats = IngestStats()
        self._limit = line_limit(self.options.max_body_bytes)
        self._followed = [_Followed(path, name) for path, name in _names(paths)]
        self._turn = 0
        self._more = False
        self._lock = threading.Lock()
        try:
            for followed in self._followed:
                self._join(followed, at_end=not from_start, strict=True)
        except BaseException:
            self.close()
            raise

    def read_new(self) -> list[Exchange]:
        """What was appended since the last call, at most `max_lines` lines' worth; never waits.

        The files take turns at going first, so one busy log cannot starve the others."""
        taken: list[Exchange] = []
        with self._lock:
            budget = self.max_lines
            count = len(self._followed)
            for i in range(count):
                followed = self._followed[(self._turn + i) % count]
                budget -= self._poll(followed, budget, taken)
                if budget <= 0:
                    break
            self._turn = (self._turn + 1) % count
            self._more = budget <= 0
        return taken

    def run(
        self,
        on_exchange: Callable[[Exchange], None],
        stop: threading.Event,
        poll_seconds: float = 0.5,
    ) -> None:
        """Poll until `stop` is set, handing each exchange to `on_exchange`; a poll that filled
        `max_lines` is followed at once by the next. Failures are logged and polling goes on."""
        failures: Counter[str] = Counter()
        while not stop.is_set():
            exchanges: list[Exchange] = []
            try:
                exchanges = self.read_new()
            except Exception:  # a bug here must not stop following for good
                self._more = False
                failures["read"] += 1
                if failures["read"] == 1:
                    log.exception("following %s failed; polling goes on", self._where())
            for exchange in exchanges:
                try:
                    on_exchange(exchange)
                except Exception:  # one exchange lost, not the rest of the batch
                    failures["hand"] += 1
                    if failures["hand"] == 1:
                        log.exception("handing over %s failed; logged once", exchange.source)
            if not self._more:
                stop.wait(poll_seconds)

    def close(self) -> None:
        with self._lock:
            for followed in self._followed:
                followed.close()
                followed.refused = True

    # -- one path ---------------------------------------------------------------------------

    def _poll(self, followed: _Followed, budget: int, taken: list[Exchange]) -> int:
        """Read what is new at one path; the lines it took."""
        if followed.refused:
            return 0
        try:
            self._notice_changes(followed, taken)
            used = 0
            if followed.retiring is not None:
                used = self._drain(followed, budget, taken)
            if followed.current is None:
                self._join(followed, at_end=False, strict=False)
            current = followed.current
            if current is not None and used < budget:
                used += self._read(followed, current, budget - used, taken)
            return used
        except IngestError as error:  # a HAR document appeared at the path
            log.error("%s; it is no longer followed", error)
            followed.close()
            followed.refused = True
        except OSError as error:
            if followed.once(f"errno {error.errno}"):
                log.warning(
                    "cannot read %s: %s; trying again at every poll (logged once)",
                    followed.path,
                    error.strerror or error,
                )
        return 0

    def _join(self, followed: _Followed, *, at_end: bool, strict: bool) -> None:
        """Open the file now at the path, if there is one; errors raise when `strict`."""
        try:
            file = io.FileIO(followed.path, "r")
        except FileNotFoundError:
            if followed.once("missing"):
                log.warning(
                    "%s does not exist yet; it will be read from its first line when it appears",
                    followed.path,
                )
            return
        except OSError as error:
            message = f"cannot open {followed.path}: {error.strerror or error}"
            if strict:
                raise IngestError(f"{message}; check the path and its permissions") from error
            raise
        try:
            generation = _Generation(file, followed.name, self._limit, at_end=at_end)
            generation.parse = self._parser(followed, generation, final=False)
        except BaseException:
            file.close()
            raise
        if "missing" in followed.reported:
            log.info("%s appeared; following it", followed.path)
        followed.current = generation

    def _notice_changes(self, followed: _Followed, taken: list[Exchange]) -> None:
        """Truncation restarts the file; a new file at the path retires the current one."""
        current = followed.current
        if current is None:
            return
        if current.truncated():
            log.info("%s was truncated; reading it again from its start", followed.path)
            self._parse(followed, current, current.restart(self.stats), taken)
            return
        try:
            stat = os.stat(followed.path)
        except FileNotFoundError:
            return  # moved away, nothing new there yet: writers may still add to the old file
        if (stat.st_dev, stat.st_ino) == current.ident:
            return
        log.info(
            "%s was rotated; the old file is read to its end, the new one from its start",
            followed.path,
        )
        if followed.retiring is not None:  # rotated twice between two polls
            self._retire(followed, taken)
        current.idle = -1  # kept until a poll after this one finds nothing new in it
        followed.retiring, followed.current = current, None

    def _drain(self, followed: _Followed, budget: int, taken: list[Exchange]) -> int:
        retiring = followed.retiring
        if retiring is None:
            return 0
        used = self._read(followed, retiring, budget, taken)
        if retiring.idle >= 1:
            self._retire(followed, taken)
        return used

    def _retire(self, followed: _Followed, taken: list[Exchange]) -> None:
        retiring = followed.retiring
        if retiring is not None:
            self._parse(followed, retiring, retiring.finish(self.stats), taken)
            retiring.close()
            followed.retiring = None

    def _read(
        self, followed: _Followed, generation: _Generation, budget: int, taken: list[Exchange]
    ) -> int:
        if generation.parse is None:
            final = generation is followed.retiring
            generation.parse = self._parser(followed, generation, final=final)
            if generation.parse is None:
                return 0  # no complete line to tell the format from yet: nothing is read
        lines = generation.lines(budget, self.stats)
        self._parse(followed, generation, lines, taken)
        return len(lines)

    def _parser(
        self, followed: _Followed, generation: _Generation, *, final: bool
    ) -> LineParser | None:
        """The parser for this file; None while its first lines are not there to detect from.
        `final`: the file will not grow, decide with what there is."""
        fmt = self.fmt
        if fmt == "auto":
            lines, complete = generation.head()
            try:
                fmt = detect_format(lines)
            except IngestError as error:
                if not (complete or final):
                    return None
                if followed.once("undetected"):
                    log.error("%s: %s; its lines are skipped", followed.path, error)
                return _undetected
        if fmt not in LINE_PARSERS:
            raise _not_lines(f"{followed.path} holds HAR,")
        return LINE_PARSERS[fmt](replace(self.options, name=followed.name))

    def _parse(
        self,
        followed: _Followed,
        generation: _Generation,
        lines: list[tuple[int, bytes]],
        taken: list[Exchange],
    ) -> None:
        """Each line an exchange or a counted skip, as `read_exchanges` counts them."""
        if not lines:
            return
        parse = generation.parse or self._parser(followed, generation, final=True) or _undetected
        taken.extend(parsed(parse, lines, generation.name, self.stats))

    def _where(self) -> str:
        return ", ".join(str(followed.path) for followed in self._followed)


def _not_lines(what: str) -> IngestError:
    return IngestError(
        f"{what} one JSON document, valid only once the capture is finished, so it cannot be "
        f"followed as it grows; follow a log with one event per line ({', '.join(LINE_PARSERS)}), "
        "or read the finished file once with `apishield analyze FILE`"
    )


def _check_format(fmt: str) -> None:
    if fmt == "auto" or fmt in LINE_PARSERS:
        return
    if fmt == "har":
        raise _not_lines("HAR is")
    choices = ("auto", *LINE_PARSERS)
    close = difflib.get_close_matches(fmt, choices, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise IngestError(
        f"unknown log format {fmt!r}.{hint} Formats that can be followed: {', '.join(choices)}."
    )


def _undetected(line: bytes, line_no: int, /) -> Exchange:
    raise Skip("format not detected", f"name the format: {', '.join(LINE_PARSERS)}")


def _names(paths: Sequence[Path]) -> list[tuple[Path, str]]:
    """Each path once, named by its file name unless two share it."""
    unique = list(dict.fromkeys(paths))
    names = [path.name for path in unique]
    return [(path, path.name if names.count(path.name) == 1 else str(path)) for path in unique]

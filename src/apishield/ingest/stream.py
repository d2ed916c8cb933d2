"""Open a log as bytes whatever its compression, and cut it into lines in bounded memory.

A line ends at LF, CRLF or a lone CR, as Python's universal newlines have it: a log written with
old Mac line ends, or with a stray CR ending some records, would otherwise read as one line of
many records. A lone CR becomes LF as the bytes are read, a megabyte at a time, so
`io.BufferedReader.readline` still splits the lines in C and a log without CR pays one scan of
each chunk for it. A raw CR is never part of a record: valid JSON escapes it inside strings, and
nginx writes it as `\\x0D`.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import re
import sys
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, cast

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

from apishield.ingest.stats import IngestError, IngestStats

CHUNK = 1 << 20
"""Bytes per read: large enough that splitting lines happens in C over thousands at a time."""
HEAD_BYTES = 64 << 10
HEAD_LINE_BYTES = 8 << 20
"""How far the read-ahead for format detection goes to finish a first line longer than
`HEAD_BYTES`: past the longest line a log is read with by default (`reader.line_limit`)."""
"""How far detection may read ahead before it must decide."""
BOM = b"\xef\xbb\xbf"
_LONE_CR = re.compile(rb"\r(?!\n)")

READ_ERRORS = (EOFError, OSError, zlib.error, lzma.LZMAError)
"""What a truncated or corrupt compressed stream, or a failing disk, raises mid-read."""


class Buffered(Protocol):
    def read(self, size: int, /) -> bytes: ...
    def read1(self, size: int, /) -> bytes: ...
    def peek(self, size: int, /) -> bytes: ...


def _gzip(raw: Buffered) -> Buffered:
    return cast(Buffered, gzip.GzipFile(fileobj=cast(io.BufferedReader, raw), mode="rb"))


def _bz2(raw: Buffered) -> Buffered:
    return cast(Buffered, bz2.BZ2File(cast(io.BufferedReader, raw)))


def _xz(raw: Buffered) -> Buffered:
    return cast(Buffered, lzma.LZMAFile(cast(io.BufferedReader, raw)))


_COMPRESSED = (
    ((b"\x1f\x8b",), _gzip),
    (tuple(b"BZh" + digit.encode() for digit in "123456789"), _bz2),
    ((b"\xfd7zXZ\x00",), _xz),
)
_UNSUPPORTED = (
    (b"\x28\xb5\x2f\xfd", "zstd", "zstd -dc {path} | apishield analyze -"),
    (b"PK\x03\x04", "zip", "unzip -p {path} | apishield analyze -"),
)


class LogStream:
    """A log's bytes, decompressed, whose first lines can be looked at and are then read again.

    Read errors found while looking ahead are held back and raised where reading reaches them, so
    they are reported at the right line.
    """

    def __init__(self, raw: Buffered, name: str) -> None:
        self.name = name
        self._raw = raw
        self._head = b""
        self._error: Exception | None = None
        self._at_start = True
        self._held_cr = False
        """The last chunk ended in CR: whether it ends a line alone shows in the next byte."""
        self._reader: io.BufferedReader | None = None

    def head(self, max_lines: int = 8) -> list[bytes]:
        """The first non-blank lines, for format detection; call it before reading. Reading
        ahead stops at `HEAD_BYTES`, unless no line has ended yet: a first line of a few
        hundred KB (a JSONL record with its bodies) is read whole, up to `HEAD_LINE_BYTES`."""
        while self._error is None and self._head.count(b"\n") <= max_lines:
            if len(self._head) >= HEAD_BYTES and (
                b"\n" in self._head.lstrip() or len(self._head) >= HEAD_LINE_BYTES
            ):
                break
            try:
                chunk = self._fetch(CHUNK)
            except READ_ERRORS as exc:
                self._error = exc
                break
            if not chunk:
                break
            self._head += chunk
        return [line for line in self._head.split(b"\n") if line.strip()][:max_lines]

    @property
    def error(self) -> Exception | None:
        """The read error the read-ahead met, if any; reading raises it again where it was."""
        return self._error

    @property
    def reader(self) -> io.BufferedReader:
        """The whole stream from its first byte, with C-speed `readline`."""
        if self._reader is None:
            self._reader = io.BufferedReader(_Replay(self), CHUNK)
        return self._reader

    def read(self, size: int = -1, /) -> bytes:
        """For ijson, which probes with read(0)."""
        return self.reader.read(size)

    def _next_bytes(self, size: int) -> bytes:
        """The read-ahead first, then any error it met, then the rest of the stream."""
        if self._head:
            data, self._head = self._head[:size], self._head[size:]
            return data
        if self._error is not None:
            raise self._error
        data = self._fetch(size)
        if len(data) > size:  # a CR held back from the last chunk came first
            data, self._head = data[:size], data[size:]
        return data

    def _fetch(self, size: int) -> bytes:
        """The next bytes, each lone CR in them made LF; b"" at the end of the stream."""
        chunk = self._raw.read1(size)
        if self._at_start:
            self._at_start = False
            if chunk.startswith(BOM):
                chunk = chunk[len(BOM) :]
        if self._held_cr:
            self._held_cr = False
            if not chunk:
                return b"\n"  # the last line ended in a lone CR
            chunk = b"\r" + chunk
        if b"\r" not in chunk:
            return chunk
        if chunk.endswith(b"\r"):
            self._held_cr = True
            chunk = chunk[:-1]
            if not chunk:
                return self._fetch(size)
        return lone_crs_as_lf(chunk)


def lone_crs_as_lf(chunk: bytes) -> bytes:
    """Each CR of `chunk` that no LF follows made LF; CRLF is kept. A CR that ends `chunk` is made
    LF too, so a caller that may read its LF next holds it back (`LogStream`) or drops that LF.

    The cheapest test first: scanning for CRLF costs a megabyte per millisecond or so."""
    if b"\r\n" not in chunk:  # old Mac line ends
        return chunk.replace(b"\r", b"\n")
    if _LONE_CR.search(chunk) is None:  # CRLF line ends
        return chunk
    return _LONE_CR.sub(b"\n", chunk)


class _Replay(io.RawIOBase):
    """Lets `io.BufferedReader` do the line splitting, in C, over a `LogStream`."""

    def __init__(self, stream: LogStream) -> None:
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer, /) -> int:
        view = memoryview(buffer).cast("B")
        data = self._stream._next_bytes(view.nbytes)
        view[: len(data)] = data
        return len(data)


@contextmanager
def open_log(path: Path) -> Iterator[LogStream]:
    """Open a file, or stdin for "-", decompressing by magic bytes since names lie."""
    if str(path) == "-":
        yield LogStream(_decompressed(_stdin(), path), "stdin")
        return
    try:
        file = io.BufferedReader(io.FileIO(path, "r"), CHUNK)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise IngestError(f"cannot open {path}: {reason}; check the path and permissions") from exc
    with file:
        try:
            raw = _decompressed(file, path)
        except OSError as exc:  # the first read already failed: a directory, a dead disk
            reason = exc.strerror or str(exc)
            raise IngestError(f"cannot read {path}: {reason}; check the path and the disk") from exc
        yield LogStream(raw, path.name)


def read_lines(stream: LogStream, stats: IngestStats, limit: int) -> Iterator[tuple[int, bytes]]:
    """Non-blank lines with 1-based numbers, each still ending in its line break.

    Over-long lines and broken input are counted here. Memory stays bounded by `limit` whatever
    the file holds: a longer line is skipped while it is still being read.
    """
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
        if not line.isspace():
            stats.lines += 1
            yield line_no, line


def skip_long_line(stream: LogStream, stats: IngestStats, line_no: int, limit: int) -> bool:
    """Count line `line_no` as too long and read past its end; False if reading failed there."""
    stats.lines += 1
    stats.skip(stream.name, line_no, "line too long", _too_long(limit))
    try:
        _skip_rest_of_line(stream.reader.readline)
    except READ_ERRORS as exc:
        read_failed(stream, stats, line_no + 1, exc)
        return False
    return True


def read_failed(stream: LogStream, stats: IngestStats, line_no: int, exc: Exception) -> None:
    """Count what a failed read cost: the line it was reading, and the end of the input."""
    stats.lines += 1
    stats.skip(stream.name, line_no, *_read_failure(exc))


def _too_long(limit: int) -> str:
    return f"over {limit} bytes; a larger ingest.max_body_bytes allows longer lines"


def _skip_rest_of_line(readline: Callable[[int], bytes]) -> None:
    while (chunk := readline(CHUNK)) and not chunk.endswith(b"\n"):
        pass


def _read_failure(exc: Exception) -> tuple[str, str]:
    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if isinstance(exc, EOFError):
        return "truncated input", f"{message}; the file was cut off or is still being written"
    return "read error", message


def _stdin() -> Buffered:
    buffer = sys.stdin.buffer
    if isinstance(buffer, io.BufferedReader):
        return buffer
    return io.BufferedReader(cast(io.RawIOBase, buffer), CHUNK)


def _decompressed(raw: Buffered, path: Path) -> Buffered:
    magic = raw.peek(6)[:6]
    for prefixes, opener in _COMPRESSED:
        if magic.startswith(prefixes):
            return opener(raw)
    for prefix, kind, command in _UNSUPPORTED:
        if magic.startswith(prefix):
            fix = command.format(path="FILE" if str(path) == "-" else path)
            raise IngestError(
                f"{path} is {kind}-compressed, which apishield cannot read; run {fix}"
            )
    return raw

import bz2
import gzip
import io
import lzma
import sys
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from apishield.ingest.stats import IngestError, IngestStats
from apishield.ingest.stream import BOM, CHUNK, LogStream, open_log, read_lines

TEXT = b"one\ntwo\n\n  \nthree"


def lines_of(path: Path, limit: int = 1 << 20) -> tuple[list[tuple[int, bytes]], IngestStats]:
    stats = IngestStats()
    with open_log(path) as stream:
        return list(read_lines(stream, stats, limit)), stats


@pytest.mark.parametrize(
    "pack",
    [lambda b: b, gzip.compress, bz2.compress, lzma.compress],
    ids=["plain", "gz", "bz2", "xz"],
)
def test_decompresses_by_magic_bytes_whatever_the_name(
    tmp_path: Path, pack: Callable[[bytes], bytes]
) -> None:
    path = tmp_path / "access.log"  # no telling extension on purpose
    path.write_bytes(pack(TEXT))
    lines, stats = lines_of(path)
    assert lines == [(1, b"one\n"), (2, b"two\n"), (5, b"three")]
    assert stats.lines == 3


def test_concatenated_gzip_members_read_as_one_log(tmp_path: Path) -> None:
    path = tmp_path / "rotated.gz"
    path.write_bytes(gzip.compress(b"a\n") + gzip.compress(b"b\n"))
    assert [line for _, line in lines_of(path)[0]] == [b"a\n", b"b\n"]


def test_truncated_gzip_keeps_earlier_lines_and_reports_the_break(tmp_path: Path) -> None:
    path = tmp_path / "cut.gz"
    path.write_bytes(gzip.compress(b"".join(b"line %d\n" % i for i in range(5000)))[:-64])
    lines, stats = lines_of(path)
    assert lines[0] == (1, b"line 0\n")
    assert stats.skipped_by_reason == {"truncated input": 1}
    error = stats.errors[0]
    assert error.line == lines[-1][0] + 1
    assert "cut off" in error.reason
    assert stats.lines == len(lines) + 1


def test_corrupt_gzip_is_a_read_error_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "bad.gz"
    path.write_bytes(b"\x1f\x8b" + b"\x00" * 50)
    lines, stats = lines_of(path)
    assert lines == []
    assert stats.skipped_by_reason == {"read error": 1}
    assert stats.lines == 1


def test_a_line_longer_than_the_limit_is_skipped_while_read(tmp_path: Path) -> None:
    path = tmp_path / "long.log"
    path.write_bytes(b"first\n" + b"x" * (3 * CHUNK) + b"\nlast\n")
    lines, stats = lines_of(path, limit=1000)
    assert lines == [(1, b"first\n"), (3, b"last\n")]
    assert stats.skipped_by_reason == {"line too long": 1}
    assert stats.errors[0].line == 2
    assert "max_body_bytes" in stats.errors[0].reason


def test_long_line_at_the_end_of_the_file(tmp_path: Path) -> None:
    path = tmp_path / "long.log"
    path.write_bytes(b"first\n" + b"x" * (2 * CHUNK))
    lines, stats = lines_of(path, limit=1000)
    assert lines == [(1, b"first\n")]
    assert stats.lines == 2
    assert stats.skipped == 1


def test_lines_keep_their_line_break_for_the_parser(tmp_path: Path) -> None:
    path = tmp_path / "crlf.log"
    path.write_bytes(b"a\r\n\r\nb\r\n")
    assert lines_of(path)[0] == [(1, b"a\r\n"), (3, b"b\r\n")]


def test_byte_order_mark_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "bom.json"
    path.write_bytes(BOM + b'{"a": 1}\n')
    assert lines_of(path)[0] == [(1, b'{"a": 1}\n')]


def test_head_is_read_again_by_the_reader(tmp_path: Path) -> None:
    path = tmp_path / "x.log"
    path.write_bytes(b"\n".join(b"line %d" % i for i in range(100)))
    stats = IngestStats()
    with open_log(path) as stream:
        assert stream.head(max_lines=3) == [b"line 0", b"line 1", b"line 2"]
        assert stream.head(max_lines=3) == [b"line 0", b"line 1", b"line 2"]  # looking is free
        lines = list(read_lines(stream, stats, 1 << 20))
    assert len(lines) == 100


def test_read_honours_size_and_zero_probe() -> None:
    stream = LogStream(io.BufferedReader(io.BytesIO(b"abcdef")), "mem")
    stream.head()
    assert stream.read(0) == b""
    assert stream.read(2) == b"ab"
    assert stream.read() == b"cdef"
    assert stream.read() == b""


def test_stdin_is_read_for_dash(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = SimpleNamespace(buffer=io.BytesIO(gzip.compress(b"from stdin\n")))
    monkeypatch.setattr(sys, "stdin", fake)
    stats = IngestStats()
    with open_log(Path("-")) as stream:
        assert stream.name == "stdin"
        assert list(read_lines(stream, stats, 100)) == [(1, b"from stdin\n")]


def test_missing_file_names_the_path_and_the_fix(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match=r"cannot open .*nope\.log: .*check the path"):
        open_log(tmp_path / "nope.log").__enter__()


def test_zstd_is_refused_with_the_command_that_works(tmp_path: Path) -> None:
    path = tmp_path / "a.log.zst"
    path.write_bytes(b"\x28\xb5\x2f\xfd" + b"\x00" * 20)
    with pytest.raises(IngestError, match=r"zstd-compressed.*zstd -dc .*a\.log\.zst \| apishield"):
        open_log(path).__enter__()


PACKERS = pytest.mark.parametrize(
    "pack",
    [lambda b: b, gzip.compress, bz2.compress, lzma.compress],
    ids=["plain", "gz", "bz2", "xz"],
)


@PACKERS
def test_a_lone_cr_ends_a_line_as_lf_and_crlf_do(
    tmp_path: Path, pack: Callable[[bytes], bytes]
) -> None:
    path = tmp_path / "mixed.log"
    path.write_bytes(pack(b"one\rtwo\r\nthree\n\r\rfour\r"))
    lines, stats = lines_of(path)
    assert lines == [(1, b"one\n"), (2, b"two\r\n"), (3, b"three\n"), (6, b"four\n")]
    assert stats.lines == 4


@PACKERS
def test_a_log_of_cr_ended_lines_longer_than_the_limit_is_read_line_by_line(
    tmp_path: Path, pack: Callable[[bytes], bytes]
) -> None:
    path = tmp_path / "mac.log"
    path.write_bytes(pack(b"".join(b"record %d\r" % i for i in range(3 * CHUNK // 10))))
    lines, stats = lines_of(path, limit=100)
    assert len(lines) == 3 * CHUNK // 10
    assert lines[-1] == (len(lines), b"record %d\n" % (len(lines) - 1))
    assert stats.skipped == 0


class Pieces:
    """A raw stream that hands out its bytes in the pieces given, as a pipe may."""

    def __init__(self, *pieces: bytes) -> None:
        self._pieces = list(pieces)

    def read1(self, size: int, /) -> bytes:
        piece = self._pieces.pop(0) if self._pieces else b""
        assert len(piece) <= size
        return piece

    read = read1

    def peek(self, size: int, /) -> bytes:
        return self._pieces[0] if self._pieces else b""


@pytest.mark.parametrize(
    ("pieces", "expected"),
    [
        ((b"a\r", b"\nb\n"), [b"a\r\n", b"b\n"]),  # CRLF cut in two: one line end
        ((b"a\r", b"b\r", b"\r", b"\nc"), [b"a\n", b"b\n", b"c"]),
        ((b"a\r",), [b"a\n"]),  # the end of the stream ends the line
        ((b"\r", b"\r", b"x\r\r"), [b"x\n"]),
        # the CR held back makes the next read one byte longer than asked for
        ((b"a\r", b"b" * (CHUNK - 1) + b"\n"), [b"a\n", b"b" * (CHUNK - 1) + b"\n"]),
    ],
)
def test_a_cr_at_the_end_of_a_read_waits_for_the_next_byte(
    pieces: tuple[bytes, ...], expected: list[bytes]
) -> None:
    stream = LogStream(Pieces(*pieces), "pipe")
    assert [line for _, line in read_lines(stream, IngestStats(), 2 * CHUNK)] == expected


@settings(max_examples=300, deadline=None)
@given(
    pieces=st.lists(
        st.binary(max_size=12) | st.sampled_from([b"\r", b"\n", b"\r\n", b"x\r", b"\rx"]),
        max_size=12,
    )
)
def test_lines_end_where_universal_newlines_end_them(pieces: list[bytes]) -> None:
    data = b"".join(pieces)
    assume(not data.startswith(BOM[:1]))
    expected = [
        line[:-1] + b"\n" if line.endswith(b"\r") else line
        for line in data.splitlines(keepends=True)
    ]
    stream = LogStream(Pieces(*[piece for piece in pieces if piece]), "pipe")
    lines = [line for _, line in read_lines(stream, IngestStats(), 1 << 10)]
    assert lines == [line for line in expected if not line.isspace()]


def test_head_splits_lines_at_a_lone_cr(tmp_path: Path) -> None:
    path = tmp_path / "mac.log"
    path.write_bytes(b"one\rtwo\r\nthree\r")
    with open_log(path) as stream:
        assert stream.head() == [b"one", b"two\r", b"three"]

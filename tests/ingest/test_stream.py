import bz2
import gzip
import io
import lzma
import sys
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest

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

"""Following logs while a test writes them: appends, partial lines, logrotate's two ways of
rotating, files that appear late, and bad lines counted as `read_exchanges` counts them."""

from __future__ import annotations

import io
import logging
import os
import queue
import tempfile
import threading
from pathlib import Path

import orjson
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from apishield.exchange import Exchange
from apishield.ingest import IngestError, IngestStats, exchange_to_jsonl, read_exchanges
from apishield.ingest.base import ParseOptions
from apishield.ingest.follow import LogFollower, _Generation
from apishield.ingest.stream import BOM
from apishield.testing import make_exchange


def line(path: str, status: int = 200, agent: bytes = b"curl/8") -> bytes:
    return (
        b'1.2.3.4 - - [14/Nov/2023:22:13:20 +0000] "GET '
        + path.encode()
        + b' HTTP/1.1" '
        + str(status).encode()
        + b' 5 "-" "'
        + agent
        + b'"\n'
    )


def append(path: Path, data: bytes) -> None:
    with path.open("ab") as file:
        file.write(data)


def paths(exchanges: list[Exchange]) -> list[str]:
    return [exchange.request.path for exchange in exchanges]


@pytest.fixture
def log_file(tmp_path: Path) -> Path:
    path = tmp_path / "access.log"
    path.write_bytes(line("/old/1") + line("/old/2"))
    return path


def test_joins_at_the_end_and_reads_what_is_appended(log_file: Path) -> None:
    follower = LogFollower([log_file])
    try:
        assert follower.read_new() == []
        append(log_file, line("/a") + line("/b"))
        new = follower.read_new()
        assert paths(new) == ["/a", "/b"]
        assert [e.source for e in new] == ["access.log:1", "access.log:2"]
        assert follower.read_new() == []
        append(log_file, line("/c"))
        assert paths(follower.read_new()) == ["/c"]
    finally:
        follower.close()
    assert (follower.stats.lines, follower.stats.events, follower.stats.skipped) == (3, 3, 0)


def test_from_start_reads_what_is_there(log_file: Path) -> None:
    follower = LogFollower([log_file], "nginx", from_start=True)
    try:
        assert paths(follower.read_new()) == ["/old/1", "/old/2"]
    finally:
        follower.close()


def test_a_partial_line_waits_for_its_newline(log_file: Path) -> None:
    follower = LogFollower([log_file])
    try:
        whole = line("/slow")
        append(log_file, whole[:20])
        assert follower.read_new() == []
        append(log_file, whole[20:-1])
        assert follower.read_new() == []
        append(log_file, b"\n")
        assert paths(follower.read_new()) == ["/slow"]
    finally:
        follower.close()
    assert (follower.stats.lines, follower.stats.skipped) == (1, 0)


def test_a_line_half_written_when_following_starts_is_read_whole(log_file: Path) -> None:
    whole = line("/half")
    append(log_file, whole[:30])
    follower = LogFollower([log_file])
    try:
        append(log_file, whole[30:])
        assert paths(follower.read_new()) == ["/half"]
    finally:
        follower.close()
    assert follower.stats.skipped == 0


def test_rotation_by_rename_finishes_the_old_file_then_reads_the_new_one(log_file: Path) -> None:
    follower = LogFollower([log_file])
    writer = log_file.open("ab", buffering=0)  # nginx keeps its descriptor until told to reopen
    try:
        writer.write(line("/before-1"))
        assert paths(follower.read_new()) == ["/before-1"]
        writer.write(line("/before-2") + line("/before-3"))  # written just before rotation
        log_file.rename(log_file.with_name("access.log.1"))
        append(log_file, line("/new-1"))
        assert paths(follower.read_new()) == ["/before-2", "/before-3", "/new-1"]
        writer.write(line("/late"))  # the writer has not reopened yet
        append(log_file, line("/new-2"))
        assert paths(follower.read_new()) == ["/late", "/new-2"]
        assert follower.read_new() == []  # a quiet poll: the old file is let go
        writer.write(line("/after-close"))  # nobody follows the old file any more
        append(log_file, line("/new-3"))
        new = follower.read_new()
    finally:
        writer.close()
        follower.close()
    assert paths(new) == ["/new-3"]
    assert new[0].source == "access.log:3"  # the new file's line numbers start at 1
    assert follower.stats.events == 7


def test_the_old_file_is_kept_one_quiet_poll_for_a_writer_that_has_not_reopened(
    log_file: Path,
) -> None:
    follower = LogFollower([log_file])
    try:
        with log_file.open("ab", buffering=0) as old:
            log_file.rename(log_file.with_name("access.log.1"))
            append(log_file, line("/new"))
            assert paths(follower.read_new()) == ["/new"]  # nothing new in the old file yet
            old.write(line("/late"))
            assert paths(follower.read_new()) == ["/late"]
            assert follower.read_new() == []
            old.write(line("/too-late"))
            assert follower.read_new() == []
    finally:
        follower.close()


def test_a_rotation_while_the_previous_old_file_is_still_drained_loses_nothing(
    log_file: Path,
) -> None:
    follower = LogFollower([log_file])
    try:
        log_file.rename(log_file.with_name("access.log.1"))
        append(log_file, line("/gen-1"))
        with log_file.open("ab", buffering=0) as gen_1:
            assert paths(follower.read_new()) == ["/gen-1"]  # gen 0 is drained for a poll more
            gen_1.write(line("/gen-1-late"))
            log_file.rename(log_file.with_name("access.log.2"))
            append(log_file, line("/gen-2"))
            assert paths(follower.read_new()) == ["/gen-1-late", "/gen-2"]
            gen_1.write(line("/gen-1-later"))
            assert paths(follower.read_new()) == ["/gen-1-later"]
            assert follower.read_new() == []
    finally:
        follower.close()
    assert follower.stats.events == 4


def test_copytruncate_starts_again_from_the_start(log_file: Path) -> None:
    follower = LogFollower([log_file])
    try:
        append(log_file, line("/long-path-before-truncation-1") + line("/long-path-before-2"))
        assert len(follower.read_new()) == 2
        append(log_file, b"1.2.3.4 - - [14/Nov")  # a line cut by the truncation
        assert follower.read_new() == []
        os.truncate(log_file, 0)
        append(log_file, line("/after"))
        new = follower.read_new()
    finally:
        follower.close()
    assert paths(new) == ["/after"]
    assert new[0].source == "access.log:1"
    assert follower.stats.skipped_by_reason == {"not nginx combined format": 1}


def test_a_file_created_later_is_waited_for_and_read_from_its_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "later.log"
    with caplog.at_level(logging.WARNING, logger="apishield.ingest"):
        follower = LogFollower([path])
        try:
            for _ in range(3):
                assert follower.read_new() == []
            path.write_bytes(line("/first") + line("/second"))
            new = follower.read_new()
        finally:
            follower.close()
    assert paths(new) == ["/first", "/second"]
    waiting = [r for r in caplog.records if "does not exist yet" in r.getMessage()]
    assert len(waiting) == 1
    assert str(path) in waiting[0].getMessage()


def test_malformed_lines_are_counted_with_their_file_and_line_number(log_file: Path) -> None:
    follower = LogFollower([log_file], "nginx")
    try:
        append(log_file, line("/ok") + b"this is not a log line\n\n" + line("/bad", 99_999))
        append(log_file, line("/ok-2"))
        assert paths(follower.read_new()) == ["/ok", "/ok-2"]
    finally:
        follower.close()
    stats = follower.stats
    assert (stats.lines, stats.events, stats.skipped) == (4, 2, 2)
    assert [(e.source, e.line) for e in stats.errors] == [("access.log", 2), ("access.log", 4)]
    assert stats.errors[0].reason.startswith("not nginx combined format")


def test_counts_as_read_exchanges_counts(tmp_path: Path) -> None:
    """Invalid UTF-8: garbage is a counted skip; a real line with one bad byte in a header is
    still an event, as `read_exchanges` reads it."""
    path = tmp_path / "mixed.log"
    path.write_bytes(
        line("/a")
        + b"\xff\xfe\x00\x81 binary garbage\n"
        + line("/b", agent=b"bad \xc3\x28 utf-8")
        + b"\xc0\xaf\xed\xa0\x80\n"
        + b"   \n"
        + line("/c", status=0)
    )
    stats = IngestStats()
    expected = [(e.request.path, e.source) for e in read_exchanges(path, stats=stats)]
    follower = LogFollower([path], from_start=True)
    try:
        got = [(e.request.path, e.source) for e in follower.read_new()]
    finally:
        follower.close()
    assert got == expected
    assert follower.stats == stats
    assert follower.stats.skipped == 2


def test_a_too_long_line_is_counted_and_reading_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "access.log"
    path.write_bytes(b"")
    follower = LogFollower([path], "nginx", ParseOptions("", max_body_bytes=0))
    try:
        append(path, line("/before") + b"x" * (1 << 20))
        assert paths(follower.read_new()) == ["/before"]
        append(path, b"x" * (300 << 10) + b"\n" + line("/after"))
        assert paths(follower.read_new()) == ["/after"]
    finally:
        follower.close()
    assert follower.stats.skipped_by_reason == {"line too long": 1}
    assert follower.stats.errors[0].line == 2


def test_har_is_refused_naming_the_formats_that_can_be_followed(tmp_path: Path) -> None:
    har = tmp_path / "capture.har"
    har.write_bytes(b'{\n  "log": {\n    "version": "1.2",\n    "entries": []\n  }\n}\n')
    with pytest.raises(IngestError, match=r"HAR is one JSON document.*nginx, nginx-json, envoy"):
        LogFollower([har], "har")
    with pytest.raises(IngestError, match=r"capture\.har holds HAR.*jsonl\)"):
        LogFollower([har])
    with pytest.raises(IngestError, match=r"'ngnix'\. Did you mean 'nginx'\?.*auto, nginx"):
        LogFollower([har], "ngnix")


def test_a_har_document_appearing_later_is_not_followed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    har = tmp_path / "capture.har"
    follower = LogFollower([har])
    try:
        har.write_bytes(b'{"log": {"version": "1.2", "entries": []}}\n')
        with caplog.at_level(logging.ERROR, logger="apishield.ingest"):
            assert follower.read_new() == []
            assert follower.read_new() == []
    finally:
        follower.close()
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "holds HAR" in errors[0].getMessage()


def test_an_undetectable_log_is_skipped_line_by_line_and_said_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(b"")
    follower = LogFollower([path])
    try:
        append(path, b"dear diary\n" * 3)
        assert follower.read_new() == []
        assert follower.stats.lines == 0  # waiting for enough lines to decide
        with caplog.at_level(logging.ERROR, logger="apishield.ingest"):
            append(path, b"dear diary\n" * 6)
            assert follower.read_new() == []
            append(path, b"still no log\n")
            assert follower.read_new() == []
    finally:
        follower.close()
    assert follower.stats.skipped_by_reason == {"format not detected": 10}
    assert len(caplog.records) == 1
    assert "notes.txt: cannot tell the log format" in caplog.records[0].getMessage()


def test_jsonl_is_detected_and_several_files_are_followed(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, second = tmp_path / "a" / "x.log", tmp_path / "b" / "x.log"
    first.write_bytes(b"")
    second.write_bytes(b"")
    follower = LogFollower([first, second, first])
    try:
        append(first, exchange_to_jsonl(make_exchange("POST", "/jsonl", body=b"{}")))
        append(
            second,
            orjson.dumps({"msec": 1.7e9, "remote_addr": "1.2.3.4", "request": "GET /j HTTP/1.1"}),
        )
        append(second, b"\n")
        new = follower.read_new()
    finally:
        follower.close()
    assert sorted(paths(new)) == ["/j", "/jsonl"]
    assert {e.source.rpartition(":")[0] for e in new} == {str(first), str(second)}


def test_each_call_takes_at_most_max_lines(log_file: Path) -> None:
    follower = LogFollower([log_file], max_lines=3)
    try:
        append(log_file, b"".join(line(f"/{i}") for i in range(10)))
        sizes = [len(follower.read_new()) for _ in range(5)]
    finally:
        follower.close()
    assert sizes == [3, 3, 3, 1, 0]


def test_run_hands_each_exchange_over_until_stopped(
    log_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    follower = LogFollower([log_file], max_lines=2)
    seen: queue.Queue[Exchange] = queue.Queue()
    stop = threading.Event()

    def hand_over(exchange: Exchange) -> None:
        if exchange.request.path == "/1":
            raise RuntimeError("a failing consumer")
        seen.put(exchange)

    thread = threading.Thread(target=follower.run, args=(hand_over, stop, 0.01), daemon=True)
    with caplog.at_level(logging.ERROR, logger="apishield.ingest"):
        thread.start()
        try:
            append(log_file, b"".join(line(f"/{i}") for i in range(5)))
            got = [seen.get(timeout=10).request.path for _ in range(4)]
        finally:
            stop.set()
            thread.join(10)
            follower.close()
    assert not thread.is_alive()
    assert got == ["/0", "/2", "/3", "/4"]  # the batch goes on after the failure
    assert seen.empty()
    assert len(caplog.records) == 1
    assert "handing over access.log:2 failed" in caplog.records[0].getMessage()


def test_mistakes_in_what_to_follow_raise_at_once(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match=r"cannot open .*: Is a directory; check the path"):
        LogFollower([tmp_path])
    with pytest.raises(IngestError, match="no log file to follow"):
        LogFollower([])
    with pytest.raises(IngestError, match="unknown field 'ip'"):
        LogFollower([tmp_path / "x.log"], options=ParseOptions("", field_map={"ip": ["x"]}))


ENDS = {"cr": [b"\r"], "mixed": [b"\r", b"\n", b"\r\n", b"\r", b"\r\r\n", b"\n\r"]}


def ended(count: int, ends: str, first: int = 0) -> bytes:
    """`count` lines with the line ends `ends` names, in turn."""
    cycle = ENDS[ends]
    return b"".join(
        line(f"/r{i}").rstrip(b"\n") + cycle[i % len(cycle)] for i in range(first, first + count)
    )


@pytest.mark.parametrize("ends", sorted(ENDS))
def test_records_ending_in_a_lone_cr_are_followed_one_by_one_as_analyze_reads_them(
    tmp_path: Path, ends: str
) -> None:
    path = tmp_path / "access.log"
    path.write_bytes(ended(20, ends))
    follower = LogFollower([path], from_start=True)
    try:
        new = follower.read_new()
        append(path, ended(20, ends, first=20))
        new += follower.read_new()
    finally:
        follower.close()
    stats = IngestStats()
    expected = [(e.request.path, e.source) for e in read_exchanges(path, stats=stats)]
    assert [(e.request.path, e.source) for e in new] == expected
    assert paths(new) == [f"/r{i}" for i in range(40)]
    assert follower.stats == stats
    assert stats.skipped == 0


def test_a_cr_only_log_longer_than_a_line_may_be_is_followed_line_by_line(tmp_path: Path) -> None:
    path = tmp_path / "mac.log"
    path.write_bytes(b"")
    follower = LogFollower([path], "nginx", ParseOptions("", max_body_bytes=0))
    count = (1 << 20) // len(line("/r0")) * 2  # twice the longest line allowed
    try:
        append(path, ended(count, "cr"))
        new = [e for _ in range(count // 10_000 + 1) for e in follower.read_new()]
    finally:
        follower.close()
    assert len(new) == count
    assert (follower.stats.lines, follower.stats.skipped) == (count, 0)


def test_a_cr_that_ends_what_is_written_ends_its_line_and_an_lf_after_it_is_its_crlf(
    log_file: Path,
) -> None:
    follower = LogFollower([log_file])
    try:
        append(log_file, line("/cr").replace(b"\n", b"\r"))
        first = follower.read_new()  # a lone CR so far: the line is not kept waiting
        append(log_file, b"\n")  # it was a CRLF written in two halves, not an empty line
        assert follower.read_new() == []
        append(log_file, line("/next"))
        second = follower.read_new()
    finally:
        follower.close()
    assert paths(first) == ["/cr"]
    assert paths(second) == ["/next"]
    assert second[0].source == "access.log:2"
    assert (follower.stats.lines, follower.stats.skipped) == (2, 0)


@pytest.mark.parametrize("end", [b"\r", b"\r\n"])
def test_joining_a_log_whose_last_line_ends_in_a_cr_starts_after_it(
    tmp_path: Path, end: bytes
) -> None:
    path = tmp_path / "access.log"
    path.write_bytes(line("/old/1").replace(b"\n", b"\r") + line("/old/2").replace(b"\n", b"\r"))
    follower = LogFollower([path])
    try:
        append(path, end[1:] + line("/new").replace(b"\n", b"\r"))
        new = follower.read_new()
    finally:
        follower.close()
    assert paths(new) == ["/new"]
    assert new[0].source == "access.log:1"


def test_a_cr_before_a_truncation_does_not_swallow_the_lf_after_it(log_file: Path) -> None:
    follower = LogFollower([log_file])
    try:
        append(log_file, line("/long-path-before-truncation").replace(b"\n", b"\r"))
        assert paths(follower.read_new()) == ["/long-path-before-truncation"]
        os.truncate(log_file, 0)
        append(log_file, b"\n" + line("/after"))  # an empty first line, then a record
        new = follower.read_new()
    finally:
        follower.close()
    assert paths(new) == ["/after"]
    assert new[0].source == "access.log:2"


@settings(max_examples=300, deadline=None)
@given(
    pieces=st.lists(
        st.binary(max_size=12) | st.sampled_from([b"\r", b"\n", b"\r\n", b"x\r", b"\rx"]),
        max_size=12,
    )
)
def test_lines_end_where_universal_newlines_end_them_however_the_writes_fall(
    pieces: list[bytes],
) -> None:
    """Each piece is written between two polls; the last line is taken when the file is let go."""
    data = b"".join(pieces)
    assume(not data.startswith(BOM[:1]))
    expected = [
        (number, text.rstrip(b"\r\n"))
        for number, text in enumerate(data.splitlines(keepends=True), 1)
        if not text.isspace()
    ]
    stats = IngestStats()
    got: list[tuple[int, bytes]] = []
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "pieces.log"
        path.write_bytes(b"")
        generation = _Generation(io.FileIO(path, "r"), "pieces.log", 1 << 10)
        try:
            for piece in pieces:
                append(path, piece)
                got += generation.lines(1 << 10, stats)
            got += generation.finish(stats)
        finally:
            generation.close()
    assert [(number, text.rstrip(b"\r\n")) for number, text in got] == expected
    assert stats.lines == len(expected)

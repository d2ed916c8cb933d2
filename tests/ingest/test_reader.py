import base64
import gzip
import io
import logging
import random
import sys
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apishield.config import FORMATS
from apishield.exchange import Exchange
from apishield.ingest import IngestError, IngestStats, exchange_to_jsonl, read_exchanges
from apishield.ingest.base import LineParser, ParseOptions
from apishield.ingest.reader import READERS, lines_of, parsed, parsed_stream
from apishield.ingest.stats import Skip
from apishield.ingest.stream import open_log, read_lines
from apishield.testing import make_exchange

COMBINED = b'1.2.3.4 - - [14/Nov/2023:22:13:20 +0000] "GET /a HTTP/1.1" 200 5 "-" "curl/8"\n'


def test_every_configurable_format_has_a_reader() -> None:
    assert set(READERS) == set(FORMATS) - {"auto"}


def test_argument_mistakes_raise_at_the_call_not_on_iteration(tmp_path: Path) -> None:
    path = tmp_path / "a.log"
    path.write_bytes(COMBINED)
    stats = IngestStats()
    with pytest.raises(
        IngestError, match=r"unknown log format 'nginxjson'. Did you mean 'nginx-json'\?.*jsonl"
    ):
        read_exchanges(path, "nginxjson", stats=stats)
    with pytest.raises(IngestError, match="unknown field 'ip'"):
        read_exchanges(path, field_map={"ip": ["x"]}, stats=stats)
    with pytest.raises(IngestError, match=r"does not exist.*use - to read stdin"):
        read_exchanges(tmp_path / "missing.log", stats=stats)
    with pytest.raises(IngestError, match="max_body_bytes"):
        read_exchanges(path, max_body_bytes=-1, stats=stats)


def test_auto_detects_and_reads(tmp_path: Path) -> None:
    path = tmp_path / "access.log.1"
    path.write_bytes(gzip.compress(COMBINED * 3))
    stats = IngestStats()
    exchanges = list(read_exchanges(path, stats=stats))
    assert [e.request.path for e in exchanges] == ["/a"] * 3
    assert [e.source for e in exchanges] == ["access.log.1:1", "access.log.1:2", "access.log.1:3"]


def test_undetectable_file_names_the_file_and_the_choices(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(b"dear diary\n")
    with pytest.raises(
        IngestError, match=r"notes\.txt: cannot tell the log format .* one of: nginx"
    ):
        list(read_exchanges(path, stats=IngestStats()))


def test_empty_file_is_no_events_not_an_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.log"
    path.write_bytes(b"")
    stats = IngestStats()
    assert list(read_exchanges(path, stats=stats)) == []
    assert stats.lines == 0


def test_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", SimpleNamespace(buffer=io.BytesIO(COMBINED)))
    [exchange] = read_exchanges(Path("-"), stats=IngestStats())
    assert exchange.source == "stdin:1"


def test_field_map_reaches_the_json_reader(tmp_path: Path) -> None:
    path = tmp_path / "gw.json"
    path.write_bytes(
        orjson.dumps({"when": "2023-11-14T22:13:20Z", "verb": "GET", "uri": "/g", "code": 200})
        + b"\n"
    )
    stats = IngestStats()
    read = read_exchanges(
        path, field_map={"time": ["when"], "method": ["verb"], "status": ["code"]}, stats=stats
    )
    assert [e.request.path for e in read] == ["/g"]


def test_a_parser_bug_costs_one_line_and_is_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def buggy(options: ParseOptions) -> LineParser:
        def parse(line: bytes, line_no: int) -> Exchange:
            raise KeyError("oops")

        return parse

    path = tmp_path / "a.log"
    path.write_bytes(COMBINED * 2)
    stats = IngestStats()
    with open_log(path) as stream, caplog.at_level(logging.ERROR, logger="apishield.ingest"):
        exchanges = list(lines_of(buggy)(stream, ParseOptions("a.log"), stats))
    assert exchanges == []
    assert stats.skipped_by_reason == {"parser error": 2}
    assert "KeyError: 'oops'" in stats.errors[0].reason
    assert len(caplog.records) == 1


UNSUPPORTED = (b"\x28\xb5\x2f\xfd", b"PK\x03\x04")


@pytest.mark.parametrize("fmt", sorted(READERS))
@settings(max_examples=100, deadline=None)
@given(data=st.binary(max_size=300) | st.lists(st.binary(max_size=40), max_size=8).map(b"\n".join))
def test_arbitrary_bytes_never_raise_and_every_line_is_counted(
    tmp_path_factory: pytest.TempPathFactory, fmt: str, data: bytes
) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "input"
    path.write_bytes(data)
    stats = IngestStats()
    if data.startswith(UNSUPPORTED):
        with pytest.raises(IngestError, match="compressed"):
            list(read_exchanges(path, fmt, stats=stats))
        return
    exchanges = list(read_exchanges(path, fmt, stats=stats))
    assert stats.lines == stats.events + stats.skipped == len(exchanges) + stats.skipped
    assert "parser error" not in stats.skipped_by_reason


@settings(max_examples=100, deadline=None)
@given(data=st.binary(max_size=300))
def test_auto_on_arbitrary_bytes_reads_or_says_it_cannot_tell(
    tmp_path_factory: pytest.TempPathFactory, data: bytes
) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "input"
    path.write_bytes(data)
    stats = IngestStats()
    try:
        exchanges = list(read_exchanges(path, stats=stats))
    except IngestError as exc:
        assert "cannot tell" in str(exc) or "compressed" in str(exc)
        return
    assert stats.lines == stats.events + stats.skipped == len(exchanges) + stats.skipped


class ToyParser:
    """Skips lines holding "s", fails on lines holding "!", and makes an exchange of the rest."""

    def __call__(self, line: bytes, line_no: int) -> Exchange:
        if b"!" in line:
            raise ValueError("a parser bug")
        if b"s" in line:
            raise Skip("has an s", repr(line[:10]))
        exchange = make_exchange()
        exchange.source = f"toy:{line_no}:{line!r}"
        return exchange


def read_both_ways(path: Path, limit: int) -> tuple[tuple[object, ...], tuple[object, ...]]:
    """Exchanges and counts from `parsed_stream`, and from `parsed` over `read_lines`."""
    results = []
    for one_loop in (True, False):
        stats = IngestStats()
        with open_log(path) as stream:
            if one_loop:
                exchanges = list(parsed_stream(ToyParser(), stream, "t", stats, limit))
            else:
                lines = read_lines(stream, stats, limit)
                exchanges = list(parsed(ToyParser(), lines, "t", stats))
        results.append(
            (
                [exchange.source for exchange in exchanges],
                (stats.lines, stats.events, stats.skipped),
                stats.errors,
                stats.skipped_by_reason,
            )
        )
    return tuple(results[0]), tuple(results[1])


LINE_BYTES = st.lists(
    st.binary(max_size=30) | st.sampled_from([b"", b" ", b"\r", b"ok", b"s", b"!"]), max_size=12
).map(b"\n".join)


@settings(max_examples=200, deadline=None)
@given(data=LINE_BYTES, limit=st.integers(1, 24), gzipped=st.booleans(), cut=st.integers(0, 400))
def test_one_loop_reads_as_lines_then_parsed_do(
    tmp_path_factory: pytest.TempPathFactory, data: bytes, limit: int, gzipped: bool, cut: int
) -> None:
    """Same exchanges, counts and errors in the same order, for long lines and broken input."""
    path = tmp_path_factory.mktemp("loop") / "input"
    if gzipped:  # cut short, so reading fails part way through
        packed = gzip.compress(data)
        data = packed[: max(cut, 11)] if cut < len(packed) else packed
    elif data.startswith(UNSUPPORTED):
        return
    path.write_bytes(data)
    one_loop, two_steps = read_both_ways(path, limit)
    assert one_loop == two_steps


def test_a_parser_object_gives_exchanges_skips_and_contained_bugs(tmp_path: Path) -> None:
    path = tmp_path / "a.log"
    path.write_bytes(b"ok\nsss\n!\nfine\n")
    stats = IngestStats()
    with open_log(path) as stream:
        exchanges = list(parsed_stream(ToyParser(), stream, "a.log", stats, 100))
    assert [e.source for e in exchanges] == ["toy:1:b'ok\\n'", "toy:4:b'fine\\n'"]
    assert stats.skipped_by_reason == {"has an s": 1, "parser error": 1}


NGINX_LINE = b'203.0.113.7 - - [14/Nov/2023:22:13:20 +0000] "GET /v1/a HTTP/1.1" 200 5 "-" "curl"\n'


def test_a_compressed_file_broken_before_its_first_line_is_a_counted_skip(tmp_path: Path) -> None:
    whole = gzip.compress(NGINX_LINE * 2000)
    path = tmp_path / "cut.log.gz"
    path.write_bytes(whole[:20])  # the header and a few bytes: no line comes out whole
    stats = IngestStats()
    assert list(read_exchanges(path, stats=stats)) == []
    assert (stats.lines, stats.skipped) == (1, 1)
    assert set(stats.skipped_by_reason) <= {"truncated input", "read error"}


def test_a_first_line_longer_than_the_read_ahead_is_detected(tmp_path: Path) -> None:
    from apishield.ingest import exchange_to_jsonl

    noise = base64.b64encode(random.Random(5).randbytes(250_000))  # gzip cannot shrink it
    big = make_exchange(method="POST", body=b'{"note": "' + noise + b'"}')
    line = exchange_to_jsonl(big)
    assert len(line) > 300_000
    path = tmp_path / "capture.jsonl.gz"
    path.write_bytes(gzip.compress(line + exchange_to_jsonl(make_exchange())))
    stats = IngestStats()
    assert len(list(read_exchanges(path, stats=stats))) == 2
    assert stats.skipped == 0


def records(fmt: str, count: int) -> list[bytes]:
    """`count` lines of format `fmt`, each without its line end, each a different path."""
    if fmt == "nginx":
        return [COMBINED.replace(b"/a", b"/r%d" % i).rstrip(b"\n") for i in range(count)]
    if fmt == "jsonl":
        # a header with an escaped CR in it: a CR inside a JSON string is never a raw byte
        return [
            exchange_to_jsonl(make_exchange(path=f"/r{i}", headers={"x-note": "a\rb"})).rstrip()
            for i in range(count)
        ]
    fields = {"time_iso8601": "2023-11-14T22:13:20+00:00", "request_uri": "/", "status": 200}
    if fmt == "envoy":
        fields = {"start_time": "2023-11-14T22:13:20Z", "response_code": 200, "upstream_host": "x"}
        return [orjson.dumps({**fields, "path": f"/r{i}", "method": "GET"}) for i in range(count)]
    fields["request_method"] = "GET"
    return [orjson.dumps({**fields, "request_uri": f"/r{i}"}) for i in range(count)]


ENDS = {"cr": [b"\r"], "mixed": [b"\r", b"\n", b"\r\n", b"\r", b"\r\r\n", b"\n\r"]}


@pytest.mark.parametrize("pack", [lambda b: b, gzip.compress], ids=["plain", "gz"])
@pytest.mark.parametrize("ends", sorted(ENDS))
@pytest.mark.parametrize("fmt", ["nginx", "nginx-json", "envoy", "jsonl"])
def test_records_ending_in_a_lone_cr_are_detected_and_read_one_by_one(
    tmp_path: Path, fmt: str, ends: str, pack: Callable[[bytes], bytes]
) -> None:
    lines = records(fmt, 50)
    ended = [line + ENDS[ends][i % len(ENDS[ends])] for i, line in enumerate(lines)]
    path = tmp_path / "access.log"
    path.write_bytes(pack(b"".join(ended)))
    stats = IngestStats()
    exchanges = list(read_exchanges(path, stats=stats))
    assert [e.request.path for e in exchanges] == [f"/r{i}" for i in range(50)]
    assert (stats.lines, stats.events, stats.skipped) == (50, 50, 0)
    if fmt == "jsonl":
        assert {e.request.headers["x-note"] for e in exchanges} == {"a\rb"}


def test_a_cr_only_log_longer_than_a_line_may_be_is_read_whole(tmp_path: Path) -> None:
    count = (1 << 20) // len(COMBINED) * 2  # twice the longest line allowed below
    path = tmp_path / "mac.log.gz"
    path.write_bytes(gzip.compress(COMBINED.replace(b"\n", b"\r") * count))
    stats = IngestStats()
    exchanges = read_exchanges(path, max_body_bytes=0, stats=stats)
    assert sum(1 for _ in exchanges) == count
    assert (stats.lines, stats.skipped) == (count, 0)

import gzip
import io
import logging
import sys
from pathlib import Path
from types import SimpleNamespace

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apishield.config import FORMATS
from apishield.exchange import Exchange
from apishield.ingest import IngestError, IngestStats, read_exchanges
from apishield.ingest.base import LineParser, ParseOptions
from apishield.ingest.reader import READERS, lines_of
from apishield.ingest.stream import open_log

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

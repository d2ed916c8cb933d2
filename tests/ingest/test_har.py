import base64
import gzip
import resource
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apishield.exchange import Exchange
from apishield.ingest import IngestStats, read_exchanges

T = 1_700_000_000.0


def entry(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "startedDateTime": "2023-11-14T23:13:20.250+01:00",
        "time": 42.5,
        "request": {
            "method": "post",
            "url": "https://api.example.com:8443/v1/login?next=%2Fhome#section",
            "httpVersion": "HTTP/1.1",
            "headers": [
                {"name": "Content-Type", "value": "application/json"},
                {"name": "Cookie", "value": "a=1"},
                {"name": "cookie", "value": "b=2"},
            ],
            "postData": {"mimeType": "application/json", "text": '{"user": "ana"}'},
            "bodySize": 15,
        },
        "response": {
            "status": 200,
            "httpVersion": "HTTP/1.1",
            "headers": [{"name": "Content-Type", "value": "application/octet-stream"}],
            "content": {
                "size": 4,
                "mimeType": "application/octet-stream",
                "text": base64.b64encode(b"\x00\xff\x01\x02").decode(),
                "encoding": "base64",
            },
        },
        "serverIPAddress": "198.51.100.20",
    }
    base.update(changes)
    return base


def har(*entries: Any) -> bytes:
    document = {"log": {"version": "1.2", "creator": {"name": "test"}, "entries": list(entries)}}
    return orjson.dumps(document, option=orjson.OPT_INDENT_2)


def read(
    tmp_path: Path, data: bytes, fmt: str = "har", **options: Any
) -> tuple[list[Exchange], IngestStats]:
    path = tmp_path / "capture.har"
    path.write_bytes(data)
    stats = IngestStats()
    return list(read_exchanges(path, fmt, stats=stats, **options)), stats


def test_entry_with_bodies(tmp_path: Path) -> None:
    [exchange], stats = read(tmp_path, har(entry()))
    request = exchange.request
    assert (request.method, request.scheme, request.host) == (
        "POST",
        "https",
        "api.example.com:8443",
    )
    assert (request.path, request.query) == ("/v1/login", "next=%2Fhome")
    assert request.headers == {
        "content-type": "application/json",
        "cookie": "a=1, b=2",
        "host": "api.example.com:8443",
    }
    assert (request.body, request.body_size) == (b'{"user": "ana"}', 15)
    assert request.peer_ip == ""  # a HAR does not record the client's address
    assert exchange.response is not None
    assert exchange.response.body == b"\x00\xff\x01\x02"
    assert exchange.response.headers == {"content-type": "application/octet-stream"}
    assert exchange.started == T + 0.25
    assert exchange.duration == 0.0425
    assert exchange.source == "capture.har:1"
    assert stats.lines == stats.events == 1


def test_auto_detects_pretty_printed_and_gzipped_har(tmp_path: Path) -> None:
    exchanges, _ = read(tmp_path, gzip.compress(har(entry(), entry())), fmt="auto")
    assert len(exchanges) == 2


def test_http2_pseudo_headers_give_the_host(tmp_path: Path) -> None:
    request = entry()["request"]
    request["headers"] = [
        {"name": ":authority", "value": "h2.example"},
        {"name": ":method", "value": "GET"},
    ]
    [exchange], _ = read(tmp_path, har(entry(request=request)))
    assert exchange.request.headers == {"host": "h2.example"}


def test_bodies_are_capped_with_their_real_size(tmp_path: Path) -> None:
    [exchange], _ = read(tmp_path, har(entry()), max_body_bytes=3)
    assert (exchange.request.body, exchange.request.body_size) == (b'{"u', 15)
    assert exchange.response is not None
    assert (exchange.response.body, exchange.response.body_size) == (b"\x00\xff\x01", 4)


def test_missing_and_empty_bodies(tmp_path: Path) -> None:
    get = {"method": "GET", "url": "http://h/x", "headers": [], "bodySize": 0}
    response = {"status": 304, "headers": [], "content": {"size": 120, "mimeType": "text/html"}}
    [exchange], _ = read(tmp_path, har(entry(request=get, response=response)))
    assert (exchange.request.body, exchange.request.body_size) == (b"", 0)
    assert exchange.response is not None
    assert (exchange.response.body, exchange.response.body_size) == (None, 120)


def test_blocked_request_has_no_response(tmp_path: Path) -> None:
    [exchange], _ = read(tmp_path, har(entry(response={"status": 0, "headers": [], "content": {}})))
    assert exchange.response is None


def test_bad_entries_are_counted_by_index(tmp_path: Path) -> None:
    bad_url = entry()
    bad_url["request"] = {"method": "GET"}
    entries = [
        entry(),
        "text",
        entry(startedDateTime="soon"),
        bad_url,
        entry(response={"status": 7}),
    ]
    exchanges, stats = read(tmp_path, har(*entries, entry()))
    assert [e.source for e in exchanges] == ["capture.har:1", "capture.har:6"]
    assert [(e.line, e.reason.split(":")[0]) for e in stats.errors] == [
        (2, "entry is not an object"),
        (3, "bad time"),
        (4, "bad field request.url"),
        (5, "bad status"),
    ]
    assert stats.lines == 6


def test_document_broken_midway_keeps_the_entries_before(tmp_path: Path) -> None:
    data = har(*[entry() for _ in range(5)])
    cut = data.index(b'"startedDateTime"', data.index(b'"startedDateTime"') + 1) + 200
    exchanges, stats = read(tmp_path, data[:cut] + b"\x00 garbage")
    assert len(exchanges) == 1
    assert stats.skipped_by_reason == {"not valid JSON": 1}
    assert stats.errors[0].line == 2
    assert stats.lines == stats.events + stats.skipped


def test_truncated_gzip_har(tmp_path: Path) -> None:
    data = gzip.compress(har(*[entry() for _ in range(200)]))
    exchanges, stats = read(tmp_path, data[: len(data) // 2])
    assert 0 < len(exchanges) < 200
    assert stats.skipped == 1
    assert stats.lines == stats.events + stats.skipped


def test_deeply_nested_entry_is_skipped_in_constant_memory(tmp_path: Path) -> None:
    depth = 200_000
    data = b'{"log": {"entries": [' + orjson.dumps(entry())
    data += b", [" + b"[" * depth + b"]" * depth + b"], " + orjson.dumps(entry()) + b"]}}"
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    exchanges, stats = read(tmp_path, data)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert len(exchanges) == 2
    assert stats.skipped_by_reason == {"entry nested too deeply": 1}
    assert grown_mb < 100


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"[1, 2]", "not a HAR"),
        (b'{"log": []}', "not a HAR"),
        (b'{"log": {"entries": {}}}', "not a HAR"),
        (b"", "not valid JSON"),
        (b'{"log": {"entries": [1e999999]}}', "entry is not an object"),
    ],
)
def test_documents_that_are_not_hars(tmp_path: Path, data: bytes, reason: str) -> None:
    _, stats = read(tmp_path, data)
    assert list(stats.skipped_by_reason) == [reason]


def test_invalid_utf8_stops_the_document_where_it_is(tmp_path: Path) -> None:
    data = har(entry(), entry()).replace(b"ana", b"\xc0na", 1)
    exchanges, stats = read(tmp_path, data)
    assert exchanges == []
    assert stats.skipped_by_reason == {"not valid JSON": 1}
    assert "UTF8" in stats.errors[0].reason


def test_other_keys_are_passed_over(tmp_path: Path) -> None:
    document = {
        "comment": [[{"x": 1}]],
        "log": {"pages": [{"id": "p"}], "entries": [entry()], "z": {}},
        "y": 2,
    }
    exchanges, stats = read(tmp_path, orjson.dumps(document))
    assert len(exchanges) == 1
    assert stats.skipped == 0


@settings(max_examples=150, deadline=None)
@given(cut=st.integers(min_value=0, max_value=4000), junk=st.binary(max_size=20))
def test_cut_or_damaged_hars_never_raise(
    tmp_path_factory: pytest.TempPathFactory, cut: int, junk: bytes
) -> None:
    data = har(entry(), entry(startedDateTime=None), entry())
    path = tmp_path_factory.mktemp("har") / "cut.har"
    path.write_bytes(b" " + data[:cut] + junk + data[cut + len(junk) :])  # no magic bytes first
    stats = IngestStats()
    exchanges = list(read_exchanges(path, "har", stats=stats))
    assert stats.lines == stats.events + stats.skipped == len(exchanges) + stats.skipped
    assert len(exchanges) <= 3
    assert "parser error" not in stats.skipped_by_reason


def test_large_har_streams_entry_by_entry(tmp_path: Path) -> None:
    body = base64.b64encode(bytes(range(256)) * 40).decode()  # 10 KiB per entry
    path = tmp_path / "big.har"
    with path.open("wb") as out:
        out.write(b'{"log": {"version": "1.2", "entries": [')
        for i in range(3000):
            item = entry()
            item["response"]["content"]["text"] = body
            out.write((b", " if i else b"") + orjson.dumps(item))
        out.write(b"]}}")
    assert path.stat().st_size > 30_000_000
    stats = IngestStats()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    count = sum(1 for _ in read_exchanges(path, "har", stats=stats))
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert count == 3000
    assert grown_mb < 20


def test_the_client_address_extension_is_the_peer(tmp_path: Path) -> None:
    with_peer = {**entry(), "_clientIPAddress": "10.0.0.5"}
    [exchange], _ = read(tmp_path, har(with_peer))
    assert exchange.request.peer_ip == "10.0.0.5"
    odd = {**entry(), "_clientIPAddress": ["not", "a", "string"]}
    [exchange], stats = read(tmp_path, har(odd))
    assert exchange.request.peer_ip == "" and stats.skipped == 0


def test_a_log_without_entries_is_not_a_har_and_says_so(tmp_path: Path) -> None:
    exchanges, stats = read(tmp_path, orjson.dumps({"log": {"version": "1.2"}}))
    assert exchanges == [] and stats.skipped_by_reason == {"not a HAR": 1}


def test_a_second_document_after_the_first_is_reported(tmp_path: Path) -> None:
    exchanges, stats = read(tmp_path, har(entry(), entry()) + b"\n" + har(entry()))
    assert len(exchanges) == 2
    assert stats.skipped == 1 and stats.lines == 3


def with_bodies(request_text: Any, response_text: Any, encoding: Any = "base64") -> dict[str, Any]:
    item = entry()
    item["request"]["postData"] = {"text": request_text, "encoding": encoding}
    item["response"]["content"] = {"size": 4, "text": response_text, "encoding": encoding}
    return item


def test_a_body_that_is_not_base64_is_counted_and_its_exchange_analysed(tmp_path: Path) -> None:
    data = har(entry(), with_bodies("%%%%", "not base64 at all!"), entry())
    exchanges, stats = read(tmp_path, data)
    assert [e.source for e in exchanges] == ["capture.har:1", "capture.har:2", "capture.har:3"]
    flawed = exchanges[1]
    assert (flawed.request.method, flawed.request.path) == ("POST", "/v1/login")
    assert (flawed.request.body, flawed.request.body_size) == (None, 15)
    assert flawed.response is not None and flawed.response.status == 200
    assert (flawed.response.body, flawed.response.body_size) == (None, 4)
    assert stats.skipped == 0 and stats.lines == stats.events == 3
    assert stats.partial_by_reason == {
        "bad field request.postData.text": 1,
        "bad field response.content.text": 1,
    }
    assert stats.partial == 2
    assert [(e.line, e.reason.split(":")[0]) for e in stats.errors] == [
        (2, "bad field request.postData.text"),
        (2, "bad field response.content.text"),
    ]
    assert "not valid base64" in stats.errors[1].reason


@pytest.mark.parametrize(
    "text",
    [
        base64.b64encode(b"\x00\xff\x01\x02\xfb\xef").decode(),  # browsers: padded, one line
        base64.encodebytes(b"\x00\xff\x01\x02\xfb\xef" * 20).decode(),  # MIME: 76-column lines
        base64.b64encode(b"\x00\xff\x01\x02\xfb").decode().rstrip("="),  # padding left off
        base64.urlsafe_b64encode(b"\x00\xff\x01\x02\xfb\xef").decode(),  # URL-safe alphabet
        "AAEC/w\r\n==",
    ],
)
def test_base64_as_exporters_write_it_is_read(tmp_path: Path, text: str) -> None:
    [exchange], stats = read(tmp_path, har(with_bodies(text, text)))
    expected = base64.b64decode("".join(text.split()).translate(str.maketrans("-_", "+/")) + "==")
    assert exchange.request.body == expected
    assert exchange.response is not None and exchange.response.body == expected
    assert stats.partial == 0 and stats.errors == []


@pytest.mark.parametrize(
    "text",
    [
        "%%%%",  # no base64 character at all: once read as an empty body
        "AAEC-w+/",  # two alphabets at once
        "AA==AA==",  # padding inside: two bodies pasted together
        "AAAA=",  # more padding than is missing
        "AAECA",  # one character over a whole group
        "AAEC/wé=",
        "AA EC/w==\x00",
    ],
)
def test_garbage_that_looks_like_base64_is_refused(tmp_path: Path, text: str) -> None:
    [exchange], stats = read(tmp_path, har(with_bodies("e30=", text)))
    assert exchange.request.body == b"{}"
    assert exchange.response is not None and exchange.response.body is None
    assert stats.partial_by_reason == {"bad field response.content.text": 1}


def test_other_unreadable_body_fields_are_counted(tmp_path: Path) -> None:
    odd_size = entry()
    odd_size["request"]["bodySize"] = "15"
    odd_size["response"]["content"]["size"] = -7
    unknown_size = entry()
    unknown_size["request"]["bodySize"] = -1  # HAR's "not known": no flaw
    post_not_object = entry()
    post_not_object["request"]["postData"] = "user=ana"
    data = har(
        with_bodies(["e30="], {"text": "e30="}),
        with_bodies("e30=", "e30=", encoding="gzip"),
        odd_size,
        unknown_size,
        post_not_object,
    )
    exchanges, stats = read(tmp_path, data)
    assert len(exchanges) == 5 and stats.skipped == 0
    assert exchanges[0].request.body is None and exchanges[1].request.body is None
    assert exchanges[2].request.body_size == 15  # the text gives the real size
    assert exchanges[3].request.body_size == 15
    assert exchanges[4].request.body is None
    assert stats.partial_by_reason == {
        "bad field request.postData.text": 1,
        "bad field response.content.text": 1,
        "bad field request.postData.encoding": 1,
        "bad field response.content.encoding": 1,
        "bad field request.bodySize": 1,
        "bad field response.content.size": 1,
        "bad field request.postData": 1,
    }
    assert [e.line for e in stats.errors] == [1, 1, 2, 2, 3, 3, 5]


def test_a_huge_base64_body_is_cut_to_the_cap_with_its_real_size(tmp_path: Path) -> None:
    body = bytes(range(256)) * 8192  # 2 MiB
    item = with_bodies("e30=", base64.b64encode(body).decode())
    [exchange], stats = read(tmp_path, har(item), max_body_bytes=1000)
    assert exchange.response is not None
    assert (exchange.response.body, exchange.response.body_size) == (body[:1000], len(body))
    [exchange], _ = read(tmp_path, har(with_bodies("e30=", "é" * 3000, None)), max_body_bytes=10)
    assert exchange.response is not None
    assert (exchange.response.body, exchange.response.body_size) == ("é".encode() * 5, 6000)
    assert stats.partial == 0

import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apishield.exchange import Exchange
from apishield.ingest import IngestError, IngestStats, read_exchanges
from apishield.ingest.base import ParseOptions
from apishield.ingest.jsonlog import json_parser
from apishield.ingest.stats import Skip

T = 1_700_000_000.0

NGINX = {
    "time_iso8601": "2023-11-14T22:13:20+00:00",
    "msec": "1700000000.123",
    "remote_addr": "203.0.113.7",
    "request_method": "post",
    "request_uri": "/v1/customers/42/profile?expand=true",
    "status": "201",
    "body_bytes_sent": "1534",
    "request_length": "412",
    "request_time": "0.012",
    "upstream_response_time": "0.010",
    "http_user_agent": "curl/8.4.0",
    "http_referer": "-",
    "http_authorization": "Bearer abc",
    "http_x_api_key": "",
    "http_x_forwarded_for": "198.51.100.1, 10.0.0.1",
    "http_x_tenant": "acme",
    "http_cookie": "session=1",
    "host": "api.example.com",
    "scheme": "HTTPS",
    "server_protocol": "HTTP/1.1",
    "upstream_addr": "10.0.1.5:8080",
    "upstream_status": "201",
}


def parse(record: dict[str, Any] | bytes, **options: Any) -> Exchange:
    line = record if isinstance(record, bytes) else orjson.dumps(record)
    return json_parser(ParseOptions("access.log", **options))(line, 7)


def skip_reason(record: dict[str, Any] | bytes) -> str:
    with pytest.raises(Skip) as info:
        parse(record)
    return info.value.reason


def test_nginx_json_line_carries_every_field() -> None:
    exchange = parse(NGINX)
    request = exchange.request
    assert request.method == "POST"
    assert request.path == "/v1/customers/42/profile"
    assert request.query == "expand=true"
    assert request.headers == {
        "user-agent": "curl/8.4.0",
        "authorization": "Bearer abc",
        "x-forwarded-for": "198.51.100.1, 10.0.0.1",
        "cookie": "session=1",
        "x-tenant": "acme",
        "host": "api.example.com",
    }
    assert (request.host, request.scheme, request.peer_ip) == (
        "api.example.com",
        "https",
        "203.0.113.7",
    )
    assert request.http_version == "HTTP/1.1"
    assert (request.body, request.body_size) == (None, 412)
    assert exchange.response is not None
    assert (exchange.response.status, exchange.response.body_size) == (201, 1534)
    assert exchange.started == pytest.approx(T + 0.123)  # msec beats the whole-second ISO time
    assert exchange.duration == 0.012
    assert exchange.source == "access.log:7"
    assert exchange.actor is None and exchange.route is None


def test_request_line_when_method_and_uri_are_not_logged() -> None:
    exchange = parse(
        {
            "time_local": "14/Nov/2023:22:13:20 +0000",
            "request": "GET /x?a=1 HTTP/2.0",
            "status": 200,
        }
    )
    assert (exchange.request.method, exchange.request.path, exchange.request.query) == (
        "GET",
        "/x",
        "a=1",
    )
    assert exchange.request.http_version == "HTTP/2.0"
    assert exchange.started == T


def test_uri_and_args_are_joined() -> None:
    exchange = parse(
        {"timestamp": T, "method": "GET", "uri": "/search", "args": "q=1", "status": 200}
    )
    assert (exchange.request.path, exchange.request.query) == ("/search", "q=1")


def test_absolute_form_target_gives_scheme_and_host() -> None:
    exchange = parse(
        {"timestamp": T, "method": "GET", "url": "https://h.example/p?q", "status": 200}
    )
    request = exchange.request
    assert (request.scheme, request.host, request.path, request.query) == (
        "https",
        "h.example",
        "/p",
        "q",
    )


@pytest.mark.parametrize("status", [0, "0", "-", "", None])
def test_no_status_means_no_response(status: object) -> None:
    assert parse({"timestamp": T, "method": "GET", "path": "/", "status": status}).response is None


def test_missing_status_falls_back_to_upstream_status() -> None:
    exchange = parse({"timestamp": T, "method": "GET", "path": "/", "upstream_status": "502"})
    assert exchange.response is not None and exchange.response.status == 502


@pytest.mark.parametrize("status", ["abc", 1000, 42, 200.5, True, [200], "²²²", "2\u00b2"])
def test_bad_status_is_skipped(status: object) -> None:
    assert (
        skip_reason({"timestamp": T, "method": "GET", "path": "/", "status": status})
        == "bad status"
    )


def test_missing_time_names_the_config_key_to_set() -> None:
    with pytest.raises(Skip) as info:
        parse({"method": "GET", "path": "/", "status": 200})
    assert info.value.reason == "missing field time"
    assert "ingest.field_map.time" in info.value.detail


def test_missing_target() -> None:
    assert (
        skip_reason({"timestamp": T, "method": "GET", "status": 200}) == "missing field request_uri"
    )
    assert skip_reason({"timestamp": T, "path": "/", "status": 200}) == "missing field method"
    assert (
        skip_reason({"timestamp": T, "request": "\\x16\\x03", "status": 400}) == "bad request line"
    )


def test_bad_time() -> None:
    assert (
        skip_reason({"timestamp": "soon", "method": "GET", "path": "/", "status": 200})
        == "bad time"
    )


def test_a_time_shared_by_lines_is_right_for_every_line_and_shape() -> None:
    """Lines of one second reuse the last time read; nothing else may reuse it."""
    parser = json_parser(ParseOptions("access.log"))
    line = {
        "time_iso8601": "2023-11-14T22:13:20+00:00",
        "method": "GET",
        "path": "/",
        "status": 200,
    }
    wider = {**line, "msec": "1700000099.5"}  # another shape, whose plan reads msec
    later = {**line, "time_iso8601": "2023-11-14T22:13:21+00:00"}
    records = [line, line, wider, line, later, {**line, "time_iso8601": "-"}, line]
    times = []
    for number, record in enumerate(records):
        try:
            times.append(parser(orjson.dumps(record), number).started)
        except Skip as skip:
            times.append(skip.reason)
    assert times == [T, T, T + 99.5, T, T + 1, "missing field time", T]


def test_invalid_utf8_is_read_with_replacement_characters() -> None:
    line = b'{"timestamp": 1700000000, "method": "GET", "path": "/", "user_agent": "x\xff"}'
    assert parse(line).request.headers["user-agent"] == "x\ufffd"


def test_nginx_default_escaping_inside_json_is_forgiven() -> None:
    line = b'{"timestamp": 1700000000, "method": "GET", "path": "/a\\x22b", "status": 200}'
    assert parse(line).request.path == '/a"b'


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"not json", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'"text"', "not a JSON object"),
        (b"[" * 5000 + b"]" * 5000, "not JSON"),  # orjson's depth limit, not a RecursionError
        (b'{"a": 1', "not JSON"),
    ],
)
def test_lines_that_are_not_records(line: bytes, reason: str) -> None:
    assert skip_reason(line) == reason


def test_logged_bodies_are_capped_but_keep_their_size() -> None:
    record = {**NGINX, "request_body": '{"password": "hunter2"}', "response_body": "é" * 100}
    exchange = parse(record, max_body_bytes=10)
    assert exchange.request.body == b'{"password'
    assert exchange.request.body_size == 23
    assert exchange.response is not None
    assert exchange.response.body == "é".encode() * 5
    assert exchange.response.body_size == 200


def test_field_map_names_come_first() -> None:
    record = {
        "ts": "2023-11-14T22:13:20Z",
        "verb": "GET",
        "target": "/x",
        "code": 204,
        "ip": "1.1.1.1",
    }
    exchange = parse(
        record,
        field_map={
            "time": ["ts"],
            "method": ["verb"],
            "request_uri": ["target"],
            "status": ["code"],
            "client_ip": ["ip"],
        },
    )
    assert exchange.request.path == "/x"
    assert exchange.request.peer_ip == "1.1.1.1"
    assert exchange.response is not None and exchange.response.status == 204


def test_nested_gateway_records_read_through_dotted_names() -> None:
    record = {
        "started_at": 1_700_000_000_500,
        "client_ip": "5.6.7.8",
        "request": {
            "method": "get",
            "uri": "/k?z=1",
            "headers": {"User-Agent": "kong", "x-a": ["1", "2"]},
        },
        "response": {"status": 200, "size": 99, "headers": {"content-type": "text/plain"}},
        "latencies": {"request": 33},
    }
    exchange = parse(record)
    assert exchange.started == T + 0.5
    assert exchange.request.headers == {"user-agent": "kong", "x-a": "1, 2"}
    assert exchange.response is not None and exchange.response.headers == {
        "content-type": "text/plain"
    }
    assert exchange.duration == 0.033


def test_a_later_line_that_lacks_the_planned_key_is_still_read() -> None:
    parser = json_parser(ParseOptions("access.log"))
    first = {
        "time_iso8601": "2023-11-14T22:13:20Z",
        "request_uri": "/a",
        "method": "GET",
        "status": 200,
    }
    parser(orjson.dumps(first), 1)
    swapped = {"timestamp": "2023-11-14T22:13:21Z", "uri": "/b", "method": "GET", "status": 200}
    exchange = parser(orjson.dumps(swapped), 2)  # same key count, other names
    assert (exchange.request.path, exchange.started) == ("/b", T + 1)
    shorter = {"timestamp": "2023-11-14T22:13:22Z", "uri": "/c", "method": "GET"}
    assert parser(orjson.dumps(shorter), 3).request.path == "/c"


def test_nulls_and_dashes_are_absent_values() -> None:
    record = {
        **NGINX,
        "http_user_agent": None,
        "remote_addr": "-",
        "scheme": None,
        "request_time": "-",
    }
    exchange = parse(record)
    assert "user-agent" not in exchange.request.headers
    assert exchange.request.peer_ip == ""
    assert exchange.request.scheme == ""
    assert exchange.duration == 0.010  # falls back to the upstream time


def test_unicode_digits_are_numbers_only_where_int_reads_them() -> None:
    exchange = parse({**NGINX, "status": "٢٠٠", "body_bytes_sent": "¹²", "request_length": "٤"})
    assert exchange.response is not None
    assert (exchange.response.status, exchange.response.body_size) == (200, None)
    assert exchange.request.body_size == 4


def test_read_exchanges_counts_every_line(tmp_path: Path) -> None:
    path = tmp_path / "access.json"
    path.write_bytes(b"\n".join([orjson.dumps(NGINX), b"garbage", b"", orjson.dumps(NGINX)]))
    stats = IngestStats()
    exchanges = list(read_exchanges(path, "nginx-json", stats=stats))
    assert [e.source for e in exchanges] == ["access.json:1", "access.json:4"]
    assert (stats.lines, stats.events, stats.skipped) == (3, 2, 1)
    assert stats.errors[0].line == 2


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=30)
    | st.text(alphabet="0123456789.²٢-: ,", max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3)
    ),
    max_leaves=10,
)
KEYS = st.sampled_from(
    [
        "time",
        "msec",
        "request_uri",
        "request",
        "method",
        "status",
        "host",
        "http_x",
        "request.method",
    ]
)
RECORDS = st.dictionaries(KEYS | st.text(max_size=8), JSON_VALUES, max_size=8).map(
    lambda r: json.dumps(r).encode()
)
LINES = st.lists(RECORDS | st.binary(max_size=60) | st.just(orjson.dumps(NGINX)), max_size=12)


@settings(max_examples=150, deadline=None)
@given(lines=LINES)
def test_any_input_is_counted_and_never_raises(
    tmp_path_factory: pytest.TempPathFactory, lines: list[bytes]
) -> None:
    path = tmp_path_factory.mktemp("jsonlog") / "fuzz.json"
    data = b"\n".join(lines)
    path.write_bytes(data)
    stats = IngestStats()
    if data.startswith((b"\x28\xb5\x2f\xfd", b"PK\x03\x04")):  # zstd, zip: a whole-file error
        with pytest.raises(IngestError, match="compressed"):
            list(read_exchanges(path, "nginx-json", stats=stats))
        return
    exchanges = list(read_exchanges(path, "nginx-json", stats=stats))
    assert stats.lines == stats.events + stats.skipped == len(exchanges) + stats.skipped
    if not data.startswith((b"\x1f\x8b", b"BZh", b"\xfd7zXZ", b"\xef\xbb\xbf", b"\x28\xb5", b"PK")):
        assert stats.lines == sum(1 for line in data.splitlines() if line.strip())
    assert "parser error" not in stats.skipped_by_reason
    for exchange in exchanges:
        assert exchange.request.method == exchange.request.method.upper()
        assert exchange.started >= 0


def test_two_shapes_with_as_many_keys_each_keep_their_fields() -> None:
    reader = json_parser(ParseOptions("access.log"))
    base = {k: NGINX[k] for k in ("time_iso8601", "request_method", "request_uri", "status")}
    first = orjson.dumps({**base, "remote_addr": "203.0.113.7", "http_referer": "-"})
    second = orjson.dumps(
        {**base, "http_x_forwarded_for": "198.51.100.1", "http_authorization": "Bearer abc"}
    )
    reader(first, 1)
    exchange = reader(second, 2)
    assert exchange.request.headers.get("authorization") == "Bearer abc"
    assert exchange.request.headers.get("x-forwarded-for") == "198.51.100.1"

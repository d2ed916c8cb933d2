import contextlib
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apishield.exchange import Exchange
from apishield.ingest import IngestStats, read_exchanges
from apishield.ingest.base import ParseOptions
from apishield.ingest.nginx import nginx_parser, unescape
from apishield.ingest.stats import Skip

T = 1_700_000_000.0
LINE = (
    b'203.0.113.7 - alice [14/Nov/2023:15:13:20 -0700] "GET /v1/customers/42?expand=1 HTTP/1.1" '
    b'200 1534 "https://app.example.com/" "Mozilla/5.0 (X11)"'
)


def parse(line: bytes) -> Exchange:
    return nginx_parser(ParseOptions("access.log"))(line, 12)


def test_combined_line() -> None:
    exchange = parse(LINE)
    request = exchange.request
    assert (request.method, request.path, request.query) == ("GET", "/v1/customers/42", "expand=1")
    assert request.http_version == "HTTP/1.1"
    assert request.peer_ip == "203.0.113.7"
    assert request.headers == {
        "referer": "https://app.example.com/",
        "user-agent": "Mozilla/5.0 (X11)",
    }
    assert (request.body, request.body_size) == (None, None)
    assert exchange.response is not None
    assert (exchange.response.status, exchange.response.body_size) == (200, 1534)
    assert exchange.started == T
    assert exchange.duration is None
    assert exchange.source == "access.log:12"


def test_common_format_without_referer_and_agent() -> None:
    exchange = parse(b'10.0.0.1 - - [14/Nov/2023:22:13:20 +0000] "DELETE /x HTTP/1.0" 204 -')
    assert exchange.request.headers == {}
    assert exchange.response is not None and exchange.response.body_size is None


def test_forwarded_for_and_request_time_extensions() -> None:
    exchange = parse(LINE + b' "198.51.100.9, 10.0.0.2" rt=0.042 uct="0.001"\r')
    assert exchange.request.headers["x-forwarded-for"] == "198.51.100.9, 10.0.0.2"
    assert exchange.duration == 0.042


def test_nginx_escapes_are_undone() -> None:
    line = (
        b'1.2.3.4 - - [14/Nov/2023:22:13:20 +0000] "GET /q?s=\\x22%20OR%201=1--\\x5C HTTP/1.1" '
        b'400 0 "-" "caf\\xC3\\xA9 \\xFF"'
    )
    exchange = parse(line)
    assert exchange.request.query == 's="%20OR%201=1--\\'
    assert exchange.request.headers["user-agent"] == "café \ufffd"
    assert unescape("plain") == "plain"


def test_raw_invalid_utf8_is_replaced_not_dropped() -> None:
    exchange = parse(LINE.replace(b"(X11)", b"(\xff\xfe)"))
    assert exchange.request.headers["user-agent"] == "Mozilla/5.0 (\ufffd\ufffd)"


def test_absolute_form_proxy_probe() -> None:
    line = b'1.2.3.4 - - [14/Nov/2023:22:13:20 +0000] "GET http://example.com/x HTTP/1.1" 400 0'

    request = parse(line).request
    assert (request.host, request.path, request.headers) == (
        "example.com",
        "/x",
        {"host": "example.com"},
    )


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"hello", "not nginx combined format"),
        (LINE.replace(b"14/Nov/2023", b"14/Xyz/2023"), "bad time"),
        (
            LINE.replace(b"GET /v1/customers/42?expand=1 HTTP/1.1", b"\\x16\\x03\\x01"),
            "bad request line",
        ),
        (LINE.replace(b"GET /v1/customers/42?expand=1 HTTP/1.1", b"-"), "bad request line"),
        (LINE.replace(b" 200 ", b" 2x0 "), "bad status"),
    ],
)
def test_bad_lines(line: bytes, reason: str) -> None:
    with pytest.raises(Skip) as info:
        parse(line)
    assert info.value.reason == reason


def test_hostile_line_costs_linear_time() -> None:
    began = time.perf_counter()
    for line in (
        b"a b c" + b" [" * 200_000,
        b'a - - [x] "' + b'"' * 200_000,
        LINE + b' "x" "' * 100_000,
    ):
        with contextlib.suppress(Skip):
            parse(line)
    assert time.perf_counter() - began < 2


def test_status_dash_means_no_response() -> None:
    assert parse(LINE.replace(b" 200 ", b" - ")).response is None


FIELD = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\n"), max_size=30)


@settings(max_examples=200, deadline=None)
@given(
    parts=st.lists(
        st.one_of(FIELD.map(str.encode), st.binary(max_size=40), st.just(LINE)), max_size=10
    ),
    quote=st.sampled_from([b'"', b"[", b"]", b" ", b"\\x", b"-"]),
)
def test_any_input_is_read_or_counted(
    tmp_path_factory: pytest.TempPathFactory, parts: list[bytes], quote: bytes
) -> None:
    data = b"\n" + b"\n".join(part.replace(b"\n", quote) for part in parts)  # no magic bytes first
    path = tmp_path_factory.mktemp("nginx") / "access.log"
    path.write_bytes(data)
    stats = IngestStats()
    exchanges = list(read_exchanges(path, "nginx", stats=stats))
    assert stats.lines == stats.events + stats.skipped == len(exchanges) + stats.skipped
    assert "parser error" not in stats.skipped_by_reason


def test_whole_file_with_a_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "access.log"
    path.write_bytes(LINE + b"\nnot a log line\n" + LINE + b"\n")
    stats = IngestStats()
    assert [e.source for e in read_exchanges(path, "nginx", stats=stats)] == [
        "access.log:1",
        "access.log:3",
    ]
    assert stats.errors[0].line == 2

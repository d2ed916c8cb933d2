from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apishield.ingest import IngestStats, read_exchanges
from apishield.ingest.base import ParseOptions
from apishield.ingest.envoy import envoy_parser

T = 1_700_000_000.0

ENVOY = {
    "start_time": "2023-11-14T22:13:20.123Z",
    "method": "POST",
    "x-envoy-original-path": None,
    "path": "/v1/orders?dry_run=1",
    "protocol": "HTTP/2",
    "response_code": 201,
    "response_flags": "-",
    "bytes_received": 57,
    "bytes_sent": 1234,
    "duration": 12,
    "upstream_service_time": "10",
    "x-forwarded-for": "198.51.100.1",
    "user-agent": "okhttp/4.12",
    "x-request-id": "cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2",
    "authority": "api.example.com",
    "upstream_host": "10.0.1.5:8080",
    "downstream_remote_address": "203.0.113.7:54321",
}


def parse(record: dict[str, Any]) -> Any:
    return envoy_parser(ParseOptions("envoy.log"))(orjson.dumps(record), 3)


def test_default_envoy_fields() -> None:
    exchange = parse(ENVOY)
    request = exchange.request
    assert (request.method, request.path, request.query) == ("POST", "/v1/orders", "dry_run=1")
    assert request.http_version == "HTTP/2"
    assert request.host == "api.example.com"
    assert request.peer_ip == "203.0.113.7"
    assert request.body_size == 57
    assert request.headers == {
        "user-agent": "okhttp/4.12",
        "x-forwarded-for": "198.51.100.1",
        "x-request-id": "cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2",
        "host": "api.example.com",
    }
    assert exchange.response is not None
    assert (exchange.response.status, exchange.response.body_size) == (201, 1234)
    assert exchange.started == pytest.approx(T + 0.123)
    assert exchange.duration == 0.012  # Envoy logs milliseconds


def test_original_path_wins_over_the_rewritten_one() -> None:
    exchange = parse(
        {**ENVOY, "x-envoy-original-path": "/public/orders", "path": "/internal/orders"}
    )
    assert exchange.request.path == "/public/orders"


def test_reset_without_response_has_no_response() -> None:
    exchange = parse({**ENVOY, "response_code": 0, "response_flags": "DC", "bytes_sent": 0})
    assert exchange.response is None


def test_istio_underscore_names() -> None:
    record = {k.replace("-", "_"): v for k, v in ENVOY.items() if k != "x-envoy-original-path"}
    record["downstream_remote_address"] = "[2001:db8::7]:443"
    exchange = parse(record)
    assert exchange.request.headers["user-agent"] == "okhttp/4.12"
    assert exchange.request.headers["x-forwarded-for"] == "198.51.100.1"
    assert exchange.request.peer_ip == "2001:db8::7"


def test_text_placeholders_from_string_typed_formats() -> None:
    record = {
        **ENVOY,
        "response_code": "200",
        "duration": "7",
        "bytes_sent": "-",
        "user-agent": "-",
    }
    exchange = parse(record)
    assert exchange.response is not None and exchange.response.body_size is None
    assert exchange.duration == 0.007
    assert "user-agent" not in exchange.request.headers


VALUES = (
    st.none()
    | st.integers(-5, 2000)
    | st.text(max_size=20)
    | st.sampled_from(["-", "/x", "GET", "0"])
)


@settings(max_examples=150, deadline=None)
@given(
    changes=st.lists(st.tuples(st.sampled_from(sorted(ENVOY)), VALUES), max_size=6),
    junk=st.binary(max_size=40),
)
def test_mangled_envoy_lines_are_read_or_counted(
    tmp_path_factory: pytest.TempPathFactory, changes: list[tuple[str, Any]], junk: bytes
) -> None:
    record = dict(ENVOY)
    record.update(changes)
    path = tmp_path_factory.mktemp("envoy") / "envoy.log"
    path.write_bytes(orjson.dumps(record) + b"\n" + junk.replace(b"\n", b" ") + b"\n")
    stats = IngestStats()
    exchanges = list(read_exchanges(path, "envoy", stats=stats))
    assert stats.lines == stats.events + stats.skipped == len(exchanges) + stats.skipped
    assert "parser error" not in stats.skipped_by_reason


def test_a_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "envoy.log"
    path.write_bytes(
        orjson.dumps(ENVOY) + b"\n" + orjson.dumps({**ENVOY, "start_time": "later"}) + b"\n"
    )
    stats = IngestStats()
    assert len(list(read_exchanges(path, "envoy", stats=stats))) == 1
    assert stats.skipped_by_reason == {"bad time": 1}

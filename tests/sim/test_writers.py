"""The three output formats, written one exchange at a time."""

from __future__ import annotations

import gzip
from pathlib import Path

import orjson
import pytest

from apishield.exchange import Exchange
from apishield.sim.writers import FORMATS, exchange_writer, har_entry, nginx_line
from apishield.testing import T0, make_exchange


def _login() -> Exchange:
    exchange = make_exchange(
        "POST",
        "/v2/auth/login",
        query="lang=en",
        headers={"x-forwarded-for": "192.168.1.4, 100.64.3.9", "user-agent": "TelcoApp/5.4.1"},
        body=b'{"username":"a@example.com","password":"x"}',
        status=401,
        response_headers={"content-type": "application/json"},
        response_body=b'{"error":"invalid_credentials"}',
        started=T0 + 0.25,
        duration=0.17,
        peer_ip="10.0.0.5",
        host="api.telco.example",
    )
    exchange.request.scheme = "https"
    exchange.request.http_version = "HTTP/1.1"
    return exchange


def test_har_entries_carry_both_bodies() -> None:
    entry = har_entry(_login())
    request, response = entry["request"], entry["response"]
    assert request["url"] == "https://api.telco.example/v2/auth/login?lang=en"
    assert request["postData"]["text"].startswith('{"username"')
    assert request["queryString"] == [{"name": "lang", "value": "en"}]
    assert {"name": "x-forwarded-for", "value": "192.168.1.4, 100.64.3.9"} in request["headers"]
    assert response["content"]["text"] == '{"error":"invalid_credentials"}'
    assert response["statusText"] == "Unauthorized" and entry["time"] == 170.0
    assert entry["startedDateTime"] == "2023-11-14T22:13:20.250Z"
    assert entry["_clientIPAddress"] == "10.0.0.5"


def test_nginx_lines_have_no_bodies_but_the_forwarded_chain() -> None:
    record = orjson.loads(nginx_line(_login()))
    assert record["request_uri"] == "/v2/auth/login?lang=en"
    assert record["remote_addr"] == "10.0.0.5" and record["msec"] == f"{T0 + 0.25:.3f}"
    assert record["http_x_forwarded_for"] == "192.168.1.4, 100.64.3.9"
    assert record["status"] == 401 and "body" not in str(record.keys()).replace("body_bytes", "")


@pytest.mark.parametrize("fmt", FORMATS)
def test_writers_stream_to_plain_or_gzip_files(tmp_path: Path, fmt: str) -> None:
    plain, packed = tmp_path / "out.log", tmp_path / "out.log.gz"
    for path in (plain, packed):
        with exchange_writer(path, fmt) as write:
            for _ in range(1200):  # more than one batch
                write(_login())
    assert gzip.decompress(packed.read_bytes()) == plain.read_bytes()
    if fmt == "har":
        document = orjson.loads(plain.read_bytes())
        assert document["log"]["version"] == "1.2" and len(document["log"]["entries"]) == 1200
    else:
        assert len(plain.read_bytes().splitlines()) == 1200


def test_an_unknown_format_is_refused(tmp_path: Path) -> None:
    with (
        pytest.raises(ValueError, match="use one of: jsonl, nginx-json, har"),
        exchange_writer(tmp_path / "x", "pcap"),
    ):
        pass

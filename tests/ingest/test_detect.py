import contextlib

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from apishield.ingest import IngestError, detect_format, exchange_to_jsonl
from apishield.testing import make_exchange

COMBINED = b'1.2.3.4 - - [14/Nov/2023:22:13:20 +0000] "GET / HTTP/1.1" 200 5 "-" "curl/8"'
NGINX_JSON = b'{"time_iso8601": "2023-11-14T22:13:20+00:00", "request_uri": "/", "status": 200}'
ENVOY = b'{"start_time": "2023-11-14T22:13:20Z", "response_code": 200, "upstream_host": "x"}'


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ([COMBINED], "nginx"),
        ([b'10.0.0.1 - - [14/Nov/2023:22:13:20 +0000] "GET / HTTP/1.0" 200 -'], "nginx"),  # common
        ([NGINX_JSON], "nginx-json"),
        ([b'{"ts": 1, "clientIp": "1.2.3.4"}'], "nginx-json"),  # any JSON log, read via a field map
        ([ENVOY], "envoy"),
        ([exchange_to_jsonl(make_exchange())], "jsonl"),
        ([b"{", b'  "log": {', b'    "version": "1.2",'], "har"),
        ([orjson.dumps({"log": {"entries": []}})], "har"),
        # an Elastic (ECS) line has a "log" object of its own, with no entries
        (
            [b'{"@timestamp": "2023-11-14T22:13:20Z", "log": {"level": "info"}, "url": "/"}'],
            "nginx-json",
        ),
        ([b"{broken", NGINX_JSON], "nginx-json"),  # a bad first line does not decide
        ([b"", b"   ", COMBINED + b"\r"], "nginx"),
    ],
)
def test_formats(lines: list[bytes], expected: str) -> None:
    assert detect_format(lines) == expected


def test_unknown_format_names_the_choices() -> None:
    with pytest.raises(
        IngestError, match=r"first line b'hello'.*--format.*nginx, nginx-json, envoy, har, jsonl"
    ):
        detect_format([b"hello"])


def test_empty_input() -> None:
    with pytest.raises(IngestError, match="empty"):
        detect_format([b"", b"  "])


@given(st.lists(st.binary(max_size=60), max_size=5))
def test_any_bytes_give_a_format_or_an_ingest_error(lines: list[bytes]) -> None:
    with contextlib.suppress(IngestError):
        assert detect_format(lines) in {"nginx", "nginx-json", "envoy", "har", "jsonl"}

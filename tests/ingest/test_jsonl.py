from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apishield.exchange import Exchange, Request, Response
from apishield.ingest import IngestStats, exchange_to_jsonl, read_exchanges
from apishield.ingest.base import ParseOptions
from apishield.ingest.jsonl import jsonl_parser
from apishield.ingest.stats import Skip
from apishield.testing import make_exchange


def parse(line: bytes, max_body_bytes: int = 1_048_576) -> Exchange:
    return jsonl_parser(ParseOptions("capture.jsonl", max_body_bytes))(line, 1)


def record(**changes: Any) -> dict[str, Any]:
    return {**orjson.loads(exchange_to_jsonl(make_exchange())), **changes}


def test_written_line_shape() -> None:
    exchange = make_exchange(
        "POST",
        "/login",
        query="a=1",
        headers={"content-type": "application/json"},
        body=b'{"u": 1}',
        response_body=b"\x89PNG\r\n",
    )
    line = exchange_to_jsonl(exchange)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    written = orjson.loads(line)
    assert written["v"] == 1
    assert written["request"]["body"] == '{"u": 1}'
    assert "body_encoding" not in written["request"]
    assert written["response"]["body_encoding"] == "base64"
    assert "actor" not in written and "findings" not in written


def test_round_trip_keeps_everything_but_the_source() -> None:
    exchange = make_exchange("PUT", "/x", body=b"\x00\xff", response_body=b"", status=201)
    back = parse(exchange_to_jsonl(exchange))
    assert (back.request, back.response, back.started, back.duration) == (
        exchange.request,
        exchange.response,
        exchange.started,
        exchange.duration,
    )
    assert back.source == "capture.jsonl:1"


def test_not_captured_body_stays_none_and_no_response_stays_none() -> None:
    back = parse(exchange_to_jsonl(make_exchange(status=None)))
    assert back.request.body is None and back.response is None


def test_text_that_is_not_unicode_is_still_written() -> None:
    exchange = make_exchange(path="/a\udcff", headers={"x": "\ud800"})
    back = parse(exchange_to_jsonl(exchange))
    assert back.request.path == "/a\ufffd"
    assert back.request.headers == {"x": "\ufffd"}


def test_bodies_over_the_cap_are_cut_and_keep_their_size() -> None:
    back = parse(exchange_to_jsonl(make_exchange(body=b"x" * 100, response_body=b"\xff" * 50)), 10)
    assert (back.request.body, back.request.body_size) == (b"x" * 10, 100)
    assert back.response is not None
    assert (back.response.body, back.response.body_size) == (b"\xff" * 10, 50)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"v": 2}, "unsupported version"),
        ({"started": "yesterday"}, "bad field started"),
        ({"duration": -1}, "bad field duration"),
        ({"request": None}, "bad field request"),
        ({"request": {"path": "/"}}, "bad field request.method"),
        (
            {"request": {"method": "GET", "path": "/", "headers": {"a": 1}}},
            "bad field request.headers",
        ),
        (
            {"request": {"method": "GET", "path": "/", "body": "!!", "body_encoding": "base64"}},
            "bad field request.body",
        ),
        (
            {"request": {"method": "GET", "path": "/", "body": "x", "body_encoding": "rot13"}},
            "bad field request.body_encoding",
        ),
        (
            {"request": {"method": "GET", "path": "/", "body_size": -3}},
            "bad field request.body_size",
        ),
        ({"response": {"status": "200"}}, "bad field response.status"),
        ({"response": []}, "bad field response"),
    ],
)
def test_bad_records(changes: dict[str, Any], reason: str) -> None:
    with pytest.raises(Skip) as info:
        parse(orjson.dumps(record(**changes)))
    assert info.value.reason == reason


def test_header_names_are_lower_cased_on_read() -> None:
    line = orjson.dumps(
        record(request={"method": "get", "path": "/", "headers": {"X-Api-Key": "k"}})
    )
    back = parse(line)
    assert back.request.method == "GET"
    assert back.request.headers == {"x-api-key": "k"}


TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=20)
HEADERS = st.dictionaries(st.from_regex(r"[a-z0-9-]{1,12}", fullmatch=True), TEXT, max_size=4)
SIZES = st.none() | st.integers(0, 10**9)
REQUESTS = st.builds(
    Request,
    method=st.from_regex(r"[A-Z]{1,8}", fullmatch=True),
    path=TEXT.filter(bool),
    query=TEXT,
    headers=HEADERS,
    body=st.none() | st.binary(max_size=40) | TEXT.map(str.encode),
    body_size=SIZES,
    scheme=st.sampled_from(["http", "https"]),
    host=TEXT,
    peer_ip=TEXT,
    http_version=TEXT,
)
RESPONSES = st.none() | st.builds(
    Response,
    status=st.integers(100, 999),
    headers=HEADERS,
    body=st.none() | st.binary(max_size=40),
    body_size=SIZES,
)
EXCHANGES = st.builds(
    Exchange,
    request=REQUESTS,
    response=RESPONSES,
    started=st.floats(0, 4e9),
    duration=st.none() | st.floats(0, 1e6),
)


@given(EXCHANGES)
def test_any_exchange_round_trips(exchange: Exchange) -> None:
    back = parse(exchange_to_jsonl(exchange))
    assert back.request == exchange.request
    assert back.response == exchange.response
    assert (back.started, back.duration) == (exchange.started, exchange.duration)


@settings(max_examples=150, deadline=None)
@given(
    lines=st.lists(EXCHANGES.map(exchange_to_jsonl) | st.binary(max_size=80), max_size=8),
    cut=st.integers(0, 400),
)
def test_damaged_files_are_counted(
    tmp_path_factory: pytest.TempPathFactory, lines: list[bytes], cut: int
) -> None:
    data = b"".join(
        line if line.endswith(b"\n") else line.replace(b"\n", b"") + b"\n" for line in lines
    )
    path = tmp_path_factory.mktemp("jsonl") / "capture.jsonl"
    path.write_bytes(b"\n" + data[:cut] + data[cut + 7 :])  # no compression magic up front
    stats = IngestStats()
    exchanges = list(read_exchanges(path, "jsonl", stats=stats))
    assert stats.lines == stats.events + stats.skipped == len(exchanges) + stats.skipped
    assert "parser error" not in stats.skipped_by_reason


def test_whole_file_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "capture.jsonl"
    path.write_bytes(exchange_to_jsonl(make_exchange()) * 3)
    stats = IngestStats()
    assert len(list(read_exchanges(path, stats=stats))) == 3


def test_the_documented_example_reads() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "jsonl-format.md").read_text(encoding="utf-8")
    example = doc.split("```json\n")[1].split("```")[0]
    exchange = parse(orjson.dumps(orjson.loads(example)))
    assert exchange.request.body == b'{"msisdn":"+14155550100","pin":"1234"}'
    assert exchange.request.body_size == len(exchange.request.body)
    assert exchange.response is not None
    assert exchange.response.body == b"\x00\xff\x01\x02"
    assert exchange.response.body_size == 4


def test_a_guards_decision_round_trips_and_a_plain_allow_writes_none() -> None:
    from apishield.exchange import Action, Decision

    allowed = make_exchange(path="/a")
    assert b'"decision"' not in exchange_to_jsonl(allowed)
    refused = make_exchange(path="/a", status=429)
    refused.decision = Decision(Action.THROTTLE, "rate limit", "enforce.rate.actor", enforced=False)
    line = exchange_to_jsonl(refused)
    back = jsonl_parser(ParseOptions("t"))(line, 1)
    assert back.decision == Decision(Action.THROTTLE, "rate limit", "enforce.rate.actor", (), False)


@pytest.mark.parametrize(
    "decision",
    ['{"action": "nuke", "rule": "", "reason": "", "enforced": true}', '{"action": "block"}', "3"],
)
def test_a_bad_decision_is_a_counted_skip(decision: str) -> None:
    record = orjson.loads(exchange_to_jsonl(make_exchange(path="/a")))
    record["decision"] = orjson.loads(decision)
    with pytest.raises(Skip):
        jsonl_parser(ParseOptions("t"))(orjson.dumps(record), 1)


def test_a_request_line_longer_than_any_server_takes_is_a_counted_skip() -> None:
    record = orjson.loads(exchange_to_jsonl(make_exchange(path="/a")))
    record["request"]["path"] = "/" + "a/" * 40_000
    with pytest.raises(Skip, match="too long"):
        jsonl_parser(ParseOptions("t"))(orjson.dumps(record), 1)

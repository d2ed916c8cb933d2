import hashlib
import json
from pathlib import Path

import pytest

from benchmarks import corpus

CRS_SQLI = {
    "id": "crs-942100-1",
    "label": "attack",
    "class": "sqli",
    "method": "POST",
    "path": "/post",
    "query": "",
    "headers": {"Host": "localhost", "User-Agent": "OWASP CRS test agent"},
    "body": "var=1234 OR 1=1",
    "http_version": "HTTP/1.1",
    "crs_paranoia_level": 1,
}
PLAIN = {
    "id": "libinjection-sqli-x-L3",
    "label": "attack",
    "class": "sqli",
    "method": "GET",
    "path": "/",
    "query": "q=1%27%20or%201%3D1",
    "headers": {},
    "body": None,
    "value": "1' or 1=1",
}


def test_split_follows_the_project_rule_and_is_stable():
    ids = [f"crs-9421{n:02d}-{m}" for n in range(20) for m in range(5)]
    for record_id in ids:
        digest = int(hashlib.sha256(record_id.encode()).hexdigest(), 16)
        assert corpus.is_tune(record_id) == (digest % 2 == 0)
        assert corpus.is_tune(record_id) == corpus.is_tune(record_id)
    tune = sum(corpus.is_tune(i) for i in ids)
    assert 20 < tune < 80  # a hash split, not everything on one side


def test_sample_knows_family_split_and_paranoia_bucket():
    sample = corpus.Sample("crs_sqli", CRS_SQLI)
    assert (sample.family, sample.klass, sample.paranoia) == ("crs", "sqli", "PL1")
    assert sample.split == ("tune" if corpus.is_tune("crs-942100-1") else "holdout")
    assert corpus.Sample("crs_sqli", {**CRS_SQLI, "crs_paranoia_level": 3}).paranoia == "PL2+"
    assert corpus.Sample("libinjection_sqli", PLAIN).paranoia == ""
    assert corpus.Sample("blns_benign", {**PLAIN, "class": None}).klass == "benign"


def test_form_body_gets_content_type_length_and_go_ftw_encoding():
    exchange = corpus.to_exchange(CRS_SQLI)
    assert exchange is not None
    request = exchange.request
    assert request.body == b"var=1234+OR+1%3D1"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.headers["content-length"] == str(len(request.body))
    assert request.headers["host"] == "localhost"
    assert all(name == name.lower() for name in request.headers)
    assert (request.method, request.path, request.body_size) == ("POST", "/post", 17)


def test_escaped_or_typed_bodies_are_sent_as_written():
    escaped = {**CRS_SQLI, "body": "a=%27x&b=1"}
    assert corpus.request_parts(escaped)[1] == b"a=%27x&b=1"
    as_json = {**CRS_SQLI, "headers": {"Content-Type": "application/json"}, "body": '{"a": 1}'}
    headers, body = corpus.request_parts(as_json)
    assert body == b'{"a": 1}'
    assert corpus.header(headers, "content-type") == "application/json"


def test_multipart_gets_crlf_line_ends():
    record = {
        **CRS_SQLI,
        "headers": {"Content-Type": "multipart/form-data; boundary=b"},
        "body": '--b\nContent-Disposition: form-data; name="f"\n\nx\n--b--\n',
    }
    body = corpus.request_parts(record)[1]
    assert body is not None
    assert b"\n" not in body.replace(b"\r\n", b"")


def test_go_ftw_repeat_template_is_expanded():
    record = {
        **CRS_SQLI,
        "headers": {"Content-Type": "text/plain"},
        "body": 'a{{ "1" | repeat 5 }}b',
    }
    assert corpus.request_parts(record)[1] == b"a11111b"


def test_autocomplete_off_leaves_headers_alone():
    record = {**CRS_SQLI, "autocomplete_headers": False}
    headers, body = corpus.request_parts(record)
    assert [name for name, _ in headers] == ["Host", "User-Agent"]
    assert body == b"var=1234 OR 1=1"


def test_bodyless_post_still_gets_content_length_zero():
    headers, body = corpus.request_parts({**CRS_SQLI, "body": None})
    assert body is None
    assert corpus.header(headers, "content-length") == "0"


def test_payload_record_gets_the_crs_test_headers_and_no_body():
    exchange = corpus.to_exchange(PLAIN)
    assert exchange is not None
    assert exchange.request.query == "q=1%27%20or%201%3D1"
    assert exchange.request.headers["user-agent"] == "OWASP CRS test agent"
    assert exchange.request.body is None
    assert "content-length" not in exchange.request.headers


def test_numeric_header_values_become_strings():
    exchange = corpus.to_exchange({**CRS_SQLI, "headers": {"Content-Length": 0}, "body": None})
    assert exchange is not None
    assert exchange.request.headers["content-length"] == "0"


def test_wire_request_is_what_the_exchange_describes():
    wire = corpus.wire_request(CRS_SQLI)
    head, _, body = wire.partition(b"\r\n\r\n")
    assert head.startswith(b"POST /post HTTP/1.1\r\n")
    assert b"Content-Length: 17" in head
    assert b"Connection: close" in head
    assert body == b"var=1234+OR+1%3D1"


def test_raw_request_is_parsed_and_chunked_body_decoded():
    raw = (
        "POST /a?x=1 HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n"
        "3\r\nHi \r\n3\r\nCRS\r\n0\r\n\r\n"
    )
    exchange = corpus.to_exchange({"id": "r", "raw_request": raw})
    assert exchange is not None
    request = exchange.request
    assert (request.method, request.path, request.query) == ("POST", "/a", "x=1")
    assert request.body == b"Hi CRS"
    assert corpus.wire_request({"id": "r", "raw_request": raw}) == raw.encode()


def test_unparseable_raw_request_is_none():
    assert corpus.to_exchange({"id": "r", "raw_request": "garbage\r\n\r\n"}) is None


def test_dechunk_keeps_what_follows_a_bad_size():
    assert corpus.dechunk(b"2\r\nab\r\nzz\r\nrest") == b"abzz\r\nrest"


def test_load_reads_sets_in_order_and_honours_limit(tmp_path: Path):
    for _, relative in corpus.SETS:
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = [json.dumps({**PLAIN, "id": f"{relative}-{i}"}) for i in range(3)]
        path.write_text("\n".join(lines) + "\n")
    samples = list(corpus.load(tmp_path, limit=2))
    assert len(samples) == 2 * len(corpus.SETS)
    assert samples[0].set == corpus.SETS[0][0]
    assert samples[-1].set == corpus.SETS[-1][0]


def test_missing_corpus_says_how_to_point_at_it(tmp_path: Path):
    with pytest.raises(SystemExit, match="--corpora"):
        list(corpus.load(tmp_path))

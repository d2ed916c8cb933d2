from __future__ import annotations

from apishield.enforce.request_values import NOTHING, FormReader, document, missing_parameters
from apishield.testing import make_exchange

JSON = {"content-type": "application/json; charset=utf-8"}
FORM = {"content-type": "application/x-www-form-urlencoded"}
PROPERTIES = {
    "Timeout": {"type": "integer"},
    "Price": {"type": "number"},
    "Record": {"type": "boolean"},
    "Events": {"type": "array", "items": {"type": "string"}},
    "Codes": {"type": "array", "items": {"type": "integer"}},
    "Name": {"type": "string"},
}


def test_json_bodies_parse_and_what_cannot_be_judged_is_nothing() -> None:
    assert document(b'{"a": [1]}', 10, JSON) == {"a": [1]}
    assert document(b'{"a": 1}', 8, {"content-type": "application/merge-patch+json"}) == {"a": 1}
    assert document(b'  {"a": 1}', 10, {}) == {"a": 1}  # no content type, looks like JSON
    assert document(b'{"a": 1', 7, JSON) is NOTHING
    assert document(b'{"a": 1}', 5000, JSON) is NOTHING  # cut at the capture limit
    assert document(b"", 0, JSON) is NOTHING
    assert document(None, None, JSON) is NOTHING
    assert document(b'{"a": 1}', 8, {"content-type": "text/plain"}) is NOTHING
    assert document(b"a=1", 3, FORM) is NOTHING  # forms need the operation's reader
    gzipped = {**JSON, "content-encoding": "gzip"}
    assert document(b'{"a": 1}', 8, gzipped) is NOTHING  # compressed as captured


def test_form_values_take_their_documented_types() -> None:
    body = (
        b"Timeout=30&Price=1.5&Record=True&Events=initiated&Events=ringing"
        b"&Codes=1&Codes=x&Name=Ann+%26+Bo&Other=7&Caf%C3%A9=1&Timeout2=&Record2"
    )
    value = document(body, len(body), FORM, FormReader(PROPERTIES))
    assert value == {
        "Timeout": 30,
        "Price": 1.5,
        "Record": True,
        "Events": ["initiated", "ringing"],
        "Codes": [1, "x"],
        "Name": "Ann & Bo",
        "Other": "7",
        "Café": "1",
        "Timeout2": "",
        "Record2": "",
    }
    reader = FormReader(PROPERTIES)
    assert reader.read("Timeout=3.5&Price=nan&Record=yes") == {
        "Timeout": "3.5",
        "Price": "nan",
        "Record": "yes",
    }


def test_missing_parameters_by_location() -> None:
    request = make_exchange(
        "GET",
        "/x",
        query="limit=5&q=",
        headers={"x-request-id": "1", "cookie": "session=abc; theme=dark"},
    ).request
    required = [
        ("query", "limit"),
        ("query", "q"),
        ("query", "page"),
        ("header", "x-request-id"),
        ("header", "x-tenant"),
        ("cookie", "session"),
        ("cookie", "csrf"),
    ]
    assert missing_parameters(request, required) == ["query.page", "header.x-tenant", "cookie.csrf"]

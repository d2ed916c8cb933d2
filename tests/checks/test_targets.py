from __future__ import annotations

import orjson

from apishield.checks.targets import MAX_DEPTH, MAX_TARGETS, request_targets
from apishield.testing import make_exchange


def _targets(**kwargs: object) -> list[tuple[str, str, str]]:
    exchange = make_exchange(**kwargs)  # type: ignore[arg-type]
    found = request_targets(exchange.request, 1_000_000)
    return [(t.location, t.name, t.value) for t in found.items]


def test_query_values_stay_raw_for_the_decoder() -> None:
    items = _targets(path="/search", query="q=a%27+or+1&page=2")
    assert ("path", "", "/search") in items
    assert ("query", "q", "a%27+or+1") in items
    assert ("query", "page", "2") in items


def test_parameter_and_cookie_names_are_judged_as_keys() -> None:
    exchange = make_exchange(query="user[$ne]=x&plain=1", headers={"cookie": "sid=1; bare"})
    found = request_targets(exchange.request, 1_000)
    keys = [t.value for t in found.items if t.key]
    assert keys == ["user[$ne]", "plain", "sid", "bare"]


def test_json_leaves_are_walked_and_numbers_left_alone() -> None:
    body = orjson.dumps({"name": "Ann", "tags": ["a", {"deep": "<x>"}], "n": 7, "$where": "1"})
    items = _targets(
        method="POST", headers={"content-type": "application/json"}, body=body, path="/p"
    )
    values = {(n, v) for loc, n, v in items if loc == "body"}
    assert ("name", "Ann") in values
    assert ("deep", "<x>") in values
    assert ("tags", "a") in values
    assert ("$where", "$where") in values
    assert ("", "name tags n deep") in values
    assert not any(v == "7" for _, v in values)


def test_malformed_json_is_judged_as_text_and_said() -> None:
    exchange = make_exchange(
        method="POST", headers={"content-type": "application/json"}, body=b'{"a": "<script>'
    )
    found = request_targets(exchange.request, 1_000)
    assert found.body_unparsed == "malformed JSON"
    assert found.items[-1].value == '{"a": "<script>'


def test_forms_cookies_and_custom_headers() -> None:
    items = _targets(
        method="POST",
        headers={
            "content-type": "application/x-www-form-urlencoded",
            "cookie": "session=abc; theme=dark",
            "user-agent": "curl/8",
            "x-api-version": "${jndi:ldap://x}",
            "accept": "*/*",
        },
        body=b"a=1&b=two",
    )
    assert ("body", "b", "two") in items
    assert ("cookie", "theme", "dark") in items
    assert ("header", "user-agent", "curl/8") in items
    assert ("header", "x-api-version", "${jndi:ldap://x}") in items
    assert not any(name == "accept" for _, name, _ in items)


def test_bodies_beyond_the_cap_are_cut_and_said() -> None:
    exchange = make_exchange(
        method="POST", body=b"x" * 5000, headers={"content-type": "text/plain"}
    )
    found = request_targets(exchange.request, 1000)
    assert found.body_capped
    assert len(found.items[-1].value) == 1000


def test_nesting_and_target_count_are_bounded() -> None:
    deep: object = "leaf"
    for _ in range(MAX_DEPTH + 10):
        deep = [deep]
    exchange = make_exchange(
        method="POST", headers={"content-type": "application/json"}, body=orjson.dumps(deep)
    )
    assert request_targets(exchange.request, 10**6).too_deep
    many = "&".join(f"p{i}=v" for i in range(MAX_TARGETS * 2))
    found = request_targets(make_exchange(query=many).request, 10**6)
    assert len(found.items) == MAX_TARGETS
    assert found.truncated > 0


def test_multipart_parts_are_split_into_names_files_and_contents() -> None:
    body = (
        b'--XyZ\r\nContent-Disposition: form-data; name="doc"; filename="a.pdf"\r\n'
        b"Content-Type: application/pdf\r\n\r\n%PDF-1.7 data\r\n"
        b'--XyZ\r\nContent-Disposition: form-data; name="note"\r\n\r\nhello\r\n--XyZ--\r\n'
    )
    items = _targets(
        method="POST",
        body=body,
        headers={"content-type": "multipart/form-data; boundary=XyZ"},
    )
    assert ("body", "doc", "a.pdf") in items
    assert ("body", "doc", "%PDF-1.7 data") in items
    assert ("body", "note", "hello") in items
    assert ("header", "part", "Content-Type: application/pdf") in items

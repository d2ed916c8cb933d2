from __future__ import annotations

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from apishield.checks import targets
from apishield.checks.targets import MAX_DEPTH, MAX_TARGETS, Target, request_targets
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


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.text(alphabet="ab<$ é", max_size=3),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(alphabet="ab_.-$[<", max_size=3), inner, max_size=4)
    ),
    max_leaves=60,
)


def _json_targets(document: object, *, walk: str = "quick") -> tuple[list[Target], int, bool]:
    """Targets of a JSON request: with the quick walk that judges all keys in one match,
    with the walk that judges them dict by dict ("keys"), or always with the walk with its
    limits ("bounded")."""
    exchange = make_exchange(
        method="POST", headers={"content-type": "application/json"}, body=orjson.dumps(document)
    )

    def refuse(*args: object) -> None:
        raise targets._WalkLimitError

    saved = targets._walk, targets._all_plain
    if walk == "keys":
        targets._all_plain = lambda keys: False  # type: ignore[assignment]
    elif walk == "bounded":
        targets._walk = refuse  # type: ignore[assignment]
    try:
        found = request_targets(exchange.request, 10**7)
    finally:
        targets._walk, targets._all_plain = saved
    return found.items, found.truncated, found.too_deep


@settings(max_examples=300, deadline=None)
@given(document=_JSON)
def test_the_quick_json_walks_find_what_the_bounded_walk_finds(document: object) -> None:
    bounded = _json_targets(document, walk="bounded")
    assert _json_targets(document) == bounded
    assert _json_targets(document, walk="keys") == bounded


def test_the_quick_json_walk_hands_documents_near_the_limits_to_the_bounded_walk() -> None:
    documents: list[object] = []
    for depth in (MAX_DEPTH - 2, MAX_DEPTH - 1, MAX_DEPTH):
        nested: object = {"k": "v", "o[$ne]": 1}
        for _ in range(depth):
            nested = {"a": nested, "s": "x"}
        documents.append(nested)
        documents.append({"plain": nested["a"]})  # type: ignore[index]
    wide = [f"v{i}" for i in range(MAX_TARGETS + 50)]
    documents += [wide, {"a": wide, "b": ["x"]}]
    for document in documents:
        quick = _json_targets(document)
        assert quick == _json_targets(document, walk="bounded")
        assert quick == _json_targets(document, walk="keys")
    assert quick[1] > 0  # the wide list was cut, and said so


@settings(max_examples=300, deadline=None)
@given(
    path=st.text(alphabet="/a=%2Fc+.;", max_size=12),
    query=st.text(alphabet="a=&%2F3A+b ", max_size=30),
    cookie=st.text(alphabet="a=; %2F+\t", max_size=20),
)
def test_the_gate_text_holds_each_plain_value_on_a_line_of_its_own(
    path: str, query: str, cookie: str
) -> None:
    """What the gate relies on: every path, query and cookie value judged one by one starts
    and ends a line of the text it scans (with the escapes it lets through decoded)."""
    exchange = make_exchange(path=path, query=query, headers={"cookie": cookie})
    lines = set(targets.plain_parts(exchange.request).split("\n"))
    for value in request_targets(exchange.request, 1000).values:
        shown = value
        for code, char in targets._HARMLESS_ESCAPES.items():
            shown = shown.replace(f"%{code}", char)
        shown = shown.replace("+", " ")
        assert shown in lines


def test_an_xml_body_gives_its_attribute_values_and_texts() -> None:
    body = b'<?xml version="1.0"?><a id="x&apos;1"><b>hello</b></a>'
    exchange = make_exchange(method="POST", body=body, headers={"content-type": "application/xml"})
    found = request_targets(exchange.request, 1 << 20)
    assert body.decode() in found.values  # the document itself, for DOCTYPE and ENTITY rules
    assert "x'1" in found.values and "hello" in found.values


def test_values_that_name_an_uploaded_file_are_marked() -> None:
    body = (
        b'--XyZ\r\nContent-Disposition: form-data; name="f"; filename="a.txt"\r\n\r\nhi\r\n'
        b"--XyZ--\r\n"
    )
    exchange = make_exchange(
        method="POST",
        body=body,
        headers={"content-type": "multipart/form-data; boundary=XyZ", "x_file.name": "b.txt"},
    )
    found = request_targets(exchange.request, 1 << 20)
    assert sorted(found.values[i] for i in found.file_names) == ["a.txt", "b.txt"]

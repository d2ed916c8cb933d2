from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apishield.normalise.segments import (
    NATIONAL_PHONE,
    PHONE,
    Kind,
    _phone,
    classify,
    code_shape,
    not_a_name,
    segment_pattern,
    shown,
    split_extension,
    word_shape,
)

HEX32 = "0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize(
    ("text", "kind", "strong"),
    [
        ("40213377", "id", True),
        ("42", "id", False),
        ("0", "id", False),
        ("6e8bc430-9c3a-11d9-9669-0800200c9a66", "uuid", True),
        ("da39a3ee5e6b4b0d3255bfef95601890afd80709", "hex", True),
        ("507f1f77bcf86cd799439011", "hex", True),
        ("a1b2c3d4", "hex", False),
        ("5f3a9c1", "hex", False),
        ("A94A8FE", "hex", False),
        ("AC" + HEX32, "id", True),
        ("PN" + HEX32.upper()[:16] + HEX32[16:], "id", True),
        ("cus_9s8d7f6g5h4j3k", "id", True),
        ("cus_NffrFeUfNV2Hib", "id", True),
        ("sk_live_51HxYzAbCdEfGh12", "id", True),
        ("inv_1234", "id", False),
        ("01ARZ3NDEKTSV4RRFFQ69G5FAV", "id", True),
        ("alice@example.com", "email", True),
        ("+14155550123", "phone", True),
        ("+44 20 7946 0958", "phone", True),
        ("415-555-0123", "phone", False),
        ("(415) 555-0123", "phone", False),
        ("2010-04-01", "date", False),
        ("2024-01-15T10:30:00Z", "date", False),
        ("192.168.10.200", "ip", True),
        ("2001:db8::1", "ip", True),
        ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl", "token", True),
        ("dGhpcyBpcyBhIHRva2VuIQ2x", "token", True),
        ("V1StGXR8_Z5jdHi6B-myT", "token", True),
        ("kYqPzRtWbNmHvLcXwQsD", "token", True),
        ("x7Gh2kLq9", "token", False),
        ("x" * 300, "param", True),
    ],
)
def test_values_are_typed(text: str, kind: str, strong: bool) -> None:
    found = classify(text)
    assert found is not None, text
    assert (found.name, found.strong) == (kind, strong)


@pytest.mark.parametrize(
    "text",
    [
        "customers",
        "Local",
        "MachineToMachine",
        "IpAccessControlListMappings",
        "UserDefinedMessageSubscriptions",
        "send-soundboard-sound",
        "guild_scheduled_events",
        "@me",
        "@original",
        "facade",
        "v1",
        "oauth2",
        "Base64Encoded",
        "2fa",
        "US",
        "1.2.3",
        "me@",
        "naïve",
        "deadbee",
        "alice17",
        "Ab12cd3",
        "x7k2m9q",
        "",
    ],
)
def test_words_are_not_values(text: str) -> None:
    assert classify(text) is None


@pytest.mark.parametrize(
    ("raw", "split"),
    [
        ("US.json", ("US", "json")),
        ("CA" + HEX32 + ".json", ("CA" + HEX32, "json")),
        ("jquery.min.js", ("jquery.min", "js")),
        ("archive.tar.gz", ("archive.tar", "gz")),
        (".well-known", None),
        ("v1.2", None),
        ("report.", None),
        ("name.toolong", None),
        ("plain", None),
        ("report.PDF", ("report", "PDF")),
        ("CA" + HEX32 + ".foo", ("CA" + HEX32, "foo")),
        ("john.doe", None),
        ("example.com", None),
    ],
)
def test_extensions_split_off_the_stem(raw: str, split: tuple[str, str] | None) -> None:
    assert split_extension(raw) == split


def test_codes_have_a_shape_and_words_do_not() -> None:
    assert code_shape("US") == code_shape("GB") == "AA"
    assert code_shape("en-GB") == "aa-AA"
    assert code_shape("Local") is None
    assert code_shape("users") is None


def test_template_segments_compile_to_matchers() -> None:
    assert segment_pattern("customers") is None
    matcher = segment_pattern("{Sid}.json")
    assert matcher is not None
    pattern, names = matcher
    assert names == ("Sid",)
    match = pattern.fullmatch("CA1.json")
    assert match is not None
    assert match.groups() == ("CA1",)
    assert pattern.fullmatch("CA1.xml") is None


def test_a_documented_path_is_shown_as_the_spec_writes_it() -> None:
    documented = frozenset({"/2010-04-01/Accounts/{AccountSid}/Calls.json"})
    assert shown("/2010-04-01/Accounts/{AccountSid}/Calls.json", documented) == (
        "/2010-04-01/Accounts/{AccountSid}/Calls.json"
    )
    assert shown("/2010-04-01/Accounts/{id}/Calls.json", documented) == (
        "/{date}/Accounts/{id}/Calls.json"
    )


def _phone_counting_each_digit(text: str, kind: Kind) -> Kind | None:
    """`_phone` as it reads a value when it looks at each character."""
    count = sum(map(str.isdigit, text))
    if count < 7 or count > 15 or text.strip(" -.()0123456789"):
        return None
    if kind is PHONE:
        return PHONE
    return NATIONAL_PHONE if count < len(text) else None


@given(
    st.text(alphabet="0123456789 -.()+a²", max_size=18) | st.from_regex(r"\d{0,18}", fullmatch=True)
)
def test_phone_numbers_of_digits_alone_read_as_digit_by_digit(text: str) -> None:
    for kind in (PHONE, NATIONAL_PHONE):
        assert _phone(text, kind) == _phone_counting_each_digit(text, kind)


@pytest.mark.parametrize(
    ("text", "shape"),
    [
        ("alice17", "a0"),
        ("user42x3", "a0"),
        ("how-to-cook-pasta", "a-a"),
        ("me", None),
        ("search", None),
        ("reset-password", None),
        ("new-member-welcome", None),
        ("v1", None),
        ("US", None),
        ("1.2.3", None),
        ("naïve42", None),
    ],
)
def test_words_that_read_as_values_have_a_shape(text: str, shape: str | None) -> None:
    assert word_shape(text) == shape


@pytest.mark.parametrize(
    "text",
    ["1' OR '1'='1", "1 UNION SELECT NULL--", "../../etc/passwd", "<script>", "-1", "a\\b", "x%41"],
)
def test_attack_payloads_are_not_names(text: str) -> None:
    assert not_a_name(text)


@pytest.mark.parametrize(
    "text", ["customers", "@me", "things:batchGet", "$metadata", "café", "{id}", "en-GB", "a_b.c~"]
)
def test_names_are_names(text: str) -> None:
    assert not not_a_name(text)

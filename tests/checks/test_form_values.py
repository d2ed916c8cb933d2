"""Query and form decoding: the shortcuts give what parameter-by-parameter decoding gives."""

from __future__ import annotations

from urllib.parse import unquote_plus

from hypothesis import given, settings
from hypothesis import strategies as st

from apishield.checks import form_values
from apishield.checks.form_values import check_encoding
from apishield.checks.http_syntax import proto_finding
from apishield.exchange import Finding, Severity

PIECES = [
    "a", "id", "=", "&", "+", "%", "%20", "%2C", "%2c", "%2F", "%2f", "%3A", "%3a", "%40",
    "%25", "%250a", "%252e", "%27", "%0d%0a", "%0A", "%00", "%C3%A9", "%C3", "%A9", "%e0%80",
    "%E0%9F", "%F0%8F", "%c0", "%C1", "%u0041", "%U00e9", "%5C", "%5Cu0041", "\\u0041", "é",
    "_method", "DELETE", ")(uid=*", "HTTP/1.1", "\r\n", "Set-Cookie:", " ", "\x7f",
    "%4", "%zz", "%%", "%4é1", "%aF", "%7f", "%7F", "%80", "%ff", "%2B", "%5", "%g0", "ü",
]  # fmt: skip
texts = st.lists(st.sampled_from(PIECES), max_size=14).map("".join)


def reference_decoded(raw: str) -> str:
    """What `_form_decoded` stands for: each parameter decoded as a form parser decodes it."""
    tokens = raw.split("&")
    if len(tokens) > form_values._MAX_PARAMS:
        return unquote_plus(raw)
    pairs = [token.partition("=") for token in tokens]
    return "&".join(unquote_plus(n) + sep + unquote_plus(v) for n, sep, v in pairs)


@settings(max_examples=500)
@given(texts)
def test_decoded_text_is_each_parameter_decoded(raw: str) -> None:
    assert form_values._form_decoded(raw) == reference_decoded(raw)


@settings(max_examples=300)
@given(texts)
def test_pairs_are_decoded_pairs(raw: str) -> None:
    expected = [
        (unquote_plus(n), sep, unquote_plus(v))
        for n, sep, v in (token.partition("=") for token in raw.split("&"))
    ]
    assert form_values._pairs(raw) == expected


def reference_encoding(raw: str, location: str) -> list[Finding]:
    """The three encoding searches, each on its own."""
    titles = [
        (form_values._PERCENT_U, "non-standard %u encoding"),
        (form_values._OVERLONG, "overlong UTF-8 encoding"),
        (form_values._DOUBLE_PERCENT, "double percent-encoding of a control or path character"),
    ]
    return [
        proto_finding("encoding", title, Severity.MEDIUM, location=location)
        for pattern, title in titles
        if pattern.search(raw)
    ]


@settings(max_examples=500)
@given(texts)
def test_one_scan_finds_what_three_searches_find(raw: str) -> None:
    out: list[Finding] = []
    check_encoding(raw, "query", out)
    assert out == reference_encoding(raw, "query")


def test_only_the_first_parameters_are_decoded_one_by_one() -> None:
    raw = "&".join(f"a{n}=%41+b" for n in range(form_values._MAX_PARAMS + 50))
    pairs = form_values._pairs(raw)
    assert len(pairs) == form_values._MAX_PARAMS
    assert pairs[-1] == (f"a{form_values._MAX_PARAMS - 1}", "=", "A b")
    assert form_values._form_decoded(raw) == reference_decoded(raw)

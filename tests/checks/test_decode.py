"""The decoded forms of a value: what each encoding trick turns into, and the bounds."""

from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from apishield.checks.decode import (
    MAX_CHARS,
    ROUNDS,
    _nfkc_stable,
    decode_once,
    form_variants,
    nothing_to_decode,
    percent_decode,
    variants,
)


def test_plain_value_takes_the_fast_path() -> None:
    assert variants("customer-40213377") == ["customer-40213377"]
    assert variants("") == [""]


def test_raw_form_comes_first() -> None:
    forms = variants("%3Cb%3E")
    assert forms[0] == "%3Cb%3E"
    assert "<b>" in forms


def test_double_and_triple_percent_encoding() -> None:
    assert "../x" in variants("%252e%252e%252fx")
    assert "../x" in variants("%25252e%25252e%25252fx")


def test_decoding_stops_after_the_round_limit() -> None:
    deep = "%" + "25" * (ROUNDS + 2) + "41"
    assert "A" not in variants(deep)


def test_iis_percent_u_and_overlong_utf8() -> None:
    assert "../" in variants("%u002e%u002e%u002f")
    assert "../etc" in variants("%c0%ae%c0%ae%c0%afetc")
    assert "/" in variants("%e0%80%af")


def test_nested_percent_digits() -> None:
    assert "." in variants("%%32%65")


def test_html_entities_named_numeric_and_without_semicolon() -> None:
    assert "<svg>" in variants("&lt;svg&gt;")
    assert "<svg>" in variants("&#60;svg&#x3e;")
    assert "<svg>" in variants("&#0060svg&#x3E")
    assert "java\tscript:" in variants("java&Tab;script&colon;")


def test_backslash_escapes() -> None:
    assert "<a>" in variants("\\x3ca\\u003e")
    assert "<a>" in variants("\\u{3c}a\\u{3e}")


def test_fullwidth_letters_fold_to_ascii() -> None:
    assert "<script>" in variants("＜ｓｃｒｉｐｔ＞")


def test_null_bytes_are_removed() -> None:
    assert "../../etc/passwd" in variants("../../etc/pass\x00wd".replace("pass\x00", "pass"))
    assert "a.php" in variants("a.p\x00hp")
    assert "report.pdf" in variants("report%00.pdf")


def test_plus_is_also_read_as_space() -> None:
    forms = variants("1+union+select")
    assert "1+union+select" in forms
    assert "1 union select" in forms


def test_encoded_plus_survives_as_plus() -> None:
    assert "1+1" in variants("1%2b1")


def test_utf7() -> None:
    assert "<script>" in variants("+ADw-script+AD4-")


def test_inline_comments_become_spaces_but_mysql_versioned_content_stays() -> None:
    assert "1 UNION SELECT" in variants("1 UNION/**/SELECT")
    assert "a select b" in variants("a/*!50000select*/b")


def test_surrogates_and_invalid_escapes_do_not_raise() -> None:
    assert variants("\ud800%41")[0] == "\ud800%41"
    assert percent_decode("%zz%4") == "%zz%4"
    assert decode_once("\\u{110000}") == "\ufffd"
    assert decode_once("\\ud800") == "\ufffd"


def test_forms_are_distinct() -> None:
    forms = variants("%41+%41")
    assert len(forms) == len(set(forms))


def test_long_values_are_cut() -> None:
    forms = variants("%41" * MAX_CHARS)
    assert all(len(form) <= MAX_CHARS for form in forms)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_never_raises_and_stays_bounded(value: str) -> None:
    forms = variants(value)
    assert forms[0] == value
    assert len(forms) <= 2 * (ROUNDS + 1) + 2
    assert all(len(form) <= MAX_CHARS for form in forms)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="%25uUc0aef&#;x3C+\\/*!\x00ＡＢ", max_size=200))
def test_encoding_heavy_text_never_raises(value: str) -> None:
    assert variants(value)[0] == value


def test_form_values_read_plus_as_a_space_only() -> None:
    assert form_variants("Select+menu+for+users") == [
        "Select+menu+for+users",
        "Select menu for users",
    ]
    forms = form_variants("1%2B1+union%2Bselect")
    assert "1+1 union+select" in forms  # an encoded plus is a plus
    assert "1%2B1+union%2Bselect" in forms and len(forms) == 3


_VALUES = st.lists(
    st.text(alphabet=st.sampled_from("ab +%2&#;\\/*\x00é\u00a0²ｅ\u0301\n\r"), max_size=8),
    max_size=6,
)


@settings(max_examples=500, deadline=None)
@given(values=_VALUES)
def test_nothing_to_decode_in_all_values_means_each_is_its_only_form(values: list[str]) -> None:
    if nothing_to_decode("\n".join(values)):
        for value in values:
            assert variants(value) == [value] or "+" in value


@settings(max_examples=500, deadline=None)
@given(text=st.text(max_size=20) | st.text(alphabet=st.characters(max_codepoint=0xFF)))
def test_the_latin1_shortcut_agrees_with_unicodedata(text: str) -> None:
    assert _nfkc_stable(text) == unicodedata.is_normalized("NFKC", text)


def test_every_latin1_character_agrees_with_unicodedata() -> None:
    for code in range(0x100):
        assert _nfkc_stable(chr(code)) == unicodedata.is_normalized("NFKC", chr(code))

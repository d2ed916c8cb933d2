"""One Hyperscan scan over many texts: matches land on the right text and never span two."""

from __future__ import annotations

import hyperscan
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apishield.checks.matcher import Matcher, SignatureError, default_matcher
from apishield.checks.signatures import Signature
from apishield.checks.signatures.base import high, medium
from apishield.exchange import Severity

TAG = high("tag", "xss", "Script tag", r"<script\b")
UNION = high("union", "sqli", "UNION SELECT", r"\bunion\s+select\b")
WHOLE = medium("whole", "ssrf", "Whole value", r"^localhost$")
CRLF = high("crlf", "crlf", "Header after a break", r"[\r\n]set-cookie:")
HINT = medium("hint", "sqli", "Quote", r"'")


def _ids(hits: list[tuple[int, Signature]]) -> list[tuple[int, str]]:
    return sorted((index, sig.rule_id) for index, sig in hits)


def test_matches_map_to_their_text() -> None:
    matcher = Matcher([TAG, UNION])
    hits = matcher.scan(["hello", "1 union select 2", "x", "<script>"])
    assert _ids(hits) == [(1, "inj.sqli.union"), (3, "inj.xss.tag")]


def test_non_ascii_texts_keep_offsets_right() -> None:
    hits = Matcher([TAG]).scan(["ünïcödé ✓✓✓", "日本語", "<script>"])
    assert _ids(hits) == [(2, "inj.xss.tag")]


def test_a_signature_is_reported_once_per_scan() -> None:
    hits = Matcher([TAG]).scan(["<script>" * 50, "<script>"])
    assert _ids(hits) == [(0, "inj.xss.tag")]


def test_matches_never_span_two_texts() -> None:
    assert Matcher([UNION]).scan(["1 union", "select 2"]) == []


def test_anchors_mean_one_text() -> None:
    matcher = Matcher([WHOLE])
    assert _ids(matcher.scan(["a", "localhost", "b"])) == [(1, "inj.ssrf.whole")]
    assert matcher.scan(["my localhost", "localhost x"]) == []


def test_newline_inside_a_text_still_counts_as_a_line_break() -> None:
    matcher = Matcher([CRLF])
    assert _ids(matcher.scan(["en\r\nSet-Cookie: a=1"])) == [(0, "inj.crlf.crlf")]
    assert _ids(matcher.scan(["en\nSet-Cookie: a=1"])) == [(0, "inj.crlf.crlf")]
    assert matcher.scan(["en", "Set-Cookie: a=1"]) == []


def test_every_text_reports_each_text_once() -> None:
    matcher = Matcher([HINT, TAG], every_text=[HINT.rule_id])
    hits = matcher.scan(["it's", "plain", "''''''", "<script>'"])
    assert _ids(hits) == [
        (0, "inj.sqli.hint"),
        (2, "inj.sqli.hint"),
        (3, "inj.sqli.hint"),
        (3, "inj.xss.tag"),
    ]


def test_every_text_must_name_known_signatures() -> None:
    with pytest.raises(ValueError, match=r"inj\.nope"):
        Matcher([TAG], every_text=["inj.nope"])


def test_bad_pattern_is_named() -> None:
    bad = Signature("inj.xss.bad", "xss", "Backreference", r"(a)\1", Severity.HIGH)
    with pytest.raises(SignatureError, match=r"inj\.xss\.bad"):
        Matcher([TAG, bad])


def test_empty_inputs() -> None:
    assert Matcher([]).scan(["<script>"]) == []
    assert Matcher([TAG]).scan([]) == []
    assert Matcher([TAG]).scan([""]) == []


def test_default_matcher_is_built_once() -> None:
    assert default_matcher() is default_matcher()
    assert any(sig.cls == "xss" for _, sig in default_matcher().scan(["<script>alert(1)</script>"]))


def test_caseless_by_default() -> None:
    assert TAG.flags & hyperscan.HS_FLAG_CASELESS
    assert _ids(Matcher([TAG]).scan(["<SCRIPT>"])) == [(0, "inj.xss.tag")]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=200), max_size=20))
def test_scan_never_raises_and_indexes_stay_in_range(texts: list[str]) -> None:
    hits = default_matcher().scan(texts)
    assert all(0 <= index < len(texts) for index, _ in hits)
    assert len(hits) == len({(index, sig.rule_id) for index, sig in hits})


def test_anchored_patterns_map_to_the_text_they_anchor_in() -> None:
    start = high("start", "lfi", "Starts with a dot", r"^\.")
    end = high("end", "lfi", "Ends with a slash", r"/$")
    hits = Matcher([start, end]).scan(["a/b", ".env", "dir/"])
    assert _ids(hits) == [(1, "inj.lfi.start"), (2, "inj.lfi.end")]

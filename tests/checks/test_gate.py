"""The gate leaves out signatures that cannot match without a suspicious character: the reading
of each pattern that decides it (`needs_suspicious`) is held to what the patterns really match."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apishield.checks import gate as gate_module
from apishield.checks.gate import SUSPICIOUS, Gate, alternatives, gate_form, needs_suspicious
from apishield.checks.injection import SQL_HINT
from apishield.checks.signatures import SIGNATURES

_SUSPICIOUS_BYTES = [re.compile(p.encode(), re.IGNORECASE) for p in SUSPICIOUS]
_LEFT_OUT = [sig for sig in SIGNATURES if needs_suspicious(sig.pattern)]
_DROPPED = [
    (sig.rule_id, part)
    for sig in SIGNATURES
    if not needs_suspicious(sig.pattern)
    for part in alternatives(sig.gate or sig.pattern)
    if needs_suspicious(part)
]
"""Top-level alternatives the gate leaves out of signatures it keeps."""


def _suspicious(text: str) -> bool:
    """What the gate's own patterns say of a value, on the bytes it scans (a line break inside
    a value arrives as a carriage return)."""
    data = text.replace("\n", "\r").encode("utf-8", "surrogatepass")
    return any(p.search(data) for p in _SUSPICIOUS_BYTES)


@pytest.mark.parametrize(
    "pattern",
    [
        r"<script",
        r"\bunion\b[^\n]*\(",
        r"a--b",
        r"\.\./",
        r"https?://x",
        r"[;|]\s*id\b",
        r"x(?:'|\")",
        r"&#x?\d+",
        r"[\x80-\xff]",
        r"a\nb",
    ],
)
def test_patterns_that_need_a_suspicious_character(pattern: str) -> None:
    assert needs_suspicious(pattern)


@pytest.mark.parametrize(
    "pattern",
    [
        r"^\s*ls\s",
        r"a-b",
        r"x(?:--|y)",
        r"/etc/passwd",
        r"%2e%2e%2f",
        r"[^<]+",
        r"(?:'|\w)+",
        r"\bselect\b",
        r".*",
        r"(unknown",  # Python's parser rejects it: kept in the gate, the safe side
    ],
)
def test_patterns_a_quiet_text_can_match(pattern: str) -> None:
    assert not needs_suspicious(pattern)


def test_a_pair_is_not_completed_across_the_start_of_a_value() -> None:
    # `-` ends one value and `-` starts the next: the gate's text has a line break between
    assert not needs_suspicious(r"-$\n?^-")
    assert needs_suspicious(r"-[-]") and needs_suspicious(r"[.]+\.")


def test_the_reading_agrees_with_the_gates_own_patterns() -> None:
    """Every character the reading calls suspicious is one SUSPICIOUS finds alone, every quiet
    one and every quiet pair is one it does not, and every suspicious pair is one it does."""
    quiet = gate_module._quiet_alphabet()
    for char in map(chr, (0x09, *range(0x20, 0x7F))):
        assert _suspicious(char) == (char not in quiet), char
    pairs = gate_module._suspicious_pairs()
    assert {"--", "..", ":/", "%u"} <= pairs
    for first in quiet:
        for second in quiet:
            pair = first + second
            if not re.search(r"[a-z]{2}", pair, re.IGNORECASE):  # SQL words need letters
                assert _suspicious(pair) == (pair in pairs), pair


def test_many_signatures_are_left_out_and_the_sql_hint_stays() -> None:
    assert len(_LEFT_OUT) > len(SIGNATURES) // 4
    assert not needs_suspicious(SQL_HINT.pattern)


_UNSCANNED = [(sig.rule_id, sig.pattern) for sig in _LEFT_OUT] + _DROPPED
"""Every pattern the gate does not scan: whole signatures, then alternatives of kept ones."""


@pytest.mark.parametrize(
    ("rule_id", "pattern"), _UNSCANNED, ids=[f"{r}-{i}" for i, (r, _) in enumerate(_UNSCANNED)]
)
@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    # The same examples on every run: Hypothesis pads a drawn match with random text and
    # searches it with Python's `re`, and some signatures (nested lazy repeats, which the
    # product only ever runs in Hyperscan) backtrack for minutes on an unlucky padding.
    derandomize=True,
)
@given(data=st.data())
def test_every_text_an_unscanned_pattern_matches_is_suspicious(
    rule_id: str, pattern: str, data: st.DataObject
) -> None:
    text = data.draw(st.from_regex(re.compile(pattern, re.IGNORECASE), fullmatch=False))
    assert _suspicious(text), (rule_id, pattern, text)


def test_alternatives_split_only_at_the_top_level() -> None:
    pattern = r"a(b|c)|[|]d|\|e|[]|]f|[^]|]g"
    assert alternatives(pattern) == ["a(b|c)", "[|]d", r"\|e", "[]|]f", "[^]|]g"]
    for sig in SIGNATURES:
        assert "|".join(alternatives(sig.gate or sig.pattern)) == (sig.gate or sig.pattern)


def test_a_kept_signature_keeps_the_alternatives_a_quiet_text_can_match() -> None:
    forms = {sig.rule_id: gate_form(sig) for sig in SIGNATURES}
    assert forms["inj.xss.script-tag"] is None  # `<` in every alternative
    assert "passwd" in (forms["inj.lfi.sensitive-file"] or "")


def test_a_gate_without_them_still_stops_at_their_examples() -> None:
    gate = Gate(SIGNATURES)
    for text in ("<script>alert(1)</script>", "x' or 1=1--", "a;id", "{{7*7}}", "${jndi:x}"):
        assert not gate.quiet(text)
    assert gate.quiet("status\nshipped\npage\n2\n/api/v2/orders")
    # a raw `&` can only be in a path or a cookie (the query is split at it): loud there
    assert not gate.quiet("/files/a & b")


_HEADER_PIECES = st.lists(
    st.sampled_from(
        ["Mozilla/5.0", " ", "(", ")", ";", "https://", "a.example", "/", "?", "q=1", "@",
         "10.0.0.1", ",", "v2.3", "--", "-", "*", "&", "'", "\r", "é", "or", "passwd", "\n"]
    ),
    max_size=12,
).map("".join)  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_HEADER_PIECES, _HEADER_PIECES)
def test_one_scan_of_two_parts_says_what_two_scans_say(first: str, second: str) -> None:
    """`quiet_parts` and `loud_at_a_glance` only spare scans: they call quiet what the gate
    calls quiet of each part, no more."""
    from apishield.checks.gate import loud_at_a_glance
    from apishield.checks.injection import gate

    both = f"{first}\n{second}"
    assert gate().quiet_parts(first, second) == (gate().quiet(first), gate().quiet(both))
    if loud_at_a_glance(second):
        assert not gate().quiet(second)

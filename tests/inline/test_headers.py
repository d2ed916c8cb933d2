from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from apishield.inline.headers import fold, fold_raw

NAMES = st.sampled_from(["Accept", "accept", "X-Forwarded-For", "cookie", "x-a"])
VALUES = st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=12)


def _joined_one_by_one(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """The definition: each repeat appended to what is held, in order."""
    folded: dict[str, str] = {}
    for name, value in pairs:
        key = name.lower()
        folded[key] = value if key not in folded else f"{folded[key]}, {value}"
    return folded


@given(st.lists(st.tuples(NAMES, VALUES), max_size=30))
def test_folding_joins_repeats_in_order(pairs: list[tuple[str, str]]) -> None:
    expected = _joined_one_by_one(pairs)
    assert fold(pairs) == expected
    raw = [(n.encode("latin-1"), v.encode("latin-1")) for n, v in pairs]
    assert fold_raw(raw) == (expected, 0)


def test_a_flood_of_repeats_is_folded_whole() -> None:
    # 20,000 repeats of 100 bytes: joined one by one that copies about 20 GB; joined once, 2 MB.
    raw = [(b"x-a", b"v" * 100)] * 20_000
    headers, skipped = fold_raw(raw)
    assert skipped == 0
    assert headers["x-a"] == ", ".join(["v" * 100] * 20_000)


def test_headers_past_the_budget_are_left_out_and_counted() -> None:
    raw = [(b"host", b"api.example.org"), (b"x-a", b"v" * 100), (b"x-b", b"w" * 100)]
    raw.append((b"x-c", b"c"))
    headers, skipped = fold_raw(raw, budget=150)
    assert headers == {"host": "api.example.org", "x-a": "v" * 100}
    # Once one does not fit, none after it is read (the analysis sees a prefix), all counted.
    assert skipped == 103 + 4

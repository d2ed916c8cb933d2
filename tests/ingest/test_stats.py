from apishield.ingest.stats import MAX_ERRORS, IngestStats, LineError, number, shown


def test_skip_counts_everything_but_keeps_the_first_errors() -> None:
    stats = IngestStats()
    for line in range(1, MAX_ERRORS + 51):
        stats.skip("a.log", line, "not JSON", "unexpected character")
    stats.skip("a.log", 999, "bad status")
    assert stats.skipped == MAX_ERRORS + 51
    assert stats.skipped_by_reason == {"not JSON": MAX_ERRORS + 50, "bad status": 1}
    assert len(stats.errors) == MAX_ERRORS
    assert stats.errors[0] == LineError("a.log", 1, "not JSON: unexpected character")


def test_shown_is_bounded() -> None:
    assert shown("x" * 10_000).endswith("…")
    assert len(shown("x" * 10_000)) < 100
    assert shown(5) == "5"


def test_number_refuses_bools_and_non_finite() -> None:
    assert number(1.5) == 1.5
    assert number(True) is None
    assert number(float("nan")) is None
    assert number(-1) is None
    assert number("1") is None

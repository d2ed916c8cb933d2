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


def test_shown_keeps_the_shape_of_a_line_not_its_content() -> None:
    line = '203.0.113.6 - jane doe [07/Dec/2026:10:00:00 +0000] "GET /v1/reset?email=jane@x.org'
    kept = shown(line)
    assert kept.startswith("'999.9.999.9 - aaaa aaa [99/Aaa/9999:")
    for secret in ("203.0.113.6", "jane", "x.org", "reset"):
        assert secret not in kept
    assert shown(b"Jos\xc3\xa9 \xff") == "'Aaaa \ufffd'"
    assert shown({"email": "ada@example.org"}) == "{'aaaaa': 'aaa@aaaaaaa.aaa'}"


def test_a_part_left_out_is_counted_apart_from_skipped_lines() -> None:
    stats = IngestStats(lines=2, events=2)
    stats.left_out("a.har", 2, "bad field response.content.text", "not valid base64")
    stats.left_out("a.har", 2, "bad field request.postData.text")
    assert (stats.partial, stats.skipped) == (2, 0)
    assert stats.lines == stats.events + stats.skipped
    assert stats.partial_by_reason == {
        "bad field response.content.text": 1,
        "bad field request.postData.text": 1,
    }
    assert stats.errors[0] == LineError(
        "a.har", 2, "bad field response.content.text: not valid base64"
    )

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apishield.ingest.timestamps import (
    LAST,
    _any_spelling,
    epoch_seconds,
    event_time,
    fixed_shape_seconds,
    parse_timestamp,
    time_reader,
)

T = 1_700_000_000.0  # 2023-11-14T22:13:20Z


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2023-11-14T22:13:20Z", T),
        ("2023-11-14T22:13:20+00:00", T),
        ("2023-11-14T23:13:20+01:00", T),
        ("2023-11-14T22:13:20.250Z", T + 0.25),
        ("2023-11-14T22:13:20.123456789Z", T + 0.123456),
        ("2023-11-14 22:13:20", T),  # no zone: UTC
        ("[2023-11-14T22:13:20.000Z]", T),  # Envoy text logs bracket it
        ("14/Nov/2023:22:13:20 +0000", T),
        ("14/Nov/2023:15:13:20 -0700", T),
        ("[14/Nov/2023:23:13:20 +0100]", T),
        ("1700000000", T),
        ("1700000000.5", T + 0.5),
        ("1700000000000", T),
        ("1700000000000000", T),
        ("Tue, 14 Nov 2023 22:13:20 GMT", T),
    ],
)
def test_spellings_logs_use(text: str, expected: float) -> None:
    assert parse_timestamp(text) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize(
    "text",
    ["", "yesterday", "31/Feb/2023:00:00:00 +0000", "14/Foo/2023:22:13:20 +0000", "nan", "-5"],
)
def test_not_a_time(text: str) -> None:
    with pytest.raises(ValueError):
        parse_timestamp(text)


def test_numbers_by_magnitude() -> None:
    assert epoch_seconds(1_700_000_000) == T
    assert epoch_seconds(1_700_000_000_000) == T
    assert event_time(1_700_000_000_123) == pytest.approx(T + 0.123)
    with pytest.raises(ValueError):
        event_time(True)
    with pytest.raises(ValueError):
        epoch_seconds(float("inf"))


def test_reader_for_msec_is_plain_float_and_iso_is_cached() -> None:
    assert time_reader("1700000000.123") is float
    assert time_reader("2023-11-14T22:13:20Z") is parse_timestamp
    assert time_reader(1_700_000_000_000) is event_time


@given(st.text(max_size=80))
def test_any_text_is_a_time_or_a_value_error(text: str) -> None:
    try:
        value = parse_timestamp(text)
    except ValueError:
        return
    assert isinstance(value, float)


def general(text: str) -> float | None:
    """What the general parser makes of a text, None where it refuses it."""
    try:
        return _any_spelling(text)
    except (ValueError, OverflowError):
        return None


def two(low: int, high: int) -> st.SearchStrategy[str]:
    return st.integers(low, high).map(lambda n: f"{n:02d}")


YEARS = st.integers(1970, 2100).map(str) | st.integers(0, 9999).map(lambda n: f"{n:04d}")
MONTHS = two(1, 12) | two(0, 99)
DAYS = two(1, 31) | two(0, 99)
CLOCKS = st.tuples(two(0, 23) | two(0, 99), two(0, 59) | two(0, 99), two(0, 59) | two(0, 99))
ISO_ZONES = (
    st.just("")
    | st.just("Z")
    | st.builds(
        lambda sign, hours, minutes: f"{sign}{hours}:{minutes}",
        st.sampled_from("+-"),
        two(0, 25) | two(0, 99),
        two(0, 61) | two(0, 99),
    )
)
ISO_TIMES = st.builds(
    lambda y, m, d, sep, clock, zone: f"{y}-{m}-{d}{sep}{':'.join(clock)}{zone}",
    YEARS,
    MONTHS,
    DAYS,
    st.sampled_from("T "),
    CLOCKS,
    ISO_ZONES,
)
MONTH_NAMES = st.sampled_from(["Jan", "Feb", "Mar", "Jun", "Sep", "Dec", "Foo", "jan", "MAR"])
LOCAL_TIMES = st.builds(
    lambda d, mon, y, clock, sign, zone: f"{d}/{mon}/{y}:{':'.join(clock)} {sign}{zone}",
    DAYS,
    MONTH_NAMES,
    YEARS,
    CLOCKS,
    st.sampled_from("+-"),
    st.integers(0, 9999).map(lambda n: f"{n:04d}"),
)


def _mangled(text: str, position: int, char: str) -> str:
    index = position % len(text)
    return text[:index] + char + text[index + 1 :]


MANGLED = st.builds(
    _mangled,
    ISO_TIMES | LOCAL_TIMES,
    st.integers(0, 30),
    st.sampled_from(["٣", "²", "x", "/", ":", "-", " ", "T", "Z", "+", "0", "9"]),
)


@settings(max_examples=2000)
@given(ISO_TIMES | LOCAL_TIMES | MANGLED)
def test_fixed_shapes_read_as_the_general_parser_reads_them(text: str) -> None:
    fast = fixed_shape_seconds(text)
    if fast is not None:
        assert fast == general(text)
        assert type(fast) is float


@given(ISO_TIMES | LOCAL_TIMES)
def test_a_second_read_twice_is_the_same_value_and_fractions_add_to_it(text: str) -> None:
    expected = general(text)
    if expected is not None and not 0 <= expected < LAST - 1:
        expected = None  # before 1970 or from 2100 on: a bad time, never an event time
    for _ in range(2):  # a miss, then the cached value
        try:
            assert parse_timestamp(text) == expected
        except ValueError:
            assert expected is None
    if expected is not None and len(text) in (20, 25) and text[10] in "T ":
        with_fraction = f"{text[:19]}.25{text[19:]}"
        assert parse_timestamp(with_fraction) == expected + 0.25


def test_common_shapes_take_the_fixed_path() -> None:
    assert fixed_shape_seconds("2023-11-14T22:13:20+00:00") == T
    assert fixed_shape_seconds("2023-11-14 23:13:20+01:00") == T
    assert fixed_shape_seconds("2023-11-14T22:13:20Z") == T
    assert fixed_shape_seconds("14/Nov/2023:15:13:20 -0700") == T
    assert fixed_shape_seconds("31/Feb/2023:00:00:00 +0000") is None
    assert fixed_shape_seconds("1700000000") is None


@pytest.mark.parametrize(
    "value",
    ["31/Dec/9999:23:59:59 -0100", "2100-01-01T00:00:00Z", "1969-12-31T23:59:59Z", 1e40, -1],
)
def test_a_time_no_report_could_print_is_a_bad_time(value: object) -> None:
    with pytest.raises(ValueError, match="not a time"):
        event_time(value)

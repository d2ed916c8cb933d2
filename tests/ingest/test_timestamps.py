import pytest
from hypothesis import given
from hypothesis import strategies as st

from apishield.ingest.timestamps import (
    epoch_seconds,
    event_time,
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

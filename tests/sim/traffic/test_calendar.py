"""Local days and the shape of a day."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter

import pytest

from apishield.sim.traffic.calendar import Calendar, poisson, sample_hour


def test_local_midnights_follow_the_zone() -> None:
    calendar = Calendar.parse("2026-01-05", 7)
    day = dt.date(2026, 1, 5)
    assert calendar.midnight(day, "America/New_York") == calendar.start + 5 * 3600
    assert calendar.midnight(day, "America/Los_Angeles") == calendar.start + 8 * 3600
    summer = dt.date(2026, 7, 1)
    utc = dt.datetime(2026, 7, 1, tzinfo=dt.UTC).timestamp()
    assert calendar.midnight(summer, "America/Chicago") == utc + 5 * 3600
    assert calendar.local_dates()[0] == dt.date(2026, 1, 4)
    assert calendar.local_dates()[-1] == dt.date(2026, 1, 12)


def test_parse_rejects_bad_words() -> None:
    with pytest.raises(ValueError, match="use YYYY-MM-DD"):
        Calendar.parse("5 Jan", 1)
    with pytest.raises(ValueError, match="more than 0"):
        Calendar.parse("2026-01-05", 0)


def test_hours_follow_the_curve_and_counts_their_mean() -> None:
    rng = random.Random(1)
    weekday = Counter(int(sample_hour(rng, dt.date(2026, 1, 6))) for _ in range(20_000))
    assert weekday[19] > 10 * weekday[3]
    weekend = Counter(int(sample_hour(rng, dt.date(2026, 1, 10))) for _ in range(20_000))
    assert weekend[7] / weekend[13] < weekday[7] / weekday[13]  # Saturdays start later
    draws = [poisson(rng, 2.5) for _ in range(20_000)]
    assert 2.4 < sum(draws) / len(draws) < 2.6 and poisson(rng, 0) == 0

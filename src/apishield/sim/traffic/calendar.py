"""When people use the API: the simulated window, local days, and the shape of a day.

Customers live in six US time zones, so the national curve is the sum of shifted local ones;
weekends start later and stay flatter. Partner and batch schedules run on the operator's own
time (America/New_York).
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import math
import random
from dataclasses import dataclass

from apishield.sim.telco.numbering import utc_offset_hours

DAY = 86_400.0
HOME_ZONE = "America/New_York"
WEEKDAY = (
    0.12, 0.06, 0.04, 0.03, 0.04, 0.10, 0.30, 0.60, 0.85, 0.95, 0.95, 1.00,
    1.05, 1.00, 0.95, 0.95, 1.00, 1.10, 1.20, 1.25, 1.20, 1.00, 0.65, 0.30,
)  # fmt: skip
WEEKEND = (
    0.20, 0.12, 0.07, 0.05, 0.04, 0.05, 0.12, 0.30, 0.55, 0.80, 0.95, 1.05,
    1.10, 1.10, 1.05, 1.00, 1.00, 1.05, 1.10, 1.15, 1.10, 0.95, 0.70, 0.40,
)  # fmt: skip
WEEKEND_VOLUME = 0.85
_CUMULATIVE = {
    False: list(itertools.accumulate(WEEKDAY)),
    True: list(itertools.accumulate(WEEKEND)),
}


@dataclass(frozen=True, slots=True)
class Calendar:
    start: float
    """Epoch seconds at UTC midnight of the first day."""
    days: float

    @classmethod
    def parse(cls, start: str, days: float) -> Calendar:
        """From the command line's words: a UTC date and a number of days."""
        try:
            day = dt.date.fromisoformat(start[:10])
        except ValueError:
            raise ValueError(
                f"start {start!r} is not a date; use YYYY-MM-DD, e.g. 2026-01-05"
            ) from None
        if not 0 < days <= 366:
            raise ValueError(f"days is {days}; use more than 0 and at most 366 (fractions allowed)")
        midnight = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp()
        return cls(midnight, days)

    @property
    def end(self) -> float:
        return self.start + self.days * DAY

    @property
    def first_date(self) -> dt.date:
        return dt.datetime.fromtimestamp(self.start, dt.UTC).date()

    def local_dates(self) -> list[dt.date]:
        """Every local date that overlaps the window somewhere in the US."""
        count = math.ceil(self.days) + 1
        return [self.first_date + dt.timedelta(days=n) for n in range(-1, count)]

    def midnight(self, day: dt.date, zone: str) -> float:
        """Epoch seconds of local midnight of `day` in `zone`."""
        return _midnight(day, zone)

    def local_time(self, day: dt.date, zone: str, hour: float) -> float:
        return self.midnight(day, zone) + hour * 3600

    def contains(self, moment: float) -> bool:
        return self.start <= moment < self.end


@functools.lru_cache(maxsize=4096)
def _midnight(day: dt.date, zone: str) -> float:
    utc_midnight = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp()
    return utc_midnight - utc_offset_hours(zone, day) * 3600


def is_weekend(day: dt.date) -> bool:
    return day.weekday() >= 5


def day_volume(day: dt.date) -> float:
    return WEEKEND_VOLUME if is_weekend(day) else 1.0


def sample_hour(rng: random.Random, day: dt.date) -> float:
    """A local time of day (hours) drawn from the diurnal curve."""
    cumulative = _CUMULATIVE[is_weekend(day)]
    hour = rng.choices(range(24), cum_weights=cumulative)[0]
    return hour + rng.random()


def poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method: the means here are small."""
    if mean <= 0:
        return 0
    limit, product, count = math.exp(-mean), rng.random(), 0
    while product > limit:
        product *= rng.random()
        count += 1
    return count

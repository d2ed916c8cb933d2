"""Saying a thing once: a cool-down per (actor, rule) for findings, and incidents re-alerted only
when their severity rises.

Both forget their oldest entries past a budget, so an attack from a million addresses costs
bounded memory; a forgotten key alerts again, which errs on the side of telling.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

from apishield.exchange import Severity

MAX_KEYS = 100_000


class Cooldown:
    """After a key alerts, it stays quiet for `seconds` of `clock` (wall clock, not event time:
    a replayed hour must not fire an hour's worth of alerts in a second)."""

    def __init__(
        self, seconds: float, clock: Callable[[], float], max_keys: int = MAX_KEYS
    ) -> None:
        self.seconds = seconds
        self._clock = clock
        self._until: dict[Hashable, float] = {}
        self._max_keys = max_keys

    def allow(self, key: Hashable) -> bool:
        """True (and the cool-down starts) when `key` has not alerted within `seconds`."""
        now = self._clock()
        until = self._until.get(key)
        if until is not None and now < until:
            return False
        self._until.pop(key, None)  # re-inserted last, so the dict stays oldest-first
        self._until[key] = now + self.seconds
        if len(self._until) > self._max_keys:
            del self._until[next(iter(self._until))]
        return True

    def __len__(self) -> int:
        return len(self._until)


class Grades:
    """The highest severity each incident has alerted at."""

    def __init__(self, max_keys: int = MAX_KEYS) -> None:
        self._alerted: dict[Hashable, Severity] = {}
        self._max_keys = max_keys

    def rises(self, key: Hashable, severity: Severity) -> bool:
        """True (and remembered) when `key` is new or `severity` is above what it alerted at."""
        before = self._alerted.get(key)
        if before is not None and severity <= before:
            return False
        self._alerted.pop(key, None)
        self._alerted[key] = severity
        if len(self._alerted) > self._max_keys:
            del self._alerted[next(iter(self._alerted))]
        return True

    def __len__(self) -> int:
        return len(self._alerted)

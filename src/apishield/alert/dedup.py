"""Saying a thing once: a cool-down per (actor, rule) for findings, incidents re-alerted only
when their severity rises, and a campaign's findings said once per campaign and severity.

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

    def allow(self, *keys: Hashable) -> bool:
        """True (and the cool-down of every key starts) when none of `keys` has alerted within
        `seconds`."""
        now = self._clock()
        for key in keys:
            until = self._until.get(key)
            if until is not None and now < until:
                return False
        for key in keys:
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


CAMPAIGN_QUIET = 6 * 3_600.0
"""Event time without a finding after which a campaign's next one alerts again: the correlator
closes an incident after the same quiet, and the campaign is then a new one."""


class Campaigns:
    """The severity each campaign's findings alerted at, and the event time of its last finding.

    A campaign works through many targets from many addresses, each a fresh finding: one alert
    says it, another when its severity rises or after `quiet` of event time without a finding.
    """

    def __init__(self, quiet: float = CAMPAIGN_QUIET, max_keys: int = MAX_KEYS) -> None:
        self.quiet = quiet
        self._alerted: dict[Hashable, tuple[Severity, float]] = {}
        self._max_keys = max_keys

    def rises(self, key: Hashable, severity: Severity, at: float) -> bool:
        """True (and remembered) when campaign `key` is new, quiet since `quiet` before `at`, or
        `severity` is above what it alerted at; `at` is the finding's event time."""
        held = self._alerted.pop(key, None)
        if held is not None:
            level, last = held
            if severity <= level and at - last <= self.quiet:
                self._alerted[key] = (level, max(last, at))
                return False
        self._alerted[key] = (severity, at)
        if len(self._alerted) > self._max_keys:
            del self._alerted[next(iter(self._alerted))]
        return True

    def __len__(self) -> int:
        return len(self._alerted)

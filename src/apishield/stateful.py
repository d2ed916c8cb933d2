"""The state interface every stateful part of apishield uses; its backends live in `state/`.

Detectors and enforcement keep windows, distinct counts and small records here rather than in
their own dicts, so the same analysis runs on one process (in memory) and across many (shared
state). Time is always the caller's event time: a replay of last month expires keys by last
month's clock, never the wall clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeVar

T = TypeVar("T")

Tally = tuple[str, str | None, float, float]
"""One `count` or `distinct` call for `State.tally`: (key, member, window, amount). Without a
member it counts `amount`; with one it adds the member and `amount` is the distinct cap."""


class StateUnavailable(Exception):  # noqa: N818 - named for the condition callers branch on
    """A shared state backend did not answer or refused a command.

    Backends raise it instead of guessing: the caller chooses whether to go on without shared
    state (fail open) or to refuse traffic (fail closed). The in-memory backend never raises it.
    """


class State(Protocol):
    def count(self, key: str, now: float, window: float, amount: float = 1.0) -> float:
        """Add `amount` and return the total over the sliding window ending at `now`.

        Two fixed buckets, the previous one weighted by how much of it the window still covers:
        the estimate rate limiters use, exact for steady traffic and never more than one bucket
        off for bursts.
        """
        ...

    def distinct(self, key: str, member: str, now: float, window: float, cap: int) -> int:
        """Add `member` and return how many distinct members the sliding window holds.

        Exact up to `cap`, after which it returns `cap`: callers compare against thresholds
        below the cap, so nothing needs to remember a million members.
        """
        ...

    def load(self, key: str, kind: type[T], now: float) -> T | None:
        """A record saved under `key`, if it is a `kind` and has not expired by `now`."""
        ...

    def save(self, key: str, value: object, now: float, ttl: float) -> None:
        """Keep a record until `now + ttl` in event time; saving again extends it."""
        ...

    def tally(self, calls: Sequence[Tally], now: float) -> list[float]:
        """Each call's `count` or `distinct` at `now`, made in order, as one round trip where
        the state is shared: what each would have returned called alone, one after another."""
        ...

"""The in-memory state backend: the default on one machine, bounded by a key budget."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from math import floor
from typing import TypeVar

from apishield.stateful import Tally

T = TypeVar("T")

DEFAULT_MAX_KEYS = 1_000_000
STALE = 86_400.0
"""A window whose bucket starts this far after an event was opened by a time the stream has
left (a line dated in the future, then the clock followed the real traffic back): it starts
over at the event, rather than taking every later event into a bucket that never rolls."""

_Window = tuple[float, float, float, float]
"""(start, expires, current, previous) of a sliding count. A plain tuple of floats, replaced on
each count, because the garbage collector stops tracking those: a busy state holds hundreds of
thousands of windows, and every full collection would otherwise walk each of them."""


_NONE: frozenset[str] = frozenset()
"""The previous bucket of most distinct sets, which never roll over: one shared empty set
rather than one each, fewer objects for the garbage collector to walk in a large state."""


@dataclass(slots=True)
class _Distinct:
    start: float
    expires: float
    current: set[str] = field(default_factory=set)
    previous: AbstractSet[str] = _NONE
    fresh: int = 0
    """Members of `current` that are not in `previous`: the union's size is then
    `len(previous) + fresh`, kept as members arrive instead of building the union per call."""

    def __init__(  # the dataclass signature, written out: see `exchange.Exchange.__init__`
        self,
        start: float,
        expires: float,
        current: set[str] | None = None,
        previous: AbstractSet[str] = _NONE,
        fresh: int = 0,
    ) -> None:
        self.start = start
        self.expires = expires
        self.current = set() if current is None else current
        self.previous = previous
        self.fresh = fresh


class _Record:
    """A plain class, not a dataclass: mypyc (setup.py) compiles this module only so, since a
    compiled dataclass with an `object` field fails at import."""

    __slots__ = ("expires", "value")

    def __init__(self, value: object, expires: float) -> None:
        self.value = value
        self.expires = expires


_Entry = _Window | _Distinct | _Record


class MemoryState:
    """Windows, distinct sets and records in one LRU of at most `max_keys` entries.

    Expiry runs on event time, piggybacked on writes (a few stale keys are dropped per call), and
    when the budget is full the least recently used key goes; `evicted` counts both, so a report
    can say when the budget was too small for the traffic.
    """

    def __init__(self, max_keys: int = DEFAULT_MAX_KEYS) -> None:
        if max_keys < 1:
            raise ValueError(f"max_keys is {max_keys}; it must be at least 1")
        self.max_keys = max_keys
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self.evicted = 0
        self.expired = 0
        self._coldest = ""
        """The coldest key as `save` last peeked at it ("" when unknown), with its expiry: it
        peeks again only once that key has moved or gone, since an iterator over the LRU costs
        more than the rest of a save."""
        self._coldest_expires = 0.0

    def __len__(self) -> int:
        return len(self._entries)

    # count, distinct and save touch their key inline (a lookup and a move to the hot end) rather
    # than through a helper: they run a score of times per exchange, and the call is the cost.

    def count(self, key: str, now: float, window: float, amount: float = 1.0) -> float:
        entries = self._entries
        entry = entries.get(key)
        start = floor(now / window) * window
        if type(entry) is not tuple:
            current = amount
            previous = 0.0
            self._put(key, (start, start + 2 * window, current, previous), entry is not None)
        else:
            entries.move_to_end(key)
            if key == self._coldest:
                self._coldest = ""
            began, expires, current, previous = entry
            if start > began or began > now + STALE:
                previous = current if 0 < start - began <= window else 0.0
                began, expires, current = start, start + 2 * window, amount
                entries[key] = (began, expires, current, previous)
                self._expire(now)
            else:
                current += amount
                entries[key] = (began, expires, current, previous)
        return current + previous * (1.0 - (now - start) / window)

    def tally(self, calls: Sequence[Tally], now: float) -> list[float]:
        count, distinct = self.count, self.distinct
        return [
            count(key, now, window, amount)
            if member is None
            else distinct(key, member, now, window, int(amount))
            for key, member, window, amount in calls
        ]

    def distinct(self, key: str, member: str, now: float, window: float, cap: int) -> int:
        entries = self._entries
        entry = entries.get(key)
        start = floor(now / window) * window
        if type(entry) is not _Distinct:
            replaces = entry is not None
            entry = _Distinct(start, start + 2 * window)
            self._put(key, entry, replaces)
        else:
            entries.move_to_end(key)
            if key == self._coldest:
                self._coldest = ""
            if start > entry.start or entry.start > now + STALE:
                entry.previous = entry.current if 0 < start - entry.start <= window else _NONE
                entry.current = set()
                entry.fresh = 0
                entry.start = start
                entry.expires = start + 2 * window
                self._expire(now)
        current = entry.current
        if len(current) < cap and member not in current:
            current.add(member)
            if member not in entry.previous:
                entry.fresh += 1
        # The previous bucket counts while any of it is inside the window: distinct members
        # cannot be weighted like counts, and missing an enumeration at a bucket edge is worse.
        return min(cap, len(entry.previous) + entry.fresh)

    def load(self, key: str, kind: type[T], now: float) -> T | None:
        entry = self._entries.get(key)
        if type(entry) is not _Record or entry.expires < now:
            return None
        value = entry.value
        return value if isinstance(value, kind) else None

    def save(self, key: str, value: object, now: float, ttl: float) -> None:
        entries = self._entries
        entry = entries.get(key)
        if type(entry) is _Record:
            entries.move_to_end(key)
            if key == self._coldest:
                self._coldest = ""
            entry.value = value
            entry.expires = now + ttl
        else:
            self._put(key, _Record(value, now + ttl), entry is not None)
        # Most saves find nothing expired: peek at the coldest key before calling `_expire`.
        if not self._coldest:
            for coldest in entries:
                self._coldest, self._coldest_expires = coldest, _expiry(entries[coldest])
                break
        if self._coldest_expires < now:
            self._expire(now)

    def _put(self, key: str, entry: _Entry, replaces: bool) -> None:
        """Store a new entry at the hot end; `replaces` when the key held another kind."""
        entries = self._entries
        entries[key] = entry
        if replaces:
            entries.move_to_end(key)
            if key == self._coldest:
                self._coldest = ""
        elif len(entries) > self.max_keys:
            self._expire(_expiry(entry) - 1e-9, limit=16)
            while len(entries) > self.max_keys:
                entries.popitem(last=False)
                self._coldest = ""
                self.evicted += 1

    def _expire(self, now: float, limit: int = 4) -> None:
        """Drop expired entries from the cold end; a bounded amount of work per call."""
        entries = self._entries
        for _ in range(limit):
            key = next(iter(entries), None)  # the coldest key
            if key is None:
                return
            if _expiry(entries[key]) < now:
                del entries[key]
                self._coldest = ""
                self.expired += 1
            else:
                return


def _expiry(entry: _Entry) -> float:
    return entry[1] if isinstance(entry, tuple) else entry.expires

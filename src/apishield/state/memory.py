"""The in-memory state backend: the default on one machine, bounded by a key budget."""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")
_E = TypeVar("_E", "_Window", "_Distinct", "_Record")

DEFAULT_MAX_KEYS = 1_000_000


@dataclass(slots=True)
class _Window:
    start: float
    expires: float
    current: float = 0.0
    previous: float = 0.0


@dataclass(slots=True)
class _Distinct:
    start: float
    expires: float
    current: set[str] = field(default_factory=set)
    previous: set[str] = field(default_factory=set)


@dataclass(slots=True)
class _Record:
    value: object
    expires: float


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
        self._entries: OrderedDict[str, _Window | _Distinct | _Record] = OrderedDict()
        self.evicted = 0
        self.expired = 0

    def __len__(self) -> int:
        return len(self._entries)

    def count(self, key: str, now: float, window: float, amount: float = 1.0) -> float:
        entry = self._touch(key)
        start = math.floor(now / window) * window
        if not isinstance(entry, _Window):
            entry = self._put(key, _Window(start, start + 2 * window))
        elif start > entry.start:
            entry.previous = entry.current if start - entry.start <= window else 0.0
            entry.current = 0.0
            entry.start = start
            entry.expires = start + 2 * window
            self._expire(now)
        entry.current += amount
        return entry.current + entry.previous * (1.0 - (now - start) / window)

    def distinct(self, key: str, member: str, now: float, window: float, cap: int) -> int:
        entry = self._touch(key)
        start = math.floor(now / window) * window
        if not isinstance(entry, _Distinct):
            entry = self._put(key, _Distinct(start, start + 2 * window))
        elif start > entry.start:
            entry.previous = entry.current if start - entry.start <= window else set()
            entry.current = set()
            entry.start = start
            entry.expires = start + 2 * window
            self._expire(now)
        if len(entry.current) < cap:
            entry.current.add(member)
        if not entry.previous:
            return len(entry.current)
        # The previous bucket counts while any of it is inside the window: distinct members
        # cannot be weighted like counts, and missing an enumeration at a bucket edge is worse.
        return min(cap, len(entry.current | entry.previous))

    def load(self, key: str, kind: type[T], now: float) -> T | None:
        entry = self._entries.get(key)
        if not isinstance(entry, _Record) or entry.expires < now:
            return None
        value = entry.value
        return value if isinstance(value, kind) else None

    def save(self, key: str, value: object, now: float, ttl: float) -> None:
        entry = self._touch(key)
        if isinstance(entry, _Record):
            entry.value = value
            entry.expires = now + ttl
        else:
            self._put(key, _Record(value, now + ttl))
        self._expire(now)

    def _touch(self, key: str) -> _Window | _Distinct | _Record | None:
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    def _put(self, key: str, entry: _E) -> _E:
        self._entries[key] = entry
        self._entries.move_to_end(key)
        if len(self._entries) > self.max_keys:
            self._expire(entry.expires - 1e-9, limit=16)
            while len(self._entries) > self.max_keys:
                self._entries.popitem(last=False)
                self.evicted += 1
        return entry

    def _expire(self, now: float, limit: int = 4) -> None:
        """Drop expired entries from the cold end; a bounded amount of work per call."""
        for _ in range(limit):
            if not self._entries:
                return
            key, entry = next(iter(self._entries.items()))
            if entry.expires < now:
                del self._entries[key]
                self.expired += 1
            else:
                return

"""Requests, errors and p95 latency per endpoint over event time: what the dashboard charts.

Cells are one bucket of one endpoint (method, host, route template as routed then). Memory is
bounded by `max_cells`: past it every bucket doubles in width and neighbouring cells merge, so a
week replayed at once keeps its shape in coarser buckets, while a live server, which drains the
buckets event time has left behind at every save, keeps minutes. Latency is counted in 28
half-octave buckets from 1 ms, a p95 within about 20%: enough for a chart, 28 integers a cell.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass, field

from apishield.exchange import Exchange

_BOUNDS: list[float] = [0.001 * 2 ** (i / 2) for i in range(27)]
"""Upper bounds in seconds: 1 ms to about 8 s; a last bucket takes anything slower."""
_BOUND_OF: dict[float, int] = {}
"""Duration -> latency bucket, as `bisect_left` finds it: durations recur (logs round them),
and a lookup costs less than a binary search over floats."""
_BOUND_OF_MAX = 4096
MAX_CELLS = 200_000
MAX_KEYS = 20_000
"""Endpoints with series of their own (the inventory's cap); the rest share `OTHER`."""
MAX_CARRIED = 500_000
"""Traffic buckets a writer keeps for the store while it refuses writes; about 100 bytes each."""
SECONDS = 60.0
MAX_SECONDS = 7 * 86_400.0
"""Buckets never grow wider than a week."""

SeriesKey = tuple[str, str, str]
"""(method, host, route template)."""
Retemplate = Callable[[str, str], str]
"""(host, raw path) -> the route template as the learner settles it now."""
OTHER: SeriesKey = ("*", "*", "/{overflow}")


@dataclass(slots=True)
class Cell:
    requests: int = 0
    errors: int = 0
    """Answers with status 400 or above."""
    latency: list[int] = field(default_factory=lambda: [0] * (len(_BOUNDS) + 1))
    timed: int = 0

    def p95_ms(self) -> float | None:
        if self.timed == 0:
            return None
        rank = math.ceil(0.95 * self.timed)
        seen = 0
        for index, count in enumerate(self.latency):
            seen += count
            if seen >= rank:
                return round(_BOUNDS[min(index, len(_BOUNDS) - 1)] * 1000, 1)
        return None  # pragma: no cover - the loop always reaches rank

    def merge(self, other: Cell) -> None:
        self.requests += other.requests
        self.errors += other.errors
        self.latency = [a + b for a, b in zip(self.latency, other.latency, strict=True)]
        self.timed += other.timed


@dataclass(slots=True, frozen=True)
class Point:
    """One closed bucket of one endpoint, as the store keeps it."""

    key: SeriesKey
    start: float
    seconds: float
    requests: int
    errors: int
    p95_ms: float | None


class TrafficSeries:
    """A response stage: counts each exchange into its endpoint's bucket."""

    name = "series"

    def __init__(self, seconds: float = SECONDS, max_cells: int = MAX_CELLS) -> None:
        self.seconds = seconds
        self.max_cells = max_cells
        self.cells: dict[SeriesKey, dict[int, Cell]] = {}
        self.samples: dict[SeriesKey, str] = {}
        """One raw path per key, in memory only, to settle early provisional templates."""
        self.count = 0
        self.latest = -math.inf
        """The latest event time seen."""

    def __call__(self, exchange: Exchange) -> None:
        request = exchange.request
        key = (request.method, request.host, exchange.route or request.path)
        buckets = self.cells.get(key)
        if buckets is None:
            if len(self.cells) >= MAX_KEYS:
                key = OTHER
            buckets = self.cells.setdefault(key, {})
            self.samples.setdefault(key, request.path)
        started = exchange.started
        if started > self.latest:
            self.latest = started
        index = int(started // self.seconds)
        cell = buckets.get(index)
        if cell is None:
            while self.count >= self.max_cells and self._coarsen():
                index = int(started // self.seconds)
                buckets = self.cells[key]  # coarsening made new bucket maps
            cell = buckets.get(index)
            if cell is None:
                cell = buckets[index] = Cell()
                self.count += 1
        cell.requests += 1
        response = exchange.response
        if response is not None and response.status >= 400:
            cell.errors += 1
        duration = exchange.duration
        if duration is not None:
            slot = _BOUND_OF.get(duration)
            cell.latency[_bound_index(duration) if slot is None else slot] += 1
            cell.timed += 1

    def drain(self, before: float = math.inf, retemplate: Retemplate | None = None) -> list[Point]:
        """Hand over and forget the buckets that end at or before `before` (all by default),
        each under its endpoint's template as `retemplate` settles it."""
        points: list[Point] = []
        for key, buckets in self.cells.items():
            done = [i for i in buckets if (i + 1) * self.seconds <= before]
            if not done:
                continue
            named = key
            sample = self.samples.get(key)
            if retemplate is not None and sample is not None:
                named = (key[0], key[1], retemplate(key[1], sample))
            for index in sorted(done):
                cell = buckets.pop(index)
                start = index * self.seconds
                points.append(
                    Point(named, start, self.seconds, cell.requests, cell.errors, cell.p95_ms())
                )
            self.count -= len(done)
        for key in [key for key, buckets in self.cells.items() if not buckets]:
            del self.cells[key]
            self.samples.pop(key, None)
        return _merged(points)

    def settled(self, retemplate: Retemplate | None = None) -> list[Point]:
        """The buckets a live analysis can write: those a bucket older than the latest event,
        which later exchanges are unlikely to reach."""
        return self.drain(self.latest - self.seconds, retemplate)

    def _coarsen(self) -> bool:
        """Double the bucket width, merging neighbours; False when that frees nothing (as many
        endpoints as cells), and the cap is then exceeded rather than looping."""
        if self.count <= len(self.cells) or self.seconds >= MAX_SECONDS:
            return False
        self.seconds *= 2
        count = 0
        for key, buckets in self.cells.items():
            merged: dict[int, Cell] = {}
            for index, cell in buckets.items():
                target = merged.get(index // 2)
                if target is None:
                    merged[index // 2] = cell
                else:
                    target.merge(cell)
            self.cells[key] = merged
            count += len(merged)
        self.count = count
        return True


def keep_newest(points: list[Point], limit: int) -> tuple[list[Point], int]:
    """A refused write's buckets to carry to the next write: each is handed over once, so a
    writer keeps them, the newest `limit` when there are more; and how many it gives up."""
    over = max(len(points) - limit, 0)
    return points[over:], over


def _bound_index(seconds: float) -> int:
    index = bisect_left(_BOUNDS, seconds)
    if len(_BOUND_OF) >= _BOUND_OF_MAX:
        _BOUND_OF.clear()
    _BOUND_OF[seconds] = index
    return index


def _merged(points: list[Point]) -> list[Point]:
    """Points of keys that settled into one template, added up (p95: the larger)."""
    seen: dict[tuple[SeriesKey, float], Point] = {}
    for point in points:
        slot = (point.key, point.start)
        other = seen.get(slot)
        if other is None:
            seen[slot] = point
            continue
        p95 = max((p for p in (point.p95_ms, other.p95_ms) if p is not None), default=None)
        seen[slot] = Point(
            point.key,
            point.start,
            point.seconds,
            point.requests + other.requests,
            point.errors + other.errors,
            p95,
        )
    return list(seen.values())

from __future__ import annotations

from bisect import bisect_left

from hypothesis import given
from hypothesis import strategies as st

from apishield.inventory.series import _BOUNDS, Point, TrafficSeries, keep_newest
from apishield.testing import T0, make_exchange


def _exchange(second: float, status: int = 200, duration: float = 0.02, path: str = "/a/1"):
    exchange = make_exchange(path=path, status=status, started=T0 + second, duration=duration)
    exchange.route = "/a/{id}"
    return exchange


def test_counts_requests_errors_and_p95_per_minute() -> None:
    series = TrafficSeries()
    start = T0 - T0 % 60
    for i in range(19):
        series(_exchange(start - T0 + i, duration=0.01))
    series(_exchange(start - T0 + 30, status=503, duration=2.0))
    series(_exchange(start - T0 + 61))
    points = sorted(series.drain(), key=lambda p: p.start)
    assert [(p.start, p.requests, p.errors) for p in points] == [(start, 20, 1), (start + 60, 1, 0)]
    first = points[0]
    assert first.key == ("GET", "api.example.com", "/a/{id}")
    assert 0.01 * 1000 <= first.p95_ms <= 0.015 * 1000 * 1.5  # the slow one is the top 5%
    assert series.drain() == []


def test_settled_keeps_the_buckets_event_time_has_not_left() -> None:
    series = TrafficSeries()
    for second in (0, 60, 120, 180):
        series(_exchange(second))
    settled = series.settled()
    assert len(settled) == 2  # the last two minutes may still get late exchanges
    assert sum(p.requests for p in series.drain()) == 2


def test_memory_is_bounded_by_coarser_buckets_and_totals_survive() -> None:
    series = TrafficSeries(max_cells=10)
    for minute in range(100):
        series(_exchange(minute * 60.0, status=500 if minute % 10 == 0 else 200))
    assert series.count <= 10
    points = series.drain()
    assert sum(p.requests for p in points) == 100
    assert sum(p.errors for p in points) == 10
    assert {p.seconds for p in points} == {series.seconds} and series.seconds > 60


def test_provisional_templates_merge_when_settled() -> None:
    series = TrafficSeries()
    one, two = _exchange(1, path="/a/1"), _exchange(2, path="/a/2")
    one.route, two.route = "/a/1", "/a/{id}"
    series(one)
    series(two)
    points = series.drain(retemplate=lambda host, path: "/a/{id}")
    assert [(p.key[2], p.requests) for p in points] == [("/a/{id}", 2)]


def test_many_distinct_hosts_fold_into_one_series_and_never_stall() -> None:
    from apishield.inventory.series import MAX_KEYS, OTHER

    series = TrafficSeries(max_cells=100)
    for i in range(MAX_KEYS + 500):
        exchange = _exchange(float(i % 7))
        exchange.request.host = f"h{i}.example"
        series(exchange)
    assert len(series.cells) == MAX_KEYS + 1 and OTHER in series.cells
    assert series.seconds == 60.0  # one cell per key: coarsening would free nothing
    points = series.drain()
    assert sum(p.requests for p in points) == MAX_KEYS + 500
    assert series.cells == {} and series.samples == {}


def test_a_refused_writes_buckets_are_kept_the_newest_past_the_limit() -> None:
    points = [Point(("GET", "h", "/a"), 60.0 * i, 60.0, 1, 0, None) for i in range(5)]
    assert keep_newest(points, 10) == (points, 0)
    kept, dropped = keep_newest(points, 2)
    assert ([p.start for p in kept], dropped) == ([180.0, 240.0], 3)


@given(st.lists(st.floats(min_value=0, max_value=20, allow_nan=False), min_size=1, max_size=30))
def test_latency_buckets_are_the_ones_a_binary_search_finds(durations: list[float]) -> None:
    series = TrafficSeries()
    expected = [0] * (len(_BOUNDS) + 1)
    for duration in durations * 2:  # the second time, from what was remembered
        series(_exchange(0, duration=duration))
        expected[bisect_left(_BOUNDS, duration)] += 1
    [cells] = series.cells.values()
    assert cells[int(T0 // 60)].latency == expected

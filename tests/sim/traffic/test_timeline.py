"""The merge of many flows into one time-ordered stream, answered in order."""

from __future__ import annotations

from apishield.exchange import Request, Response
from apishield.sim.traffic.timeline import Flow, Source, Stream, merge


def get(path: str) -> Request:
    return Request("GET", path)


def echo(request: Request, now: float) -> tuple[Response, float]:
    """Answers 503 for /down, else 200, and notes the time it was asked."""
    status = 503 if request.path == "/down" else 200
    return Response(status, {}, f"{now}".encode()), 0.01


def ticker(path: str, start: float, step: float, count: int) -> Flow:
    at = start
    for _ in range(count):
        yield at, get(path)
        at += step


def source(*flows: tuple[float, Flow]) -> Source:
    return iter(flows)


def test_flows_are_merged_in_time_order_and_cut_at_the_end() -> None:
    streams = [
        Stream("a", source((0.0, ticker("/a", 0.0, 3.0, 10))), 0.0),
        Stream("b", source((1.0, ticker("/b", 1.0, 2.0, 10))), 0.0),
    ]
    events = list(merge(streams, echo, end=10.0))
    times = [e.started for e in events]
    assert times == sorted(times) and max(times) < 10.0
    # a: 0 3 6 9, b: 1 3 5 7 9; at a tie the request scheduled first goes first
    assert [e.request.path for e in events][:5] == ["/a", "/b", "/a", "/b", "/b"]
    assert {e.label for e in events} == {"a", "b"}
    assert all(float(e.response.body or b"") == e.started for e in events)


def test_a_flow_reacts_to_what_it_was_answered() -> None:
    def retrying() -> Flow:
        response = yield 5.0, get("/down")
        tries = 1
        while response.status == 503 and tries < 4:
            response = yield 5.0 + tries, get("/down")
            tries += 1
        yield 20.0, get("/gave-up")

    events = list(merge([Stream("r", source((5.0, retrying())), 0.0)], echo, end=100.0))
    assert [e.request.path for e in events] == ["/down"] * 4 + ["/gave-up"]


def test_sources_are_pulled_only_when_the_clock_reaches_them() -> None:
    pulled: list[float] = []

    def lazy() -> Source:
        pulled.append(-1.0)
        yield 50.0, ticker("/late", 50.0, 1.0, 2)

    streams = [
        Stream("early", source((0.0, ticker("/early", 0.0, 10.0, 3))), 0.0),
        Stream("late", lazy(), 45.0),
    ]
    events = merge(streams, echo, end=100.0)
    first = [next(events).request.path for _ in range(3)]
    assert first == ["/early"] * 3 and pulled == []
    assert [e.request.path for e in events] == ["/late", "/late"] and pulled == [-1.0]


def test_a_flow_that_goes_back_in_time_is_moved_to_the_clock() -> None:
    def confused() -> Flow:
        yield 10.0, get("/x")
        yield 2.0, get("/y")

    events = list(merge([Stream("c", source((10.0, confused())), 0.0)], echo, end=100.0))
    assert [e.started for e in events] == [10.0, 10.0]

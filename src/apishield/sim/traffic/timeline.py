"""Many actors, one clock: sorted streams of flows merged into one time-ordered request stream.

A flow is a generator that yields `(time, request)` and is sent back the response, so a client
can react to what the API answered (retry a 503, log in again after a 401, read the profile a
login returned) the way real clients do. A source is an iterator of `(start, flow)` in start
order, pulled only when the clock reaches it, so a week of traffic is never planned or held in
memory at once. The API is asked in global time order, which keeps its state (changed
passwords, reset codes) consistent across actors.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from itertools import count

from apishield.exchange import Request, Response

Flow = Generator[tuple[float, Request], Response, None]
Source = Iterator[tuple[float, Flow]]
Handler = Callable[[Request, float], tuple[Response, float]]
"""The API: (request, now) -> (response, typical service time in seconds)."""
_Entry = tuple[float, int, Flow | None, Request | None, Source | None, str]


@dataclass(slots=True)
class Stream:
    """A source and the label its requests are counted under ("app", "scenario:bola" ...)."""

    label: str
    source: Source
    opens_at: float
    """No flow of the source starts before this time: when the source is first pulled."""


@dataclass(slots=True)
class Event:
    started: float
    label: str
    request: Request
    response: Response
    service_time: float


def merge(streams: list[Stream], handle: Handler, end: float) -> Iterator[Event]:
    """Every request of every flow before `end`, in time order, answered by `handle`.

    A flow that yields a time earlier than the clock is moved to the clock: output is sorted
    whatever a flow does. Ties keep the order the requests were scheduled in.
    """
    sequence = count()
    # (time, tie-breaker, flow, request, source, label): a source to pull when flow is None, a
    # flow to start when request is None, else a request of that flow.
    heap: list[_Entry] = [
        (stream.opens_at, next(sequence), None, None, stream.source, stream.label)
        for stream in streams
    ]
    heapq.heapify(heap)
    pop, push = heapq.heappop, heapq.heappush
    while heap:
        now, _, flow, request, source, label = pop(heap)
        if now >= end:
            break
        if flow is None:
            started = next(source, None) if source is not None else None
            if started is not None:
                at = max(started[0], now)
                push(heap, (at, next(sequence), None, None, source, label))
                push(heap, (at, next(sequence), started[1], None, None, label))
            continue
        if request is None:
            step = _send(flow, None)
        else:
            response, service_time = handle(request, now)
            yield Event(now, label, request, response, service_time)
            step = _send(flow, response)
        if step is not None:
            at = step[0] if step[0] > now else now
            push(heap, (at, next(sequence), flow, step[1], None, label))
    for entry in heap:
        if entry[2] is not None:
            entry[2].close()


def _send(flow: Flow, response: Response | None) -> tuple[float, Request] | None:
    try:
        return flow.send(response) if response is not None else next(flow)
    except StopIteration:
        return None

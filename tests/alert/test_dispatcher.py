"""The per-sink thread: retries with backoff, refusals not retried, a full queue drops and
counts, a buggy sink is contained, and stopping delivers what is queued until a deadline.

The sinks here are in memory; tests against real receivers are in test_alerter.py and sinks/.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

import pytest

from apishield.alert import dispatcher as dispatcher_module
from apishield.alert.alert import Alert, from_incident
from apishield.alert.dispatcher import Dispatcher
from apishield.alert.sinks.base import SinkError
from apishield.testing import T0

from .conftest import WAIT, summary, wait_until


def alert(n: int = 1) -> Alert:
    return from_incident(summary(n), T0)


class MemorySink:
    """Fails the first `failures` attempts (retryable unless `refuse`); with `gate`, each send
    waits for it to open."""

    def __init__(
        self, failures: int = 0, refuse: bool = False, gate: threading.Event | None = None
    ) -> None:
        self.failures = failures
        self.refuse = refuse
        self.gate = gate
        self.attempts: list[float] = []
        self.sent: list[Alert] = []
        self.closed = False

    def send(self, alert: Alert) -> None:
        self.attempts.append(time.monotonic())
        if self.gate is not None:
            self.gate.wait(WAIT)
        if len(self.attempts) <= self.failures:
            raise SinkError("the receiver is away", retry=not self.refuse)
        self.sent.append(alert)

    def close(self) -> None:
        self.closed = True


class BuggySink(MemorySink):
    def send(self, alert: Alert) -> None:
        self.attempts.append(time.monotonic())
        if len(self.attempts) == 1:
            raise RuntimeError("a bug")
        self.sent.append(alert)


@pytest.fixture
def dispatchers() -> Iterator[list[Dispatcher]]:
    made: list[Dispatcher] = []
    yield made
    deadline = time.monotonic() + WAIT
    for dispatcher in made:
        dispatcher.stop(deadline)
        assert dispatcher.join(deadline)


def start(
    made: list[Dispatcher], sink: MemorySink, capacity: int = 10, retries: int = 3
) -> Dispatcher:
    dispatcher = Dispatcher("memory", sink, capacity=capacity, retries=retries, backoff=0.01)
    made.append(dispatcher)
    return dispatcher


def test_a_failing_delivery_is_retried_with_growing_waits(dispatchers: list[Dispatcher]) -> None:
    sink = MemorySink(failures=2)
    dispatcher = start(dispatchers, sink)
    assert dispatcher.offer(alert())
    wait_until(lambda: dispatcher.counts.sent == 1)
    assert len(sink.attempts) == 3
    first, second = (b - a for a, b in zip(sink.attempts, sink.attempts[1:], strict=False))
    assert second > first  # 0.01 s, then 0.02 s: the order, not the figures
    assert dispatcher.stats() == {
        "sent": 1,
        "failed": 0,
        "retried": 2,
        "dropped": 0,
        "suppressed": 0,
        "queued": 0,
    }


def test_after_the_last_retry_the_alert_is_given_up(dispatchers: list[Dispatcher]) -> None:
    sink = MemorySink(failures=100)
    dispatcher = start(dispatchers, sink, retries=2)
    dispatcher.offer(alert())
    wait_until(lambda: dispatcher.counts.failed == 1)
    assert (len(sink.attempts), dispatcher.counts.retried, dispatcher.counts.sent) == (3, 2, 0)


def test_a_refusal_is_not_retried(dispatchers: list[Dispatcher]) -> None:
    sink = MemorySink(failures=1, refuse=True)
    dispatcher = start(dispatchers, sink)
    dispatcher.offer(alert(1))
    dispatcher.offer(alert(2))
    wait_until(lambda: dispatcher.counts.sent == 1)
    assert (dispatcher.counts.failed, dispatcher.counts.retried) == (1, 0)
    assert sink.sent[0].incident_id == 2


def test_a_bug_in_a_sink_costs_one_alert_not_the_thread(dispatchers: list[Dispatcher]) -> None:
    sink = BuggySink()
    dispatcher = start(dispatchers, sink)
    dispatcher.offer(alert(1))
    dispatcher.offer(alert(2))
    wait_until(lambda: dispatcher.counts.sent == 1)
    assert dispatcher.counts.failed == 1


def test_a_full_queue_drops_and_counts(dispatchers: list[Dispatcher]) -> None:
    gate = threading.Event()
    sink = MemorySink(gate=gate)
    dispatcher = start(dispatchers, sink, capacity=2)
    dispatcher.offer(alert(1))
    wait_until(lambda: len(sink.attempts) == 1)  # the first is out of the queue, in delivery
    accepted = [dispatcher.offer(alert(n)) for n in range(2, 7)]
    assert accepted == [True, True, False, False, False]
    assert dispatcher.stats()["dropped"] == 3
    assert dispatcher.stats()["queued"] == 2
    gate.set()
    wait_until(lambda: dispatcher.counts.sent == 3)
    assert [a.incident_id for a in sink.sent] == [1, 2, 3]


def test_stop_delivers_what_is_queued_then_ends(dispatchers: list[Dispatcher]) -> None:
    gate = threading.Event()
    sink = MemorySink(gate=gate)
    dispatcher = Dispatcher("memory", sink, capacity=10, retries=0, backoff=0)
    for n in range(5):
        dispatcher.offer(alert(n))
    dispatcher.stop(time.monotonic() + WAIT)
    assert not dispatcher.offer(alert(99))  # stopping: nothing new is taken
    gate.set()
    assert dispatcher.join(time.monotonic() + WAIT)
    assert len(sink.sent) == 5
    assert sink.closed
    assert dispatcher.counts.dropped == 1


def test_what_the_deadline_leaves_is_counted_as_dropped() -> None:
    gate = threading.Event()
    sink = MemorySink(gate=gate)
    dispatcher = Dispatcher("memory", sink, capacity=10, retries=0, backoff=0)
    for n in range(4):
        dispatcher.offer(alert(n))
    wait_until(lambda: len(sink.attempts) == 1)
    dispatcher.stop(time.monotonic())  # already passed
    gate.set()  # the delivery in progress finishes; the three queued are left
    assert dispatcher.join(time.monotonic() + WAIT)
    assert (dispatcher.counts.sent, dispatcher.counts.dropped) == (1, 3)


def test_a_retry_due_after_the_deadline_is_given_up() -> None:
    sink = MemorySink(failures=100)
    dispatcher = Dispatcher("memory", sink, capacity=10, retries=5, backoff=20.0)
    dispatcher.offer(alert())
    wait_until(lambda: len(sink.attempts) == 1)
    dispatcher.stop(time.monotonic() + 1.0)  # the 20 s pause is cut short, not waited out
    assert dispatcher.join(time.monotonic() + WAIT)
    assert (dispatcher.counts.failed, dispatcher.counts.retried) == (1, 0)


def test_failures_go_on_being_logged_as_a_summary_after_the_first_few(
    dispatchers: list[Dispatcher], caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dispatcher_module, "SUMMARY_SECONDS", 0.0)
    sink = MemorySink(failures=100, refuse=True)
    dispatcher = start(dispatchers, sink, capacity=20)
    with caplog.at_level(logging.WARNING, "apishield.alert"):
        for n in range(6):
            dispatcher.offer(alert(n))
        wait_until(lambda: dispatcher.counts.failed == 6)
    lines = [r.getMessage() for r in caplog.records]
    assert sum("attempt 1 failed" in line for line in lines) == dispatcher_module.LOGGED_FAILURES
    summaries = [line for line in lines if "more failed attempt" in line]
    assert len(summaries) == 3
    assert "the receiver is away" in summaries[-1]

"""One thread per sink with a bounded queue in front: the analysis thread hands an alert over in
a few microseconds and never waits for a receiver.

A full queue drops the new alert and counts it. A failed delivery is retried after
`backoff * 2**n` seconds (30 s at most) unless the receiver refused the alert itself, or after
as long as the receiver's Retry-After asked when that is longer (Slack's rate limit; 5 minutes
at most, so a bad header cannot park a sink for hours); after the last retry the alert is given
up and counted as failed. `stop` gives the queue until a deadline,
then leaves what is still waiting (counted as dropped).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass

from apishield.alert.alert import Alert
from apishield.alert.sinks.base import Sink, SinkError

log = logging.getLogger("apishield.alert")
MAX_BACKOFF = 30.0
MAX_RETRY_AFTER = 300.0
"""The longest wait a receiver's Retry-After is granted."""
LOGGED_FAILURES = 3
"""Failures logged one by one per sink; after these, one summary line per `SUMMARY_SECONDS`."""
SUMMARY_SECONDS = 300.0


@dataclass(slots=True)
class Counts:
    sent: int = 0
    failed: int = 0
    """Given up: refused, or still failing after the last retry."""
    retried: int = 0
    dropped: int = 0
    """The queue was full, or the alert was still queued when `stop`'s deadline passed."""
    suppressed: int = 0
    """Kept back by the cool-down (counted by the alerter, which decides it)."""


class Dispatcher:
    def __init__(
        self, name: str, sink: Sink, *, capacity: int, retries: int, backoff: float
    ) -> None:
        self.name = name
        self.counts = Counts()
        self._sink = sink
        self._capacity = capacity
        self._retries = retries
        self._backoff = backoff
        self._queue: deque[Alert] = deque()
        self._ready = threading.Condition()
        self._stopping = threading.Event()
        self._failures = 0
        """Failed attempts so far, retries included."""
        self._unlogged = 0
        """Failed attempts since the last line logged about them."""
        self._logged_at = 0.0
        self._deadline: float | None = None
        """time.monotonic() after which nothing more is tried; set by `stop`."""
        self._thread = threading.Thread(
            target=self._run, name=f"apishield-alert-{name}", daemon=True
        )
        self._thread.start()

    # -- the caller's side ---------------------------------------------------------------------

    def offer(self, alert: Alert) -> bool:
        """Queue `alert` for delivery; False (and counted) when the queue is full or stopping."""
        with self._ready:
            if len(self._queue) >= self._capacity or self._deadline is not None:
                self.counts.dropped += 1
                return False
            self._queue.append(alert)
            self._ready.notify()
        return True

    def stats(self) -> dict[str, int]:
        return {**asdict(self.counts), "queued": len(self._queue)}

    def stop(self, deadline: float) -> None:
        """Deliver what is queued until `deadline` (monotonic), then stop; returns at once."""
        with self._ready:
            self._deadline = deadline
            self._ready.notify()
        self._stopping.set()

    def join(self, deadline: float) -> bool:
        """Wait for the thread until `deadline`; False when it is still inside a delivery."""
        self._thread.join(max(0.0, deadline - time.monotonic()))
        return not self._thread.is_alive()

    # -- the sink's thread ---------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while (alert := self._next()) is not None:
                self._deliver(alert)
        finally:
            with self._ready:
                self.counts.dropped += len(self._queue)
                self._queue.clear()
            self._close_sink()

    def _next(self) -> Alert | None:
        with self._ready:
            while not self._queue and self._deadline is None:
                self._ready.wait()
            if not self._queue or self._late():
                return None
            return self._queue.popleft()

    def _deliver(self, alert: Alert) -> None:
        asked: float | None = None
        for attempt in range(self._retries + 1):
            if attempt:
                delay = min(self._backoff * 2 ** (attempt - 1), MAX_BACKOFF)
                if asked is not None:
                    delay = min(max(delay, asked), MAX_RETRY_AFTER)
                if not self._pause(delay):
                    break
                self.counts.retried += 1
            try:
                self._sink.send(alert)
            except SinkError as error:
                self._failure(str(error), attempt)
                if not error.retry:
                    break
                asked = error.after
            except Exception:  # a bug in a sink must not end its thread
                self._failure("unexpected error", attempt, trace=True)
                break
            else:
                self.counts.sent += 1
                return
        self.counts.failed += 1

    def _pause(self, delay: float) -> bool:
        """Wait `delay` before a retry; False when `stop`'s deadline would pass first."""
        until = time.monotonic() + delay
        if self._deadline is None:
            self._stopping.wait(delay)  # `stop` cuts it short, to check its deadline
        if self._deadline is not None:
            if until > self._deadline:
                return False
            time.sleep(max(0.0, until - time.monotonic()))
        return True

    def _late(self) -> bool:
        return self._deadline is not None and time.monotonic() >= self._deadline

    def _failure(self, reason: str, attempt: int, *, trace: bool = False) -> None:
        """Log the first failures one by one, then one line per `SUMMARY_SECONDS` with the count,
        so a receiver that stays down is neither silent nor a line per alert."""
        self._failures += 1
        now = time.monotonic()
        if self._failures <= LOGGED_FAILURES:
            self._logged_at = now
            log.warning(
                "alert sink %s: attempt %d failed: %s",
                self.name,
                attempt + 1,
                reason,
                exc_info=trace,
            )
            return
        self._unlogged += 1
        if now - self._logged_at >= SUMMARY_SECONDS:
            log.warning(
                "alert sink %s: %d more failed attempt(s) in the last %.0f s, the latest: %s "
                "(sent %d, failed %d, dropped %d so far)",
                self.name,
                self._unlogged,
                now - self._logged_at,
                reason,
                self.counts.sent,
                self.counts.failed,
                self.counts.dropped,
            )
            self._logged_at = now
            self._unlogged = 0

    def _close_sink(self) -> None:
        try:
            self._sink.close()
        except Exception:
            log.warning("alert sink %s: closing failed", self.name, exc_info=True)

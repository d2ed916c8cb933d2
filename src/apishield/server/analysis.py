"""The server's live analysis: one engine on one thread, fed by the ingest endpoint and by
followed log files, written to the store as one run that each snapshot overwrites.

Exchanges wait on a bounded queue; a batch is taken whole or refused whole (`offer` answers
False), so the ingest endpoint can tell its sender to keep the batch and nothing is lost. The
thread runs both phases of the engine on each exchange in arrival order, raises the blocks
severe incidents call for, tells the alerter and the metrics, and every `save_seconds`
builds a snapshot: the document `analyze` writes, kind "live", plus the traffic buckets that
event time has left behind. A thread of its own writes it to the store
(`apishield.server.snapshots`); a store that refuses a write is logged, and the next snapshot
carries the buckets the failed one held. Snapshots of a large inventory cost seconds, so the
interval stretches to keep them to a fifth of the analysis's time (`SNAPSHOT_SHARE`): with
thousands of endpoints the dashboard is a little less fresh, and analysis keeps up.
"""

from __future__ import annotations

import collections
import logging
import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from apishield.config import AutoBlockConfig, BotsConfig
from apishield.detect.incidents import MAX_OPEN, Incident
from apishield.enforce import auto_block
from apishield.engine import Engine
from apishield.exchange import Exchange
from apishield.limits import Blocks
from apishield.report.document import RunInfo, build_document
from apishield.server.metrics import SETTLED, Metrics
from apishield.server.snapshots import SnapshotWriter
from apishield.store.database import Store

log = logging.getLogger("apishield.server")

DRAIN_SECONDS = 10.0
"""How long `close` goes on analysing what is queued before it leaves the rest and writes the
last snapshot: a queue of 50,000 exchanges takes a minute or more, longer than a service
manager waits after SIGTERM before it kills the process, and then nothing is saved."""
SNAPSHOT_SHARE = 0.2
"""At most this share of the analysis's time goes to snapshots: the interval between two is at
least their cost (building and writing the last one) divided by it."""


class Alerts(Protocol):
    """`apishield.alert.Alerter`, as the analysis uses it: calls that never block."""

    def incident(self, summary: Mapping[str, Any]) -> None: ...
    def finding(self, exchange: Exchange) -> None: ...
    def stats(self) -> Mapping[str, Any]: ...


class LiveAnalysis:
    def __init__(
        self,
        engine: Engine,
        store: Store,
        *,
        sources: Sequence[str] = ("live",),
        blocks: Blocks | None = None,
        blocking: AutoBlockConfig | None = None,
        bots: BotsConfig | None = None,
        alerts: Alerts | None = None,
        metrics: Metrics | None = None,
        queue_size: int = 50_000,
        queue_bytes: int = 256 * 1024 * 1024,
        save_seconds: float = 5.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`clock` is what event time is compared with for the lag: the wall clock, or the
        demo's accelerated one."""
        self.engine = engine
        self.store = store
        self.sources = list(sources)
        self.blocks = blocks
        self.blocking = blocking or AutoBlockConfig()
        self.bots = bots or BotsConfig()
        self.alerts = alerts
        self.metrics = metrics or Metrics()
        self.queue_size = queue_size
        self.queue_bytes = queue_bytes
        self._queued_bytes = 0
        self.save_seconds = save_seconds
        self.clock = clock
        self.started = time.time()
        self.accepted = 0
        self.refused = 0
        self.processed = 0
        self.skipped = 0
        """Lines the ingest endpoint or the followers could not read (counted where read)."""
        self.latest = -math.inf
        """Event time of the latest exchange analysed."""
        self.failures = 0
        self.interval = save_seconds
        """Seconds until the next snapshot: `save_seconds`, or longer when snapshots are costly."""
        self.first_incident_seconds: float | None = None
        """Wall seconds from the start of the analysis to its first incident."""
        self._queue: collections.deque[Exchange] = collections.deque()
        self._ready = threading.Condition()
        self._stop = False
        self._drain_until = math.inf
        """time.monotonic() after which a stopping analysis leaves what is still queued."""
        self.abandoned = 0
        """Exchanges still queued when the drain time of `close` ran out: never analysed."""
        self._want_save = False
        self._seen: collections.OrderedDict[int, int] = collections.OrderedDict()
        """Incident id -> severity last told to the alerts, the least recently changed first:
        as many as the correlator keeps open, since a closed incident never changes again."""
        engine.detect.correlator.on_change = self._changed
        self.run_id = store.save_analysis(self.document())
        self.writer = SnapshotWriter(store, self.run_id)
        self._thread = threading.Thread(target=self._loop, name="apishield-analysis", daemon=True)
        self._thread.start()

    # -- the ingest side (any thread) -------------------------------------------------------

    def offer(self, exchanges: Sequence[Exchange]) -> bool:
        """Queue all of `exchanges` or none: False while the queue is full by count or by the
        bytes of bodies it holds (`queue_bytes`); the sender keeps them and tries again."""
        size = sum(_bytes(e) for e in exchanges)
        with self._ready:
            full = len(self._queue) + len(exchanges) > self.queue_size or (
                self._queued_bytes + size > self.queue_bytes and self._queue
            )
            if full or self._stop:
                self.refused += len(exchanges)
                self.metrics.dropped.inc(len(exchanges))
                return False
            self._queue.extend(exchanges)
            self._queued_bytes += size
            self.accepted += len(exchanges)
            self.metrics.queue.set(len(self._queue))
            self._ready.notify()
        return True

    def fits(self, count: int) -> bool:
        """Whether a batch of `count` exchanges could ever be queued (413 when not)."""
        return count <= self.queue_size

    def count_skipped(self, lines: int) -> None:
        """Lines a source could not read (the ingest endpoint's malformed lines)."""
        with self._ready:
            self.skipped += lines

    def put(self, exchange: Exchange) -> None:
        """One exchange from a follower: waits for room instead of refusing (a file can
        wait), until the analysis stops, when the exchange is counted as refused."""
        while not self.offer((exchange,)):
            if self._stop:
                return
            time.sleep(0.05)

    def stats(self) -> dict[str, Any]:
        lag = self.clock() - self.latest if self.processed else None
        return {
            "queued": len(self._queue),
            "accepted": self.accepted,
            "refused": self.refused,
            "processed": self.processed,
            "skipped": self.skipped,
            "lag_seconds": round(lag, 3) if lag is not None else None,
            "saves": self.writer.saves,
            "snapshot_interval_seconds": round(self.interval, 1),
            "abandoned": self.abandoned,
            "suspect_times": self.engine.detect.clock.suspect,
            "alerts": dict(self.alerts.stats()) if self.alerts is not None else None,
        }

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until everything offered so far is analysed and saved (tests, shutdown)."""
        with self._ready:
            self._want_save = True
            self._ready.notify()
            return self._ready.wait_for(lambda: not self._want_save, timeout)

    def close(self, timeout: float = 60.0, drain: float = DRAIN_SECONDS) -> None:
        """Analyse what is queued for up to `drain` seconds, write the last snapshot (every
        traffic bucket), stop. What is still queued then is left, counted and said so."""
        with self._ready:
            self._stop = True
            self._drain_until = time.monotonic() + drain
            self._ready.notify()
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.error(
                "live analysis did not finish in %.0f s: %d exchanges still queued are not "
                "analysed, and the last snapshot may be missing",
                timeout,
                len(self._queue),
            )
        self.writer.close(timeout)

    # -- the analysis thread ----------------------------------------------------------------

    def _loop(self) -> None:
        last_save = time.monotonic()
        while True:
            with self._ready:
                if not (self._queue or self._stop or self._want_save):
                    self._ready.wait(timeout=self.interval)
                if self._stop and self._queue and time.monotonic() > self._drain_until:
                    self._abandon()
                batch = [self._queue.popleft() for _ in range(min(len(self._queue), 256))]
                self.metrics.queue.set(len(self._queue))
                drained = not self._queue
                stop = self._stop and drained
                wanted = self._want_save and drained
            for exchange in batch:
                self._analyse(exchange)
            with self._ready:
                self._queued_bytes -= sum(_bytes(e) for e in batch)
            due = time.monotonic() - last_save >= self.interval and self.writer.idle
            if stop or wanted or due:
                self._save_contained(final=stop)
                last_save = time.monotonic()
            if stop or wanted:
                self.writer.wait(timeout=60.0)
            if wanted:
                with self._ready:
                    self._want_save = False
                    self._ready.notify_all()
            if stop:
                return

    def _abandon(self) -> None:
        """Leave what is still queued (the lock is held): stopping must not wait on it."""
        self.abandoned += len(self._queue)
        log.warning(
            "stopping: %d queued exchanges are left unanalysed (the drain time ran out)",
            len(self._queue),
        )
        self._queue.clear()
        self._queued_bytes = 0

    def _analyse(self, exchange: Exchange) -> None:
        try:
            mark = self.engine.detection_mark()
            self.engine.process(exchange)
            if self.blocks is not None:
                for incident in self.engine.touched_incidents(exchange, mark):
                    auto_block(incident, self.blocks, self.blocking, self.bots, exchange.actor)
            if exchange.findings and self.alerts is not None:
                self.alerts.finding(exchange)
            self.metrics.exchange(exchange, self._settled(exchange))
        except Exception:
            self.failures += 1
            if self.failures == 1:
                log.exception("live analysis failed on an exchange; it goes on (logged once)")
            return
        self.processed += 1
        if exchange.started > self.latest:
            self.latest = exchange.started
            self.metrics.lag.set(max(0.0, self.clock() - exchange.started))

    def _settled(self, exchange: Exchange) -> str | None:
        """The exchange's endpoint as a metrics label, once its template is established."""
        route, request = exchange.route, exchange.request
        if route is None:
            return None
        endpoint = self.engine.inventory.endpoint(request.method, request.host, route)
        if endpoint is None or endpoint.requests < SETTLED:
            return None
        return f"{request.method} {self.engine.shown(route)}"

    def _changed(self, incident: Incident) -> None:
        seen = self._seen
        told = seen.get(incident.id)
        if told is not None:
            seen.move_to_end(incident.id)
        elif len(seen) >= MAX_OPEN:
            seen.popitem(last=False)
        if told is None:
            self.metrics.incident(incident)
            if self.first_incident_seconds is None:
                self.first_incident_seconds = round(time.time() - self.started, 1)
        if told is None or incident.severity > told:
            self._seen[incident.id] = incident.severity
            if self.alerts is not None:
                self.alerts.incident(incident.summary())

    # -- snapshots --------------------------------------------------------------------------

    def document(self) -> dict[str, Any]:
        return build_document(
            self.engine.snapshot(),
            RunInfo(
                kind="live",
                started_at=self.started,
                finished_at=time.time(),
                sources=self.sources,
                lines=self.accepted + self.skipped,
                events=self.processed,
                skipped=self.skipped,
                skipped_by_reason={},
                errors=[],
            ),
        )

    def _save_contained(self, final: bool) -> None:
        """A snapshot that fails for any reason is logged; analysis goes on."""
        try:
            self.save(final)
        except Exception:
            self.failures += 1
            log.exception("the live analysis could not take a snapshot; it goes on")

    def save(self, final: bool = False) -> None:
        """Build a snapshot and hand it to the writer. Only the analysis thread calls it: the
        engine is single-threaded."""
        began = time.monotonic()
        document = self.document()
        points = self.engine.series_points(settled_only=not final)
        cost = time.monotonic() - began + self.writer.seconds
        self.interval = max(self.save_seconds, cost / SNAPSHOT_SHARE)
        self.writer.submit(document, points)


def _bytes(exchange: Exchange) -> int:
    """What an exchange holds in memory, roughly: its bodies."""
    response = exchange.response
    request_body = exchange.request.body
    return (len(request_body) if request_body else 0) + (
        len(response.body) if response is not None and response.body else 0
    )

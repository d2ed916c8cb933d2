"""`apishield worker`: analyse what guards put on the Redis stream, as one of a consumer group.

Wiring, like `startup`: the stream (`analysis.stream`), the engine every front end builds
(`startup.build_engine`, detector state on the `state:` backend, so workers count together),
and the store. Each worker reads batches of entries given to it alone, parses them (apishield
JSONL), runs both phases of the engine on each, raises the blocks severe incidents call for,
and every `analysis.save_seconds` or `analysis.save_every` exchanges writes its run (the
document `analyze` writes, kind "worker") to the store in one transaction. Only then does it
acknowledge the entries that run holds, so a worker that dies loses nothing: what it had not
saved is still pending, and another worker takes it over once it has been idle for
`analysis.claim_idle_seconds`. Delivery is at least once: entries a dead worker had analysed
but not saved are analysed again, and count twice in shared detector state.

Each worker keeps one run in the store, rewritten at every save with everything it analysed
since it started (and its traffic buckets added); several workers each keep their own. The
engine hands each traffic bucket over once, so a write the store refuses keeps its buckets for
the next (as `server.snapshots` does), and the save at a stop writes every bucket still open,
even when the last periodic save already held every exchange: a stopped worker's series adds
up to the exchanges it analysed. An entry that is not an exchange is counted by reason,
acknowledged, and never stops the worker; neither does Redis going away (logged once, tried
again every `state.probe_seconds`) or the store refusing a write (tried again at the next save,
nothing acknowledged meanwhile).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from apishield.config import Config
from apishield.enforce import auto_block
from apishield.engine import Engine
from apishield.exchange import Exchange
from apishield.ingest.base import ParseOptions
from apishield.ingest.jsonl import JsonlParser
from apishield.ingest.stats import IngestStats, Skip
from apishield.inventory.series import MAX_CARRIED, Point, keep_newest
from apishield.inventory.spec import ApiSpec
from apishield.limits import Blocks
from apishield.report.document import RunInfo, build_document
from apishield.startup import analysis_collector, build_engine, install_compiled_cache
from apishield.state.factory import open_backends
from apishield.state.stream import Entry, ExchangeStream
from apishield.stateful import StateUnavailable
from apishield.store.database import Store, StoreError

log = logging.getLogger("apishield.worker")

BLOCK_MS = 1_000
"""How long one read waits for new entries: also how soon a stop request is noticed."""


@dataclass(slots=True)
class WorkerReport:
    """What one worker did, for its exit line and for tests."""

    consumer: str
    stats: IngestStats = field(default_factory=IngestStats)
    """Entries handled (`lines`), exchanges analysed (`events`), malformed ones by reason."""
    claimed: int = 0
    """Entries taken over from other workers."""
    gone: int = 0
    """Entries a dead worker left that the stream had trimmed away before anyone analysed them."""
    acked: int = 0
    run_ids: list[int] = field(default_factory=list)
    dropped_points: int = 0
    """Traffic buckets given up because the store refused writes for too long."""


class Worker:
    """Reads, analyses, saves and acknowledges; `run_worker` builds one from the config."""

    def __init__(
        self,
        engine: Engine,
        stream: ExchangeStream,
        store: Store,
        config: Config,
        consumer: str,
        *,
        blocks: Blocks | None = None,
        block_ms: int = BLOCK_MS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.stream = stream
        self.store = store
        self.settings = config.analysis
        self.blocking = config.enforce.auto_block
        self.bots = config.enforce.bots
        self.probe_seconds = config.state.probe_seconds
        self.blocks = blocks
        self.block_ms = block_ms
        self.report = WorkerReport(consumer)
        self._parse = JsonlParser(
            ParseOptions(f"stream {stream.key}", config.ingest.max_body_bytes)
        )
        self._clock = clock
        self._started = time.time()
        self._unsaved: list[str] = []
        self._points: list[Point] = []
        """Traffic buckets taken from the engine and not yet written (it hands each over once)."""
        self._run_id: int | None = None
        self._held: set[str] = set()
        """Ids analysed and not yet acknowledged: never taken over from ourselves."""
        self._unacked: list[str] = []
        self._next_save = clock() + self.settings.save_seconds
        self._next_claim = 0.0
        self._claim_from = "0-0"
        self._own_after: str | None = "0"
        """Where this consumer's own unacknowledged history continues; None once read."""
        self._away = False
        self._store_failing = False

    @property
    def consumer(self) -> str:
        return self.report.consumer

    def run(self, stop: threading.Event, *, drain: bool = False) -> WorkerReport:
        """Until `stop` is set (or, with `drain`, until nothing is left to read), then save
        and acknowledge what was analysed."""
        while not stop.is_set():
            try:
                if self._own_after == "0":
                    self.stream.create_group()
                entries = self._fetch(wait=not drain)
                if not entries and drain:
                    entries = self._fetch(wait=False, claim=True)
                    if not entries:
                        break
                self._back()
            except StateUnavailable as error:
                if "NOGROUP" in str(error):  # the group was deleted: create it again
                    self._own_after = "0"
                self._lost(error)
                stop.wait(self.probe_seconds)
                continue
            self.handle(entries)
            if len(self._unsaved) >= self.settings.save_every or self._clock() >= self._next_save:
                self.save()
        if self.save(final=True) and not self._unacked:
            self._forget()
        return self.report

    def handle(self, entries: list[Entry]) -> None:
        for entry in entries:
            if entry.id in self._held:
                continue
            self._held.add(entry.id)
            self._unsaved.append(entry.id)
            exchange = self._exchange(entry)
            if exchange is not None:
                self._analyse(exchange)

    def save(self, final: bool = False) -> bool:
        """Write the run to the store if anything was handled or any traffic bucket is
        waiting, then acknowledge what it holds; False when the store refused (nothing
        acknowledged, the buckets kept for the next save). The first write makes the worker's
        run; later ones rewrite it and add the traffic buckets event time has left behind (all
        of them when `final`)."""
        self._next_save = self._clock() + self.settings.save_seconds
        self._points += self.engine.series_points(settled_only=not final)
        if self._unsaved or self._points:
            try:
                self.report.run_ids.append(self._write())
            except StoreError as error:
                self._refused(error)
                return False
            self._store_failing = False
            self._points = []
            self._unacked += self._unsaved
            self._unsaved = []
        self._ack()
        return True

    def _write(self) -> int:
        document = self.document()
        if self._run_id is None:
            self._run_id = self.store.save_analysis(document, self._points)
        else:
            self.store.replace_run(self._run_id, document, self._points)
        return self._run_id

    def _refused(self, error: StoreError) -> None:
        if not self._store_failing:
            log.error(
                "worker %s: %s; nothing is acknowledged until a save succeeds",
                self.consumer,
                error,
            )
        self._store_failing = True
        self._points, dropped = keep_newest(self._points, MAX_CARRIED)
        if dropped:
            self.report.dropped_points += dropped
            log.error(
                "worker %s: dropping %d traffic buckets the store has not taken",
                self.consumer,
                dropped,
            )

    def document(self) -> dict[str, object]:
        """The run so far, in the shape `analyze` saves."""
        stats = self.report.stats
        info = RunInfo(
            kind="worker",
            started_at=self._started,
            finished_at=time.time(),
            sources=[f"{self.stream.where} group {self.stream.group} consumer {self.consumer}"],
            lines=stats.lines,
            events=stats.events,
            skipped=stats.skipped,
            skipped_by_reason=dict(stats.skipped_by_reason),
            errors=[{"source": e.source, "line": e.line, "reason": e.reason} for e in stats.errors],
            partial=stats.partial,
            partial_by_reason=dict(stats.partial_by_reason),
        )
        return build_document(self.engine.snapshot(), info)

    # -- reading -------------------------------------------------------------------------------

    def _fetch(self, *, wait: bool, claim: bool = False) -> list[Entry]:
        """This consumer's own history first, then entries others left idle (every while, or
        now with `claim`), then new ones, waiting up to `block_ms` for them with `wait`."""
        count = self.settings.batch
        if self._own_after is not None:
            entries = self.stream.read_own(self.consumer, count, after=self._own_after)
            self._own_after = entries[-1].id if entries else None
            if entries:
                return entries
        if claim or self._clock() >= self._next_claim:
            entries = self._claim(count)
            if entries:
                return entries
        return self.stream.read(self.consumer, count, block_ms=self.block_ms if wait else None)

    def _claim(self, count: int) -> list[Entry]:
        idle_ms = round(self.settings.claim_idle_seconds * 1000)
        claimed = self.stream.claim(self.consumer, idle_ms, count, start=self._claim_from)
        self._claim_from = claimed.next_start
        if claimed.next_start == "0-0":  # walked the whole pending list: rest a while
            self._next_claim = self._clock() + self.settings.claim_idle_seconds / 4
        if claimed.gone:
            self.report.gone += len(claimed.gone)
            log.warning(
                "worker %s: %d pending entries were trimmed from the stream before anyone "
                "analysed them; raise analysis.maxlen or add workers",
                self.consumer,
                len(claimed.gone),
            )
        fresh = [e for e in claimed.entries if e.id not in self._held]
        self.report.claimed += len(fresh)
        return fresh

    def _exchange(self, entry: Entry) -> Exchange | None:
        stats = self.report.stats
        stats.lines += 1
        source = f"{self.stream.key}#{entry.id}"
        if entry.payload is None:
            stats.skip(source, stats.lines, "no exchange in the entry", "trimmed, or no field x")
            return None
        try:
            exchange = self._parse(entry.payload, stats.lines)
        except Skip as skip:
            stats.skip(source, stats.lines, skip.reason, skip.detail)
            return None
        except Exception as error:  # a parser bug must not stop the worker
            stats.skip(source, stats.lines, "unreadable", type(error).__name__)
            return None
        exchange.source = source
        stats.events += 1
        return exchange

    # -- analysing -----------------------------------------------------------------------------

    def _analyse(self, exchange: Exchange) -> None:
        mark = self.engine.detection_mark()
        self.engine.process(exchange)  # each stage is contained by the pipeline
        if self.blocks is None:
            return
        for incident in self.engine.touched_incidents(exchange, mark):
            try:
                auto_block(incident, self.blocks, self.blocking, self.bots, exchange.actor)
            except StateUnavailable as error:
                log.warning("worker %s: cannot raise a block: %s", self.consumer, error)

    # -- acknowledging -------------------------------------------------------------------------

    def _ack(self) -> None:
        if not self._unacked:
            return
        try:
            self.stream.ack(self._unacked, delete=self.settings.delete_acked)
        except StateUnavailable as error:
            self._lost(error)  # saved already: acknowledged at the next save
            return
        self.report.acked += len(self._unacked)
        self._held.difference_update(self._unacked)
        self._unacked = []

    def _forget(self) -> None:
        """Leave the group on a clean stop, so stopped workers do not pile up in it."""
        with contextlib.suppress(StateUnavailable):  # one with nothing pending costs nothing
            self.stream.forget(self.consumer)

    def _lost(self, error: StateUnavailable) -> None:
        if not self._away:
            self._away = True
            log.warning(
                "worker %s: %s; trying again every %gs", self.consumer, error, self.probe_seconds
            )

    def _back(self) -> None:
        if self._away:
            self._away = False
            log.warning("worker %s: the stream at %s is back", self.consumer, self.stream.where)


def run_worker(
    config: Config,
    spec: ApiSpec | None,
    consumer_name: str,
    stop_event: threading.Event,
    *,
    drain: bool = False,
) -> WorkerReport:
    """Analyse the stream `config.analysis` names as `consumer_name` until `stop_event` is set
    (or, with `drain`, until it is empty); raises ConfigError or StoreError before it starts."""
    install_compiled_cache()
    backends = open_backends(config)
    stream: ExchangeStream | None = None
    try:
        engine = build_engine(config, spec, state=backends.state)
        if engine.schema is not None:  # the guards in front stripped answers if they enforce
            engine.schema.enforced = config.enforce.mode == "enforce"
        store = Store(config.store.url)
        store.create()
        analysis, state = config.analysis, config.state
        stream = ExchangeStream.from_url(
            state.url,
            analysis.stream,
            analysis.group,
            timeout=state.timeout + BLOCK_MS / 1000,
        )
        worker = Worker(engine, stream, store, config, consumer_name, blocks=backends.blocks)
        with analysis_collector():
            return worker.run(stop_event, drain=drain)
    finally:
        if stream is not None:
            stream.close()
        backends.close()

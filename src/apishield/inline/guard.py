"""One engine and one policy inside a running app: decide before it answers, learn after.

The request phase (actor, route, request checks, policy) runs on the request's own thread or
event loop, before the app, because it may refuse. The response phase (data classes, inventory,
detectors, automatic blocks) must never delay an answer: the finished exchange goes onto a
bounded queue that one background thread drains in batches. When the queue is full the
exchange is dropped and counted; a request never waits for analysis. The thread lingers
(`analysis.linger_ms`) after the first exchange of a batch for more to arrive, so it wakes, and
takes the interpreter from the requests, once per batch rather than once per request; `flush`
and `close` cut the wait short.

Thread model: one lock, taken around each phase of each exchange. The request phase is not
read-only (the route learner learns templates, the actor resolver fills its caches, checks read
what the inventory learned), and making it so would let live analysis drift from replay, so
both phases run under the same lock, one exchange at a time. The worker takes the lock per
exchange, not per batch, and only for the response stages the request phase reads from (data
classes, response checks, the inventory): the detectors and tallies after them are the worker's
alone and run outside it, so a request never waits on detector state, which on Redis is a
round trip per read. The
policy itself holds no state: buckets and blocks are behind `apishield.limits`, whose backends
are atomic per call, so the policy decides outside the lock.

Answers instead of the app's: a 403 for a block or deny, a 429 with the RateLimit fields for a
rate limit, and for blocks on confirmed bots (`enforce.bots`) a tarpit or a decoy. A tarpit's
`Refusal` carries a delay: the middleware holds the request that long (on the event loop under
ASGI, where a client that hangs up ends the wait; under WSGI a bounded sleep that holds one of
the server's worker threads to the end), then answers 429 with Retry-After. `Tarpits` caps how
many requests one process holds at once; past the cap a tarpitted request is refused at once, so
bots cannot use the tarpit to tie the server up. A decoy is a 200 with a plausible empty JSON
body that never reaches the app; analysis records it without an answer, so a decoy never teaches
the inventory that an endpoint exists. Refused requests still go to analysis, and monitor mode
records what would have been done.

Contained failures: any error inside the guard is counted by phase and logged the first time;
`check` then answers None, and the middleware lets the request through unchanged (fail open,
the default) or answers 503 when `enforce.on_error` is "closed".

Shared state: with `state.backend: redis` the buckets, blocks and detector state are on Redis,
shared with every other guard on the same url and prefix, behind a failover
(`apishield.state.failover`): while Redis is away the guard goes on deciding on its own memory,
logs that once, and reports it in `degraded` and `stats()["state"]`. That is not a guard
failure, so `enforce.on_error` does not apply: rate limits and blocks stay enforced, per
process, until Redis returns.

Analysis elsewhere: with `analysis.mode: stream` the background thread does not analyse. It
serialises what it drains and adds it to a Redis stream in batches, one command each
(`apishield.inline.offload`), and `apishield worker` processes run the full engine on it. The
guard's own engine then runs the request phase only; its detectors, inventory and automatic
blocks are the workers' (blocks reach the guard through shared state). While the stream is away,
the thread analyses locally as in local mode, or drops and counts (`analysis.on_unavailable`).

Analysis on a server: with `analysis.mode: remote` the thread posts the same JSONL batches to
an `apishield serve` (`apishield.inline.remote`), whose engine analyses them and whose
dashboard shows them; this guard keeps the request phase and enforcement, as in stream mode.
Without shared state the server's blocks reach the guard through `apishield.inline.block_mirror`,
which copies the server's block list every `analysis.blocks_seconds`.
A batch the server asks to wait for (503) is kept and sent again, a few at most; while the
server cannot be reached, or refuses the token (logged as an error once), exchanges are
analysed here or dropped and counted, as in stream mode.
"""

from __future__ import annotations

import gc
import logging
import math
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from apishield.config import AutoBlockConfig, Config, load_config
from apishield.enforce import Policy, auto_block
from apishield.engine import Engine
from apishield.exchange import Action, Decision, Exchange, Request, Response
from apishield.ingest.openapi import load_spec
from apishield.inline.block_mirror import BlockMirror
from apishield.inline.offload import StreamOffload
from apishield.inline.remote import RemoteOffload
from apishield.inventory.spec import ApiSpec
from apishield.limits import Blocks, Buckets
from apishield.privacy import Hasher
from apishield.startup import build_engine, install_compiled_cache
from apishield.state.factory import Backends, open_backends
from apishield.store.keys import read_token

log = logging.getLogger("apishield.inline")

QUEUE_SIZE = 10_000
BATCH_SIZE = 64
LINGER = 0.05
"""Seconds the background thread waits for a batch to fill (`analysis.linger_ms`)."""
ANALYSE_PAUSE_EVERY = 4
"""Exchanges analysed between two pauses of the thread, each a chance for requests to run."""

_STOP = object()


@dataclass(slots=True, frozen=True)
class Refusal:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    delay: float = 0.0
    """Seconds to hold the request before answering (a tarpit), within `Tarpits`' cap."""
    decoy: bool = False
    """A decoy answer: the client sees it, analysis records no answer (the app gave none)."""

    def response(self) -> Response | None:
        """What analysis records as the answer: this refusal, or nothing for a decoy."""
        if self.decoy:
            return None
        return Response(self.status, dict(self.headers), self.body, len(self.body))


class Tarpits:
    """How many tarpitted requests one process holds at once: at most `limit`."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.holding = 0
        self.held = 0
        """Requests held so far."""
        self.at_once = 0
        """Tarpitted requests refused without waiting, the cap being reached."""
        self._lock = threading.Lock()

    @contextmanager
    def hold(self, refusal: Refusal) -> Iterator[float]:
        """The seconds to wait inside the `with` block: the refusal's delay while a slot is
        free, else 0.0. The slot is given back when the block ends, however it ends."""
        with self._lock:
            free = refusal.delay > 0 and self.holding < self.limit
            if free:
                self.holding += 1
                self.held += 1
            elif refusal.delay > 0:
                self.at_once += 1
        if not free:
            yield 0.0
            return
        try:
            yield refusal.delay
        finally:
            with self._lock:
                self.holding -= 1

    def stats(self) -> dict[str, int]:
        return {"holding": self.holding, "held": self.held, "at_once": self.at_once}


_FORBIDDEN = b'{"error":"forbidden"}'
_TOO_MANY = b'{"error":"too many requests"}'
_UNAVAILABLE = b'{"error":"service unavailable"}'


class Guard:
    """Owns one `Engine` and one `Policy`; shared by every request of one app process."""

    def __init__(
        self,
        engine: Engine,
        policy: Policy,
        *,
        fail_closed: bool = False,
        blocking: AutoBlockConfig | None = None,
        max_body_bytes: int = 1_048_576,
        queue_size: int = QUEUE_SIZE,
        batch_size: int = BATCH_SIZE,
        linger: float = LINGER,
        freeze_gc: bool = False,
        on_processed: Callable[[Exchange], None] | None = None,
        warm: bool = True,
        backends: Backends | None = None,
        offload: StreamOffload | RemoteOffload | None = None,
        mirror: BlockMirror | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`on_processed` is called on the worker thread after each exchange's response phase
        (alerting, metrics, tests); `warm` runs `warm_up` before the guard is returned;
        `backends` are the state the engine and policy use, reported in `stats()` and closed
        with the guard. With `offload`, the thread sends exchanges to a stream or a server
        instead of analysing them (`on_processed` then hears only of those analysed here);
        `mirror` copies a server's blocks into the policy's and is closed with the guard.
        `linger`: seconds the thread waits for a batch to fill once it holds one exchange;
        `freeze_gc`: after the warm-up, hide what is alive from the cycle collector
        (`analysis.freeze_gc`)."""
        self.engine = engine
        self.policy = policy
        self.backends = backends
        self.fail_closed = fail_closed
        self.blocking = blocking or AutoBlockConfig()
        """When incidents block their actor."""
        self.max_body_bytes = max_body_bytes
        self.offload = offload
        self.mirror = mirror
        self.batch_size = offload.batch if offload is not None else batch_size
        self.linger = linger
        self._hurry = threading.Event()
        """Set while someone waits for the queue to empty (`flush`, `close`): no lingering."""
        self._hurried = 0
        self._hurry_lock = threading.Lock()
        self.on_processed = on_processed
        self.clock = clock
        """When a request arrives and its answer ends: the wall clock, or a simulated one
        (`apishield demo`), so detectors and blocks judge in the time the traffic lives in."""
        bots = policy.config.bots
        self.tarpit_seconds = bots.tarpit_seconds
        self.tarpits = Tarpits(bots.max_tarpits)
        """Held tarpits, capped per process; the middleware holds a request inside `hold`."""
        self.dropped = 0
        self.processed = 0
        self.stripped = 0
        """Answers the middleware sent without the fields the spec does not document."""
        self.too_large = 0
        """Answers that were to be stripped but outgrew `max_body_bytes`, so went out whole."""
        if engine.schema is not None:
            # The evidence of undocumented answer fields says whether they really went.
            engine.schema.enforced = not (policy.monitor or policy.off)
        self.errors: Counter[str] = Counter()
        self.decisions: Counter[str] = Counter()
        """Rule id -> decisions that were not a plain allow, enforced or monitored."""
        self._lock = threading.Lock()
        self._shared = _shared_stages(engine)
        """The response stages that touch what the request phase reads (data classes, response
        checks, the inventory), run under the lock; the detectors and tallies after them are
        this worker's alone, so a request never waits on their state (round trips to Redis)."""
        self._queue: queue.Queue[object] = queue.Queue(maxsize=queue_size)
        install_compiled_cache()  # the signature databases load in milliseconds once compiled
        if warm:
            self.warm_up()
        if freeze_gc:
            gc.collect()  # what is garbage now is collected, not frozen
            gc.freeze()
        self._worker = threading.Thread(target=self._drain, name="apishield-guard", daemon=True)
        self._worker.start()

    def warm_up(self) -> None:
        """Let the request checks build what they build on first use (the signature databases
        take seconds to compile without a cache) now, at app start-up, rather than on the first
        request. The synthetic request goes to the checks alone: nothing learns from it."""
        if self.engine.schema is not None:
            self.engine.schema.warm_up()
        probe = Exchange(
            Request(
                "POST",
                "/apishield-warm-up",
                query="q=%27%20or%201%3D1--&x=%3Cscript%3E",
                headers={"content-type": "application/json", "user-agent": "apishield"},
                body=b'{"q": "\' or 1=1--", "next": "../../etc/passwd"}',
            ),
            None,
            started=0.0,
            source="warm-up",
        )
        stage = self.engine.check_stages[0]
        errors = Counter(stage.errors)
        try:
            stage(probe)
        finally:
            stage.errors = errors

    @classmethod
    def from_config(
        cls,
        config: Config,
        hasher: Hasher,
        *,
        buckets: Buckets | None = None,
        blocks: Blocks | None = None,
        backends: Backends | None = None,
        spec: ApiSpec | None = None,
        queue_size: int = QUEUE_SIZE,
        batch_size: int = BATCH_SIZE,
        on_processed: Callable[[Exchange], None] | None = None,
        warm: bool = True,
    ) -> Guard:
        """A guard with the default engine on the state `config.state` names (in memory, or
        Redis with failover); `backends`, or `buckets` and `blocks` alone, replace it. With a
        `spec`, requests and answers are validated against it (`enforce.openapi`)."""
        backends = backends or open_backends(config)
        engine = Engine(config, hasher, spec=spec, state=backends.state)
        return cls.around(
            engine,
            config,
            backends,
            buckets=buckets,
            blocks=blocks,
            queue_size=queue_size,
            batch_size=batch_size,
            on_processed=on_processed,
            warm=warm,
        )

    @classmethod
    def open(
        cls,
        config_file: str | Path | None = None,
        *,
        spec_file: str | Path | None = None,
        on_processed: Callable[[Exchange], None] | None = None,
    ) -> Guard:
        """The guard an app adds in one line: the configuration from a YAML file (the defaults
        without one), the install secret from its `data_dir`, the JWT key, secret candidates
        and reputation lists it names, the spec from `spec_file` or `inventory.spec`, and the
        state `state:` names. Raises ConfigError or SpecError, whose messages name the fix."""
        config = load_config(Path(config_file) if config_file is not None else None)
        spec_path = spec_file if spec_file is not None else config.inventory.spec
        spec = load_spec(Path(spec_path)) if spec_path is not None else None
        backends = open_backends(config)
        try:
            engine = build_engine(config, spec, state=backends.state)
        except BaseException:
            backends.close()
            raise
        return cls.around(engine, config, backends, on_processed=on_processed)

    @classmethod
    def around(
        cls,
        engine: Engine,
        config: Config,
        backends: Backends,
        *,
        buckets: Buckets | None = None,
        blocks: Blocks | None = None,
        queue_size: int = QUEUE_SIZE,
        batch_size: int = BATCH_SIZE,
        on_processed: Callable[[Exchange], None] | None = None,
        warm: bool = True,
    ) -> Guard:
        """A guard around a built engine, with the policy, state and analysis (here, on a
        stream for workers, or on an `apishield serve`) `config` describes."""
        hashed = config.identity.hash_identities
        policy = Policy(
            config.enforce,
            buckets or backends.buckets,
            blocks or backends.blocks,
            schema=engine.schema,
            pseudonym=engine.hasher.pseudonym if hashed else None,
        )
        offload = _offload(config)
        return cls(
            engine,
            policy,
            mirror=_mirror(config, offload, policy.blocks),
            # monitor and off modes refuse nothing, their own failures included
            fail_closed=config.enforce.on_error == "closed" and config.enforce.mode == "enforce",
            blocking=config.enforce.auto_block,
            max_body_bytes=config.ingest.max_body_bytes,
            queue_size=queue_size,
            batch_size=batch_size,
            linger=config.analysis.linger_ms / 1000,
            freeze_gc=config.analysis.freeze_gc,
            on_processed=on_processed,
            warm=warm,
            backends=backends,
            offload=offload,
        )

    @property
    def degraded(self) -> bool:
        """True while shared state is away and this guard decides on its own memory."""
        return self.backends is not None and self.backends.degraded

    # -- request phase ----------------------------------------------------------------------

    def check(self, exchange: Exchange) -> Decision | None:
        """Run the request phase and decide; None when the guard itself failed."""
        try:
            with self._lock:
                self.engine.pipeline.run_request(exchange)
            decision = self.policy.decide(exchange, exchange.started)
        except Exception:
            self.failed("request")
            return None
        exchange.decision = decision
        if decision.action is not Action.ALLOW:
            self.decisions[decision.rule] += 1
        return decision

    def refusal(
        self, decision: Decision | None, exchange: Exchange | None = None
    ) -> Refusal | None:
        """The answer to send instead of the app's, or None to let the request through; a
        decoy's body is chosen by the `exchange`'s endpoint."""
        if decision is None:
            return Refusal(503, _JSON, _UNAVAILABLE) if self.fail_closed else None
        if not decision.refuses:
            return None
        action = decision.action
        if action is Action.THROTTLE:
            return Refusal(429, _JSON + decision.headers, _TOO_MANY)
        if action is Action.TARPIT:
            wait = str(max(1, math.ceil(self.tarpit_seconds)))
            headers = (*_JSON, ("retry-after", wait))
            return Refusal(429, headers, _TOO_MANY, delay=self.tarpit_seconds)
        if action is Action.DECOY:
            decoys = self.policy.decoys
            body = decoys.body(exchange) if exchange is not None else decoys.default
            return Refusal(200, _JSON, body, decoy=True)
        return Refusal(403, _JSON, _FORBIDDEN)

    def failed(self, phase: str) -> None:
        """Count an internal error; log it with its traceback the first time per phase."""
        self.errors[phase] += 1
        if self.errors[phase] == 1:
            refused = self.fail_closed and phase == "request"
            passes = "the request gets 503 (on_error: closed)" if refused else "traffic passes"
            log.exception("apishield %s phase failed; %s (logged once)", phase, passes)

    def count_too_large(self, exchange: Exchange) -> None:
        """Count an answer that was to be stripped but went out whole, past `max_body_bytes`;
        say so the first time, naming its operation."""
        self.too_large += 1
        if self.too_large == 1:
            schema = self.engine.schema
            op = schema.operation(exchange) if schema is not None else None
            log.warning(
                "apishield: an answer of %s outgrew ingest.max_body_bytes (%d) and went out "
                "with its undocumented fields; raise the limit to strip larger answers (logged "
                "once)",
                f"{op.method} {op.path}" if op is not None else exchange.request.method,
                self.max_body_bytes,
            )

    # -- response phase ---------------------------------------------------------------------

    def submit(self, exchange: Exchange) -> None:
        """Queue a finished exchange for analysis; never blocks, drops and counts when full."""
        try:
            self._queue.put_nowait(exchange)
        except queue.Full:
            self.dropped += 1

    def flush(self) -> None:
        """Wait until everything queued so far is analysed (tests, shutdown)."""
        with self._hurrying():
            self._queue.join()

    def close(self, timeout: float = 5.0) -> None:
        """Analyse what is queued, then stop the worker and let go of shared state."""
        with self._hurrying():
            self._queue.put(_STOP, timeout=timeout)
            self._worker.join(timeout)
        if self.offload is not None:
            self.offload.close()
        if self.mirror is not None:
            self.mirror.close()
        if self.backends is not None:
            self.backends.close()

    @contextmanager
    def _hurrying(self) -> Iterator[None]:
        """The worker does not linger while the block runs."""
        with self._hurry_lock:
            self._hurried += 1
            self._hurry.set()
        try:
            yield
        finally:
            with self._hurry_lock:
                self._hurried -= 1
                if not self._hurried:
                    self._hurry.clear()

    def _drain(self) -> None:
        while True:
            batch = [self._queue.get()]
            if self.linger > 0 and self._queue.qsize() < self.batch_size - 1:
                self._hurry.wait(self.linger)
            while len(batch) < self.batch_size:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            exchanges = [item for item in batch if isinstance(item, Exchange)]
            if self.offload is not None:
                self._send(self.offload, exchanges)
            else:
                for index, exchange in enumerate(exchanges, 1):
                    self._analyse(exchange)
                    if index % ANALYSE_PAUSE_EVERY == 0:
                        time.sleep(0)  # requests waiting for the interpreter go first
            for _ in batch:
                self._queue.task_done()
            if any(item is _STOP for item in batch):
                return

    def _send(self, offload: StreamOffload | RemoteOffload, exchanges: list[Exchange]) -> None:
        """To the stream; what it does not take is analysed here, or dropped and counted."""
        try:
            unsent = offload.send(exchanges)
        except Exception:
            self.failed("offload")
            unsent = exchanges
        if offload.local:
            for exchange in unsent:
                self._analyse(exchange)

    def _analyse(self, exchange: Exchange) -> None:
        try:
            pipeline, shared = self.engine.pipeline, self._shared
            with self._lock:
                mark = self.engine.detection_mark()
                pipeline.run_response_part(exchange, shared)
            pipeline.run_response_part(exchange, slice(shared.stop, None))
            touched = self.engine.touched_incidents(exchange, mark)
            bots = self.policy.config.bots
            for incident in touched:
                auto_block(incident, self.policy.blocks, self.blocking, bots, exchange.actor)
            self.processed += 1
            if self.on_processed is not None:
                self.on_processed(exchange)
        except Exception:
            self.failed("response")

    # -- reporting --------------------------------------------------------------------------

    def stats(self) -> dict[str, object]:
        return {
            "processed": self.processed,
            "queued": self._queue.qsize(),
            "dropped": self.dropped,
            "errors": dict(self.errors),
            "decisions": dict(self.decisions),
            "tarpits": self.tarpits.stats(),
            "strip": {"stripped": self.stripped, "too_large": self.too_large},
            "stage_errors": dict(self.engine.pipeline.errors),
            "state": self.backends.status() if self.backends is not None else {},
            "offload": self.offload.stats() if self.offload is not None else {},
            "blocks_mirror": self.mirror.stats() if self.mirror is not None else {},
        }


_JSON: tuple[tuple[str, str], ...] = (("content-type", "application/json"),)


def _offload(config: Config) -> StreamOffload | RemoteOffload | None:
    """Where the response phase goes: a Redis stream, an `apishield serve`, or nowhere (here)."""
    mode = config.analysis.mode
    if mode == "stream":
        return StreamOffload.from_config(config)
    if mode == "remote":
        return RemoteOffload.from_config(config)
    return None


def _mirror(
    config: Config, offload: StreamOffload | RemoteOffload | None, blocks: Blocks
) -> BlockMirror | None:
    """A copy of the server's blocks, for a guard that sends it traffic but shares no state
    with it (without Redis the server's automatic blocks could not reach this guard)."""
    if not isinstance(offload, RemoteOffload) or config.state.backend != "memory":
        return None
    token_file = offload.token_file
    if token_file is None:
        return None
    mirror = BlockMirror(
        offload.url, lambda: read_token(token_file), blocks, every=config.analysis.blocks_seconds
    )
    return mirror.start()


def _shared_stages(engine: Engine) -> slice:
    """The response stages up to the detectors; all of them when the detectors are not found."""
    stages = list(engine.pipeline.response_stages)
    for index, stage in enumerate(stages):
        if stage is engine.detect:
            return slice(0, index)
    return slice(0, len(stages))

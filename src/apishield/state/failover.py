"""Shared state that fails over to this process's memory, and says so, while Redis is away.

An API must not go down with its rate limiter's Redis, so the in-line guard wraps the shared
state, buckets and blocks in these classes. While Redis answers, every call goes to it. The
first call that fails (`StateUnavailable`) starts an outage: a WARNING is logged once, the
call and all that follow are answered from local in-memory backends, and `degraded` is true.
Limits are then per process (each one allows its own burst), which is what "fail open" means
here: requests keep being decided. Blocks stay in force: each process keeps a copy of the shared
block list (every block it has placed or met, and the whole list read again every
`REFRESH_SECONDS` while Redis answers), and answers from it during an outage; a block placed
elsewhere after the last read is the one not seen. At most once every `probe_seconds` Redis is
tried again; the first try that succeeds ends the outage, logs that Redis is back, copies the
blocks raised meanwhile into it, and from then on every call goes to Redis again. Given a
`probe` (Redis's PING), the try runs on a thread of its own, so a Redis that hangs rather than
refuses (a frozen host, a full network buffer) costs the request path one timeout when the
outage starts, not one per probe: during the outage no request waits on Redis. Without one, the
call that falls due tries the shared backend itself. Counts and detector records kept locally
during the outage are dropped. A policy decision's combined check (`FailoverLimits`) fails over
as a unit: all its lookups and takes are answered by Redis, or all locally.

The wall clock here is the monotonic clock and only paces probes; analysis keeps event time.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

from apishield.limits import (
    Block,
    BlockAction,
    BlockKind,
    Blocks,
    Buckets,
    Check,
    Draw,
    Limits,
    Take,
    limits_of,
)
from apishield.state.memory_limits import MemoryBlocks
from apishield.stateful import State, StateUnavailable, Tally

log = logging.getLogger("apishield.state")

T = TypeVar("T")
R = TypeVar("R")

DEFAULT_PROBE_SECONDS = 5.0
REFRESH_SECONDS = 30.0
"""How often, at most, a process reads the whole shared block list again for its copy."""


class Failover:
    """The health of one shared backend, as every wrapper over it sees it.

    `degraded` is true during an outage; `outages` counts them, `local_calls` counts the calls
    answered locally, and `last_error` says what failed last (host and port, never a password).
    """

    def __init__(
        self,
        where: str,
        *,
        probe_seconds: float = DEFAULT_PROBE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        probe: Callable[[], object] | None = None,
        spawn: Callable[[Callable[[], None]], None] | None = None,
    ) -> None:
        """`probe` asks the backend whether it answers, raising `StateUnavailable` if not;
        `spawn` runs a probe off the request path (a daemon thread unless told otherwise)."""
        if not probe_seconds > 0:
            raise ValueError(f"probe_seconds is {probe_seconds}; it must be more than zero")
        self.where = where
        self.probe_seconds = probe_seconds
        self.probes = 0
        self._probe = probe
        self._spawn = spawn or _on_a_thread
        self._probing = False
        self.outages = 0
        self.local_calls = 0
        self.last_error = ""
        self._clock = clock
        self._degraded = False
        self._since = 0.0
        self._next_probe = 0.0
        self._lock = threading.Lock()
        self._on_return: list[Callable[[], int]] = []

    @property
    def degraded(self) -> bool:
        return self._degraded

    def clock(self) -> float:
        """The monotonic clock that paces probes and refreshes."""
        return self._clock()

    def on_return(self, hook: Callable[[], int]) -> None:
        """Run `hook` against the shared backend before it is used again after an outage; it
        answers how many things it carried over and may raise `StateUnavailable`."""
        self._on_return.append(hook)

    def run(self, shared: Callable[[], R], local: Callable[[], R]) -> R:
        """`shared()` while the backend answers; `local()` during an outage."""
        if self._degraded:
            if not self._probe_due():
                self.local_calls += 1
                return local()
            if self._probe is not None:
                try:
                    self._spawn(self._try_again)
                except Exception:  # no thread to be had: the next interval tries again
                    log.exception("could not start a probe of %s", self.where)
                    with self._lock:
                        self._probing = False
                self.local_calls += 1
                return local()
        probing = self._degraded
        try:
            carried = sum(hook() for hook in self._on_return) if probing else 0
            result = shared()
        except StateUnavailable as error:
            self._lost(error)
            self.local_calls += 1
            return local()
        if probing:
            self._back(carried)
        return result

    def status(self) -> dict[str, object]:
        return {
            "backend": self.where,
            "degraded": self._degraded,
            "outages": self.outages,
            "local_calls": self.local_calls,
            "last_error": self.last_error,
        }

    def _probe_due(self) -> bool:
        """True for one caller per `probe_seconds`, and never while a probe is still out; the
        others go on locally meanwhile."""
        if self._clock() < self._next_probe:
            return False
        with self._lock:
            now = self._clock()
            if not self._degraded or self._probing or now < self._next_probe:
                return False
            self._next_probe = now + self.probe_seconds
            self._probing = self._probe is not None
            return True

    def _try_again(self) -> None:
        """One probe off the request path: carry the outage's blocks over, ask the backend,
        and end the outage if both went through."""
        assert self._probe is not None
        self.probes += 1
        try:
            carried = sum(hook() for hook in self._on_return)
            self._probe()
        except StateUnavailable as error:
            self._lost(error)
        except Exception as error:  # a probe must never take its thread's owner down
            self._lost(StateUnavailable(f"probe of {self.where} failed: {error!r}"))
        else:
            self._back(carried)
            # A block raised locally while the first carry ran would stay local, unseen once
            # calls go to the backend again: carry once more now that they do.
            try:
                sum(hook() for hook in self._on_return)
            except StateUnavailable as error:
                self._lost(error)
        finally:
            with self._lock:
                self._probing = False

    def _lost(self, error: StateUnavailable) -> None:
        with self._lock:
            self.last_error = str(error)
            self._next_probe = self._clock() + self.probe_seconds
            if self._degraded:
                return
            self._degraded = True
            self._since = self._clock()
            self.outages += 1
        log.warning(
            "shared state unavailable: %s. Rate limits and detector state go on in this "
            "process's memory (limits are per process until it returns), blocks from its copy "
            "of the shared list; trying it again every %gs",
            error,
            self.probe_seconds,
        )

    def _back(self, carried: int) -> None:
        with self._lock:
            if not self._degraded:
                return
            self._degraded = False
            away = self._clock() - self._since
        log.warning(
            "shared state at %s is back after %.1fs; %d calls were answered locally, %d blocks "
            "raised meanwhile copied to it",
            self.where,
            away,
            self.local_calls,
            carried,
        )


class FailoverState:
    """`apishield.stateful.State` on `shared`, on `local` during an outage."""

    def __init__(self, shared: State, local: State, failover: Failover) -> None:
        self.shared = shared
        self.local = local
        self.failover = failover

    def count(self, key: str, now: float, window: float, amount: float = 1.0) -> float:
        return self.failover.run(
            lambda: self.shared.count(key, now, window, amount),
            lambda: self.local.count(key, now, window, amount),
        )

    def tally(self, calls: Sequence[Tally], now: float) -> list[float]:
        return self.failover.run(
            lambda: self.shared.tally(calls, now), lambda: self.local.tally(calls, now)
        )

    def distinct(self, key: str, member: str, now: float, window: float, cap: int) -> int:
        return self.failover.run(
            lambda: self.shared.distinct(key, member, now, window, cap),
            lambda: self.local.distinct(key, member, now, window, cap),
        )

    def load(self, key: str, kind: type[T], now: float) -> T | None:
        return self.failover.run(
            lambda: self.shared.load(key, kind, now), lambda: self.local.load(key, kind, now)
        )

    def save(self, key: str, value: object, now: float, ttl: float) -> None:
        self.failover.run(
            lambda: self.shared.save(key, value, now, ttl),
            lambda: self.local.save(key, value, now, ttl),
        )


class FailoverBuckets:
    """`apishield.limits.Buckets` on `shared`, on `local` during an outage."""

    def __init__(self, shared: Buckets, local: Buckets, failover: Failover) -> None:
        self.shared = shared
        self.local = local
        self.failover = failover

    def take(self, key: str, now: float, rate: float, burst: float, cost: float = 1.0) -> Take:
        return self.failover.run(
            lambda: self.shared.take(key, now, rate, burst, cost),
            lambda: self.local.take(key, now, rate, burst, cost),
        )

    def limits_with(self, blocks: Blocks) -> Limits | None:
        """The combined check over both sides, when `blocks` fail over with these buckets."""
        if not (isinstance(blocks, FailoverBlocks) and blocks.failover is self.failover):
            return None
        shared = limits_of(self.shared, blocks.shared)
        local = limits_of(self.local, blocks.in_outage)
        return FailoverLimits(shared, local, self.failover, blocks)


class FailoverLimits:
    """`apishield.limits.Limits` on `shared`, on `local` during an outage, as one call: a
    check is never split between Redis and memory. A block a shared check meets goes into the
    blocks' local copy."""

    def __init__(
        self, shared: Limits, local: Limits, failover: Failover, blocks: FailoverBlocks
    ) -> None:
        self.shared = shared
        self.local = local
        self.failover = failover
        self.blocks = blocks

    def check(
        self, blocks: Sequence[tuple[BlockKind, str]], draws: Sequence[Draw], now: float
    ) -> Check:
        return self.failover.run(
            lambda: self._shared_check(blocks, draws, now),
            lambda: self.local.check(blocks, draws, now),
        )

    def _shared_check(
        self, blocks: Sequence[tuple[BlockKind, str]], draws: Sequence[Draw], now: float
    ) -> Check:
        self.blocks.refresh(now)
        checked = self.shared.check(blocks, draws, now)
        if checked.block is not None:
            self.blocks.known(checked.block)
        return checked


class FailoverBlocks:
    """`apishield.limits.Blocks` on `shared`, on `local` during an outage.

    A block raised during an outage (an incident's automatic block) is kept locally and copied
    to the shared table, with its action, when it returns, so no process forgets it; a block
    lifted during an outage is lifted locally only.
    """

    def __init__(self, shared: Blocks, local: MemoryBlocks, failover: Failover) -> None:
        self.shared = shared
        self.local = local
        """Blocks raised during an outage, copied to the shared table when it returns."""
        self.copy = MemoryBlocks()
        """The shared blocks as last read or met, answered from during an outage."""
        self.in_outage = _Either(local, self)
        self.failover = failover
        self._refreshed = -math.inf
        failover.on_return(self._carry_over)

    def block(
        self,
        kind: BlockKind,
        value: str,
        until: float,
        reason: str,
        action: BlockAction = "block",
    ) -> None:
        def shared() -> None:
            self.shared.block(kind, value, until, reason, action)
            self.copy.block(kind, value, until, reason, action)

        self.failover.run(shared, lambda: self.local.block(kind, value, until, reason, action))

    def is_blocked(self, kind: BlockKind, value: str, now: float) -> Block | None:
        def shared() -> Block | None:
            self.refresh(now)
            held = self.shared.is_blocked(kind, value, now)
            if held is not None:
                self.known(held)
            return held

        return self.failover.run(shared, lambda: self.in_outage.is_blocked(kind, value, now))

    def list(self, now: float) -> list[Block]:
        return self.failover.run(lambda: self.shared.list(now), lambda: self.in_outage.list(now))

    def unblock(self, kind: BlockKind, value: str) -> bool:
        def shared() -> bool:
            self.copy.unblock(kind, value)
            return self.shared.unblock(kind, value)

        return self.failover.run(shared, lambda: self.in_outage.unblock(kind, value))

    def known(self, block: Block) -> None:
        """A shared block met by a check, kept in the local copy."""
        self.copy.block(block.kind, block.value, block.until, block.reason, block.action)

    def refresh(self, now: float) -> None:
        """Read the whole shared list into the local copy, once per `REFRESH_SECONDS`; what was
        lifted elsewhere leaves the copy then. May raise `StateUnavailable`, as any shared call."""
        clock = self.failover.clock()
        if clock < self._refreshed + REFRESH_SECONDS:
            return
        self._refreshed = clock
        fresh = MemoryBlocks()
        for block in self.shared.list(now):
            fresh.block(block.kind, block.value, block.until, block.reason, block.action)
        self.copy = fresh

    def _carry_over(self) -> int:
        """Copy local blocks to the shared table, forgetting each once it is there."""
        held = self.local.list(-math.inf)
        for block in held:
            self.shared.block(block.kind, block.value, block.until, block.reason, block.action)
            self.local.unblock(block.kind, block.value)
        return len(held)


def _on_a_thread(probe: Callable[[], None]) -> None:
    threading.Thread(target=probe, name="apishield-state-probe", daemon=True).start()


class _Either:
    """The blocks a process answers from during an outage: those raised since it began, then
    its copy of the shared list. Lifting one lifts it from both."""

    def __init__(self, raised: MemoryBlocks, blocks: FailoverBlocks) -> None:
        self.raised = raised
        self.blocks = blocks

    def block(
        self,
        kind: BlockKind,
        value: str,
        until: float,
        reason: str,
        action: BlockAction = "block",
    ) -> None:
        self.raised.block(kind, value, until, reason, action)

    def is_blocked(self, kind: BlockKind, value: str, now: float) -> Block | None:
        held = self.raised.is_blocked(kind, value, now)
        return held if held is not None else self.blocks.copy.is_blocked(kind, value, now)

    def list(self, now: float) -> list[Block]:
        raised = self.raised.list(now)
        seen = {(b.kind, b.value) for b in raised}
        copied = [b for b in self.blocks.copy.list(now) if (b.kind, b.value) not in seen]
        return sorted([*raised, *copied], key=lambda b: -b.until)

    def unblock(self, kind: BlockKind, value: str) -> bool:
        lifted = self.raised.unblock(kind, value)
        return self.blocks.copy.unblock(kind, value) or lifted

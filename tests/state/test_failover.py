"""Failover to local memory while shared state is away: logged once, probed sparingly, undone.

A switchable stand-in plays Redis here, with a clock the test moves; the same wrappers over a
real Redis server that is killed and restarted are in tests/inline/test_shared_state.py.
"""

from __future__ import annotations

import logging
import math
import socket
import threading
import time
from typing import Any

import pytest
from redis import Redis

from apishield.limits import Block, BlockAction, BlockKind, CallByCall, Check, Draw, Take, limits_of
from apishield.state.failover import (
    REFRESH_SECONDS,
    Failover,
    FailoverBlocks,
    FailoverBuckets,
    FailoverLimits,
    FailoverState,
)
from apishield.state.memory import MemoryState
from apishield.state.memory_limits import MemoryBlocks, MemoryBuckets
from apishield.state.redis import RedisState
from apishield.state.redis_limits import RedisBlocks, RedisBuckets, RedisLimits
from apishield.stateful import StateUnavailable
from apishield.testing import T0


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Switch:
    """Whether the stand-in answers, and how often it was asked."""

    def __init__(self) -> None:
        self.up = True
        self.calls = 0

    def check(self) -> None:
        self.calls += 1
        if not self.up:
            raise StateUnavailable("Redis state at 127.0.0.1:6399/0 failed (ConnectionError)")


class Flaky:
    """Wraps a memory backend; every call first asks the switch."""

    def __init__(self, inner: Any, switch: Switch) -> None:
        self._inner = inner
        self._switch = switch

    def __getattr__(self, name: str) -> Any:
        if name == "limits_with":  # no combined step of its own: checks go call by call
            raise AttributeError(name)
        method = getattr(self._inner, name)

        def call(*args: Any) -> Any:
            self._switch.check()
            return method(*args)

        return call


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def switch() -> Switch:
    return Switch()


@pytest.fixture
def failover(clock: Clock) -> Failover:
    return Failover("redis 127.0.0.1:6399/0", probe_seconds=5.0, clock=clock)


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "apishield.state" and r.levelno == logging.WARNING
    ]


def test_calls_go_to_the_shared_backend_while_it_answers(
    failover: Failover, switch: Switch
) -> None:
    shared, local = MemoryBuckets(), MemoryBuckets()
    buckets = FailoverBuckets(Flaky(shared, switch), local, failover)
    assert buckets.take("k", T0, 1.0, 5) == Take(True, 4.0, 0.0)
    assert len(shared) == 1 and len(local) == 0
    assert not failover.degraded and failover.status()["outages"] == 0


def test_an_outage_is_logged_once_and_calls_are_answered_locally(
    failover: Failover, switch: Switch, caplog: pytest.LogCaptureFixture
) -> None:
    buckets = FailoverBuckets(Flaky(MemoryBuckets(), switch), MemoryBuckets(), failover)
    switch.up = False
    with caplog.at_level(logging.WARNING, "apishield.state"):
        takes = [buckets.take("k", T0, 0.001, 3) for _ in range(5)]
    # Still enforced, on this process's own bucket: three allowed, then refused.
    assert [t.allowed for t in takes] == [True, True, True, False, False]
    assert failover.degraded
    (warning,) = _warnings(caplog)
    assert "shared state unavailable" in warning and "127.0.0.1:6399" in warning
    assert failover.outages == 1 and failover.local_calls == 5
    assert switch.calls == 1  # only the first call waited for the dead backend


def test_a_dead_backend_is_tried_again_at_most_once_per_probe_interval(
    failover: Failover, switch: Switch, clock: Clock
) -> None:
    state = FailoverState(Flaky(MemoryState(), switch), MemoryState(), failover)
    switch.up = False
    state.count("k", T0, 60.0)
    for step in range(50):  # ten seconds of calls, five a second
        clock.now += 0.2
        state.count("k", T0 + step, 60.0)
    assert switch.calls == 1 + 2  # the failing call, then one probe per five seconds
    assert failover.degraded


def test_a_tally_fails_over_as_one_call(failover: Failover, switch: Switch) -> None:
    shared, local = MemoryState(), MemoryState()
    state = FailoverState(Flaky(shared, switch), local, failover)
    calls = [("k", None, 60.0, 1.0), ("d", "m", 60.0, 10.0)]
    assert state.tally(calls, T0) == [1.0, 1.0]
    switch.up = False
    assert state.tally(calls, T0 + 1) == [1.0, 1.0]  # all of it answered locally
    assert failover.degraded
    assert shared.count("k", T0 + 1, 60.0, 0.0) == 1.0
    assert local.count("k", T0 + 1, 60.0, 0.0) == 1.0


def test_the_first_probe_that_succeeds_ends_the_outage(
    failover: Failover, switch: Switch, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    shared, local = MemoryState(), MemoryState()
    state = FailoverState(Flaky(shared, switch), local, failover)
    switch.up = False
    state.save("r", 1.0, T0, 60.0)
    switch.up = True
    with caplog.at_level(logging.WARNING, "apishield.state"):
        assert state.load("r", float, T0) == 1.0  # not probed yet: the local record
        clock.now += 5.0
        assert state.load("r", float, T0) is None  # the probe: the shared backend again
        state.save("r", 2.0, T0, 60.0)
    assert not failover.degraded
    assert shared.load("r", float, T0) == 2.0
    assert "back after 5.0s" in _warnings(caplog)[-1]


def test_blocks_raised_during_an_outage_reach_the_shared_table_when_it_returns(
    failover: Failover, switch: Switch, clock: Clock
) -> None:
    shared, local = MemoryBlocks(), MemoryBlocks()
    blocks = FailoverBlocks(Flaky(shared, switch), local, failover)
    switch.up = False
    blocks.block("ip", "198.51.100.4", T0 + 600, "incident 3")
    assert blocks.is_blocked("ip", "198.51.100.4", T0) is not None  # enforced locally
    assert shared.list(T0) == []
    switch.up = True
    clock.now += 5.0
    assert blocks.is_blocked("ip", "198.51.100.4", T0) == Block(
        "ip", "198.51.100.4", T0 + 600, "incident 3"
    )
    assert [b.value for b in shared.list(T0)] == ["198.51.100.4"]
    assert len(local) == 0 and not failover.degraded


def test_blocks_carried_over_keep_their_action(
    failover: Failover, switch: Switch, clock: Clock
) -> None:
    shared, local = MemoryBlocks(), MemoryBlocks()
    blocks = FailoverBlocks(Flaky(shared, switch), local, failover)
    switch.up = False
    blocks.block("ip", "198.51.100.4", T0 + 600, "scanner", "tarpit")
    held = blocks.is_blocked("ip", "198.51.100.4", T0)
    assert held is not None and held.action == "tarpit"  # enforced locally, as configured
    switch.up = True
    clock.now += 5.0
    assert blocks.is_blocked("ip", "198.51.100.4", T0) == Block(
        "ip", "198.51.100.4", T0 + 600, "scanner", "tarpit"
    )
    blocks.block("ip", "198.51.100.5", T0 + 600, "scraper", "decoy")
    assert [b.action for b in shared.list(T0)] == ["tarpit", "decoy"]


def test_a_probe_that_fails_while_carrying_blocks_over_keeps_them(
    failover: Failover, switch: Switch, clock: Clock
) -> None:
    class HalfUp(MemoryBlocks):
        def block(
            self,
            kind: BlockKind,
            value: str,
            until: float,
            reason: str,
            action: BlockAction = "block",
        ) -> None:
            raise StateUnavailable("Redis state at 127.0.0.1:6399/0 failed (TimeoutError)")

    local = MemoryBlocks()
    blocks = FailoverBlocks(HalfUp(), local, failover)
    blocks.block("ip", "a", T0 + 60, "r")
    clock.now += 5.0
    assert blocks.is_blocked("ip", "a", T0) is not None
    assert failover.degraded and len(local) == 1


def test_each_outage_is_counted_and_logged(
    failover: Failover, switch: Switch, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    state = FailoverState(Flaky(MemoryState(), switch), MemoryState(), failover)
    with caplog.at_level(logging.WARNING, "apishield.state"):
        for _ in range(2):
            switch.up = False
            state.count("k", T0, 60.0)
            state.count("k", T0, 60.0)
            switch.up = True
            clock.now += 5.0
            state.count("k", T0, 60.0)
    assert failover.outages == 2 and not failover.degraded
    assert len(_warnings(caplog)) == 4  # each outage: one line when lost, one when back


def test_the_probe_interval_must_be_positive() -> None:
    with pytest.raises(ValueError, match="probe_seconds is 0"):
        Failover("redis", probe_seconds=0)


# The combined check


class FailsAfter(Switch):
    """Answers `calls` calls, then fails: a backend lost in the middle of a check."""

    def __init__(self, calls: int) -> None:
        super().__init__()
        self.left = calls

    def check(self) -> None:
        self.left -= 1
        self.up = self.left >= 0
        super().check()


def _limits(
    failover: Failover, switch: Switch
) -> tuple[FailoverLimits, FailoverBuckets, FailoverBlocks]:
    buckets = FailoverBuckets(Flaky(MemoryBuckets(), switch), MemoryBuckets(), failover)
    blocks = FailoverBlocks(Flaky(MemoryBlocks(), switch), MemoryBlocks(), failover)
    limits = limits_of(buckets, blocks)
    assert isinstance(limits, FailoverLimits)
    return limits, buckets, blocks


def test_the_check_pairs_the_shared_sides_and_the_local_ones(failover: Failover) -> None:
    client = Redis(host="127.0.0.1", port=1)  # never asked: pairing is local
    shared = (RedisBuckets(client, "p:"), RedisBlocks(client, "p:"))
    limits = limits_of(
        FailoverBuckets(shared[0], MemoryBuckets(), failover),
        FailoverBlocks(shared[1], MemoryBlocks(), failover),
    )
    assert isinstance(limits, FailoverLimits)
    # During an outage the blocks are those raised since and the copy of the shared list.
    assert isinstance(limits.shared, RedisLimits) and isinstance(limits.local, CallByCall)
    apart = limits_of(
        FailoverBuckets(shared[0], MemoryBuckets(), failover),
        FailoverBlocks(shared[1], MemoryBlocks(), Failover("elsewhere")),
    )
    assert isinstance(apart, CallByCall)
    other = Redis(host="127.0.0.1", port=1)
    assert isinstance(limits_of(shared[0], RedisBlocks(other, "p:")), CallByCall)
    client.close()
    other.close()


def test_the_check_goes_to_the_shared_backend_while_it_answers(
    failover: Failover, switch: Switch
) -> None:
    limits, buckets, _ = _limits(failover, switch)
    checked = limits.check([("ip", "a")], [Draw("k", 1.0, 5), Draw("j", 1.0, 2)], T0)
    assert checked == Check(None, [Take(True, 4, 0.0), Take(True, 1, 0.0)])
    # the block list read for the local copy, then the block lookup and the two takes
    assert switch.calls == 4 and len(buckets.local) == 0  # type: ignore[arg-type]
    assert failover.local_calls == 0


def test_a_check_cut_short_by_an_outage_is_answered_locally_as_a_whole(
    failover: Failover, caplog: pytest.LogCaptureFixture
) -> None:
    switch = FailsAfter(2)  # both block lookups, then the take fails
    limits, buckets, blocks = _limits(failover, switch)
    blocks.local.block("ip", "a", T0 + 60, "raised here")
    with caplog.at_level(logging.WARNING, "apishield.state"):
        found = limits.check([("ip", "b"), ("ip", "a")], [Draw("k", 1.0, 5)], T0)
    # The shared side holds no block; the local one answered every step, lookups included.
    assert found == Check(Block("ip", "a", T0 + 60, "raised here"), [])
    assert failover.degraded and failover.local_calls == 1
    assert len(_warnings(caplog)) == 1
    checked = limits.check([("ip", "b")], [Draw("k", 1.0, 5), Draw("j", 0.0, 1)] * 2, T0)
    spent = [Take(True, 4, 0.0), Take(True, 0, 0.0), Take(True, 3, 0.0)]
    assert checked.takes == [*spent, Take(False, 0, math.inf)]
    assert buckets.local.take("k", T0, 1.0, 5) == Take(True, 2, 0.0)
    assert failover.local_calls == 2


def test_blocks_raised_during_an_outage_are_found_by_the_first_check_after_it(
    failover: Failover, switch: Switch, clock: Clock
) -> None:
    limits, _, blocks = _limits(failover, switch)
    switch.up = False
    blocks.block("key", "0123456789abcdef", T0 + 600, "incident 5", "decoy")
    switch.up = True
    clock.now += 5.0
    found = limits.check([("ip", "a"), ("key", "0123456789abcdef")], [Draw("k", 1.0, 1)], T0)
    assert found == Check(Block("key", "0123456789abcdef", T0 + 600, "incident 5", "decoy"), [])
    assert not failover.degraded and len(blocks.local) == 0


def test_blocks_in_force_before_an_outage_hold_during_it(
    failover: Failover, switch: Switch, clock: Clock
) -> None:
    limits, _, blocks = _limits(failover, switch)
    blocks.block("ip", "a", T0 + 600, "placed here")  # through this process
    shared = blocks.shared
    shared.block("ip", "b", T0 + 600, "placed elsewhere", "tarpit")  # by another process
    limits.check([("ip", "c")], [Draw("k", 1.0, 5)], T0)  # reads the list: "b" is copied
    shared.block("ip", "d", T0 + 600, "placed elsewhere, later")
    switch.up = False
    assert limits.check([("ip", "a")], [], T0).block == Block("ip", "a", T0 + 600, "placed here")
    assert limits.check([("ip", "b")], [], T0).block == Block(
        "ip", "b", T0 + 600, "placed elsewhere", "tarpit"
    )
    # What was placed elsewhere after the last read is the one an outage does not see.
    assert limits.check([("ip", "d")], [], T0).block is None
    assert failover.degraded
    assert {b.value for b in blocks.list(T0)} == {"a", "b"}


def test_the_copy_is_read_again_and_drops_what_was_lifted_elsewhere(
    failover: Failover, switch: Switch, clock: Clock
) -> None:
    limits, _, blocks = _limits(failover, switch)
    shared = blocks.shared
    shared.block("ip", "b", T0 + 600, "placed elsewhere")
    limits.check([("ip", "c")], [], T0)
    shared.unblock("ip", "b")
    shared.block("ip", "e", T0 + 600, "placed elsewhere, later")
    clock.now += REFRESH_SECONDS
    limits.check([("ip", "c")], [], T0)  # the list is read again
    switch.up = False
    assert limits.check([("ip", "b")], [], T0).block is None
    assert limits.check([("ip", "e")], [], T0).block is not None


# Probes off the request path, for a backend that can say whether it answers (Redis's PING)


class Spawned:
    """Probes handed off by the failover, run when the test says."""

    def __init__(self) -> None:
        self.waiting: list[Any] = []

    def __call__(self, probe: Any) -> None:
        self.waiting.append(probe)

    def run(self) -> None:
        while self.waiting:
            self.waiting.pop(0)()


def _pinged(switch: Switch, clock: Clock, spawned: Spawned) -> Failover:
    return Failover(
        "redis 127.0.0.1:6399/0", probe_seconds=5.0, clock=clock, probe=switch.check, spawn=spawned
    )


def test_with_a_probe_no_call_waits_on_the_backend_during_an_outage(
    switch: Switch, clock: Clock
) -> None:
    spawned = Spawned()
    failover = _pinged(switch, clock, spawned)
    shared = MemoryState()
    state = FailoverState(Flaky(shared, switch), MemoryState(), failover)
    switch.up = False
    state.count("k", T0, 60.0)  # the call that finds the outage: the only one that waits
    for _ in range(50):  # ten seconds of calls: two probes fall due, neither run yet
        clock.now += 0.2
        state.count("k", T0, 60.0)
    assert switch.calls == 1 and failover.local_calls == 51
    assert len(spawned.waiting) == 1  # one probe out at a time, however long it takes
    spawned.run()
    assert switch.calls == 2 and failover.degraded  # the probe failed: still away
    switch.up = True
    clock.now += 5.0
    state.count("k", T0, 60.0)  # due again: handed off, and this call still answered locally
    assert shared.count("k", T0, 60.0, 0.0) == 0.0
    spawned.run()
    assert not failover.degraded and failover.probes == 2
    state.count("k", T0, 60.0)
    assert shared.count("k", T0, 60.0, 0.0) == 1.0


def test_a_probe_carries_the_outages_blocks_over(switch: Switch, clock: Clock) -> None:
    spawned = Spawned()
    failover = _pinged(switch, clock, spawned)
    shared, local = MemoryBlocks(), MemoryBlocks()
    blocks = FailoverBlocks(Flaky(shared, switch), local, failover)
    switch.up = False
    blocks.block("ip", "198.51.100.4", T0 + 600, "scanner", "tarpit")
    switch.up = True
    clock.now += 5.0
    assert blocks.is_blocked("ip", "198.51.100.4", T0) is not None  # from the local side
    spawned.run()
    assert not failover.degraded and len(local) == 0
    assert [(b.value, b.action) for b in shared.list(T0)] == [("198.51.100.4", "tarpit")]


def test_a_probe_that_raises_something_unexpected_keeps_the_outage(clock: Clock) -> None:
    def broken() -> None:
        raise OSError("no route to host")

    spawned = Spawned()
    failover = Failover("redis", clock=clock, probe=broken, spawn=spawned)
    switch = Switch()
    state = FailoverState(Flaky(MemoryState(), switch), MemoryState(), failover)
    switch.up = False
    state.count("k", T0, 60.0)
    clock.now += 5.0
    state.count("k", T0, 60.0)
    spawned.run()
    assert failover.degraded and "no route to host" in failover.last_error
    clock.now += 5.0
    state.count("k", T0, 60.0)
    assert len(spawned.waiting) == 1  # the next probe falls due as usual


def test_a_hung_redis_is_probed_on_a_thread_of_its_own() -> None:
    """A host that accepts connections and never answers: the first call waits for the
    timeout, and from then on only the probe thread talks to it."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    port = listener.getsockname()[1]
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                held.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    shared = RedisState.from_url(f"redis://127.0.0.1:{port}/0", timeout=0.2)
    callers: list[str] = []
    ping = shared.ping

    def probe() -> None:
        callers.append(threading.current_thread().name)
        ping()

    failover = Failover(f"redis 127.0.0.1:{port}/0", probe_seconds=0.01, probe=probe)
    state = FailoverState(shared, MemoryState(), failover)
    try:
        assert state.count("k", T0, 60.0) == 1.0  # waited, then answered locally
        assert failover.degraded and "Timeout" in failover.last_error
        calls, give_up = 0, time.monotonic() + 10.0  # a probe waits up to 2 timeouts
        while failover.probes < 2 and time.monotonic() < give_up:
            state.count("k", T0, 60.0)
            calls += 1
        for thread in threading.enumerate():
            if thread.name == "apishield-state-probe":
                thread.join(timeout=5.0)
        assert failover.probes >= 2 and failover.degraded
        assert failover.local_calls == 1 + calls
        assert callers and "MainThread" not in callers
    finally:
        shared.client.close()
        listener.close()
        for connection in held:
            connection.close()


def test_a_probe_that_cannot_start_is_tried_at_the_next_interval(
    switch: Switch, clock: Clock
) -> None:
    started: list[Any] = []

    def no_thread(probe: Any) -> None:
        if not started:
            started.append(None)
            raise RuntimeError("can't start new thread")
        probe()

    failover = Failover("redis", clock=clock, probe=switch.check, spawn=no_thread)
    state = FailoverState(Flaky(MemoryState(), switch), MemoryState(), failover)
    switch.up = False
    state.count("k", T0, 60.0)
    switch.up = True
    clock.now += 5.0
    state.count("k", T0, 60.0)  # the probe could not start: still away
    assert failover.degraded
    clock.now += 5.0
    state.count("k", T0, 60.0)
    assert not failover.degraded

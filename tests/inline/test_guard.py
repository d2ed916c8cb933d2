from __future__ import annotations

import gc
import threading
import time

import pytest

from apishield.detect.registry import Detection
from apishield.exchange import Action, Exchange, Finding, Severity
from apishield.inline.guard import Guard, Refusal, Tarpits
from apishield.testing import T0, make_exchange

from .conftest import MakeGuard


class Probe:
    """A stage that notes how many exchanges are inside the engine at once."""

    def __init__(self, name: str, inside: list[int], peak: list[int], gate: threading.Lock):
        self.name = name
        self._inside = inside
        self._peak = peak
        self._gate = gate

    def __call__(self, exchange: Exchange) -> None:
        with self._gate:
            self._inside[0] += 1
            self._peak[0] = max(self._peak[0], self._inside[0])
        # Yield the GIL so another thread would get in here if nothing kept it out.
        for _ in range(200):
            threading.Event().is_set()
        with self._gate:
            self._inside[0] -= 1


def test_both_phases_never_touch_the_engine_at_the_same_time(make_guard: MakeGuard) -> None:
    guard, analysed = make_guard()
    inside, peak, gate = [0], [0], threading.Lock()
    pipeline = guard.engine.pipeline
    pipeline.request_stages = [Probe("probe", inside, peak, gate), *pipeline.request_stages]
    # Last among the stages the request phase shares state with: just before the detectors.
    stages = list(pipeline.response_stages)
    at = stages.index(guard.engine.detect)
    pipeline.response_stages = [*stages[:at], Probe("probe", inside, peak, gate), *stages[at:]]
    guard._shared = slice(0, at + 1)
    start = threading.Barrier(8)

    def client(n: int) -> None:
        start.wait()
        for i in range(50):
            exchange = make_exchange(path=f"/customers/{n * 1000 + i}", started=T0 + i)
            guard.check(exchange)
            guard.submit(exchange)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    guard.flush()
    assert peak[0] == 1
    assert analysed.qsize() + guard.dropped == 400
    assert guard.errors == {} and pipeline.errors == {}
    assert guard.engine.inventory.endpoints  # the worker really learned from them


class Detects:
    """Stands for a detector: a high detection of `finding` about each exchange's actor."""

    name = "detects"

    def __init__(self, guard: Guard, finding: Finding) -> None:
        self.correlator = guard.engine.detect.correlator
        self.finding = finding

    def __call__(self, exchange: Exchange) -> None:
        assert exchange.actor is not None
        self.correlator.add(
            Detection(
                self.finding,
                f"actor:{exchange.actor.key}",
                exchange.actor.key,
                exchange.actor.ip,
                "GET /customers/{id}",
                exchange.started,
            )
        )
        exchange.findings.append(self.finding)


def test_a_slow_detector_never_holds_up_the_request_phase(make_guard: MakeGuard) -> None:
    guard, _ = make_guard()
    entered, release = threading.Event(), threading.Event()

    class Slow:
        """Stands for detector state on a Redis that is slow to answer."""

        name = "slow"

        def __call__(self, exchange: Exchange) -> None:
            entered.set()
            release.wait(10)

    pipeline = guard.engine.pipeline
    pipeline.response_stages = [*pipeline.response_stages, Slow()]
    first = make_exchange(path="/customers/1", started=T0)
    guard.check(first)
    guard.submit(first)
    assert entered.wait(10)
    try:
        began = time.monotonic()
        assert guard.check(make_exchange(path="/customers/2", started=T0 + 1)) is not None
        assert time.monotonic() - began < 5  # not the 10 s the slow stage holds
    finally:
        release.set()
    guard.flush()


def test_a_severe_actor_incident_blocks_the_actor_until_it_expires(make_guard: MakeGuard) -> None:
    guard, _ = make_guard(enforce={"auto_block": {"block_seconds": 600}})
    finding = Finding("bulk.records", "Bulk access to personal data", Severity.HIGH)
    pipeline = guard.engine.pipeline
    pipeline.response_stages = [*pipeline.response_stages, Detects(guard, finding)]
    first = make_exchange(path="/customers/1", peer_ip="198.51.100.3", started=T0)
    assert guard.check(first) is not None and not first.decision.refuses
    guard.submit(first)
    guard.flush()
    (block,) = guard.policy.blocks.list(T0)
    assert (block.kind, block.value, block.until) == ("ip", "198.51.100.3", T0 + 600)
    later = make_exchange(path="/customers/2", peer_ip="198.51.100.3", started=T0 + 10)
    decision = guard.check(later)
    assert decision is not None and decision.action is Action.BLOCK
    assert decision.rule == "enforce.block.ip"
    refusal = guard.refusal(decision)
    assert refusal is not None and refusal.status == 403
    expired = make_exchange(path="/customers/3", peer_ip="198.51.100.3", started=T0 + 600)
    again = guard.check(expired)
    assert again is not None and again.action is Action.ALLOW


def test_a_failing_response_phase_is_counted_and_the_worker_goes_on(
    make_guard: MakeGuard,
) -> None:
    guard, analysed = make_guard()
    calls: list[str] = []

    def flaky(exchange: Exchange) -> None:
        calls.append(exchange.request.path)
        if len(calls) == 1:
            raise RuntimeError("sink down")
        analysed.put(exchange)

    guard.on_processed = flaky
    for path in ("/a", "/b"):
        exchange = make_exchange(path=path)
        guard.check(exchange)
        guard.submit(exchange)
    guard.flush()
    assert calls == ["/a", "/b"]
    assert guard.errors["response"] == 1
    assert analysed.get_nowait().request.path == "/b"
    assert guard.stats()["errors"] == {"response": 1}


SCANNER = Finding("scan.attack-requests", "Repeated attack payloads (scanner)", Severity.HIGH)


def test_an_incident_with_a_bot_rule_tarpits_its_actor(make_guard: MakeGuard) -> None:
    guard, _ = make_guard(enforce={"bots": {"action": "tarpit", "tarpit_seconds": 2.5}})
    pipeline = guard.engine.pipeline
    pipeline.response_stages = [*pipeline.response_stages, Detects(guard, SCANNER)]
    first = make_exchange(path="/search", peer_ip="198.51.100.66", started=T0)
    guard.check(first)
    guard.submit(first)
    guard.flush()
    (block,) = guard.policy.blocks.list(T0)
    assert (block.value, block.action) == ("198.51.100.66", "tarpit")
    assert "bot: scan.attack-requests" in block.reason
    later = make_exchange(path="/search", peer_ip="198.51.100.66", started=T0 + 10)
    decision = guard.check(later)
    assert decision is not None and decision.action is Action.TARPIT and decision.refuses
    refusal = guard.refusal(decision, later)
    assert refusal is not None and (refusal.status, refusal.delay) == (429, 2.5)
    assert dict(refusal.headers)["retry-after"] == "3"
    response = refusal.response()
    assert response is not None and response.status == 429


def test_an_incident_with_a_bot_rule_decoys_its_actor(make_guard: MakeGuard) -> None:
    guard, _ = make_guard(
        enforce={"bots": {"action": "decoy", "decoys": {"GET /search": {"results": []}}}}
    )
    pipeline = guard.engine.pipeline
    pipeline.response_stages = [*pipeline.response_stages, Detects(guard, SCANNER)]
    first = make_exchange(path="/search", peer_ip="198.51.100.67", started=T0)
    guard.check(first)
    guard.submit(first)
    guard.flush()
    later = make_exchange(path="/search", peer_ip="198.51.100.67", started=T0 + 10)
    decision = guard.check(later)
    assert decision is not None and decision.action is Action.DECOY
    refusal = guard.refusal(decision, later)
    assert refusal is not None and refusal.status == 200 and refusal.delay == 0.0
    assert refusal.body == b'{"results":[]}' and refusal.response() is None


def test_the_tarpit_cap_answers_at_once_and_frees_its_slot_however_the_wait_ends() -> None:
    tarpits = Tarpits(1)
    slow, plain = Refusal(429, (), b"", delay=5.0), Refusal(403, (), b"")
    with tarpits.hold(slow) as first, tarpits.hold(slow) as second, tarpits.hold(plain) as none:
        assert (first, second, none) == (5.0, 0.0, 0.0)
    with pytest.raises(TimeoutError), tarpits.hold(slow) as wait:
        assert wait == 5.0
        raise TimeoutError("the client went away")
    assert tarpits.stats() == {"holding": 0, "held": 2, "at_once": 1}
    with Tarpits(0).hold(slow) as never:
        assert never == 0.0


class Campaign:
    """Stands for a campaign detector: every exchange's actor takes part in one distributed
    enumeration; only the first detection is fresh, the rest are repeats inside the cool-down."""

    name = "campaign"

    def __init__(self, guard: Guard) -> None:
        self.correlator = guard.engine.detect.correlator
        self.finding = Finding(
            "enum.regular-clients", "Many machine-regular clients on one endpoint", Severity.HIGH
        )

    def __call__(self, exchange: Exchange) -> None:
        assert exchange.actor is not None
        fresh = self.correlator.detections == 0
        scope = "campaign:enum.regular-clients:GET /numbers/{phone}"
        actor = exchange.actor
        endpoint = "GET /numbers/{phone}"
        detection = Detection(
            self.finding, scope, actor.key, actor.ip, endpoint, exchange.started, fresh
        )
        self.correlator.add(detection)
        if fresh:
            exchange.findings.append(self.finding)


@pytest.mark.parametrize("members", [True, False])
def test_a_bot_campaign_blocks_each_member_ip_only_when_configured(
    make_guard: MakeGuard, members: bool
) -> None:
    enforce = {
        "auto_block": {"campaign_members": members},
        "bots": {"action": "tarpit"},
    }
    guard, _ = make_guard(enforce=enforce)
    pipeline = guard.engine.pipeline
    pipeline.response_stages = [*pipeline.response_stages, Campaign(guard)]
    ips = [f"203.0.113.{n}" for n in range(1, 6)]
    for n, ip in enumerate(ips):
        exchange = make_exchange(path=f"/numbers/+4479460{n:05d}", peer_ip=ip, started=T0 + n)
        guard.check(exchange)
        guard.submit(exchange)
    guard.flush()
    blocks = guard.policy.blocks.list(T0 + 10)
    if not members:
        assert blocks == []
        return
    # Every member, the repeats included, blocked by IP with the bots' action.
    assert sorted(block.value for block in blocks) == ips
    assert {(block.kind, block.action) for block in blocks} == {("ip", "tarpit")}
    assert all("bot: enum.regular-clients" in block.reason for block in blocks)


def test_a_guard_hides_what_lives_at_start_up_from_the_cycle_collector(
    make_guard: MakeGuard,
) -> None:
    gc.unfreeze()
    try:
        make_guard(analysis={"freeze_gc": False})
        assert gc.get_freeze_count() == 0
        make_guard()  # the default
        assert gc.get_freeze_count() > 10_000  # the guard's signatures and models among them
    finally:
        gc.unfreeze()

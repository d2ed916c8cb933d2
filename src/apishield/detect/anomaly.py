"""Traffic, error and latency anomalies per endpoint, per identity and overall, against baselines.

Each endpoint (and all traffic together, as "*") keeps, per hour of the day, a running mean and
variance of its distinct clients per minute, so a nightly batch at 02:00 is normal at 02:00 and a
surge at 14:00 is judged against 14:00; an identity's baseline is its requests per active
minute. A minute is anomalous when it is far above the mean in standard deviations and in ratio,
with a floor so quiet endpoints are not judged on noise. Error and latency anomalies are
operational first, so they are reported low.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from apishield.detect.observation import Observation
from apishield.detect.registry import Detection, actor_scope, campaign_scope, detected, fired_before
from apishield.exchange import Finding, Severity
from apishield.stateful import State

ALPHA = 0.05
"""Weight of a new minute in a slot's running mean: about the last twenty of that hour's minutes,
which spans a day of history once the hour has passed once."""
SIGMAS = 6.0
RATIO = 5.0
FLOOR = 30
MIN_MINUTES = 120
"""Minutes a slot must have seen before it judges: two passes of that hour of the day."""
ERROR_FLOOR = 20
SLOW_FLOOR = 30
MAX_ACTORS = 4096
_TTL = 8 * 86_400.0
_ACTORS = "baseline-actors:"


@dataclass(slots=True)
class Slot:
    mean: float = 0.0
    var: float = 0.0
    minutes: int = 0

    def __init__(  # the dataclass signature, written out: see `exchange.Exchange.__init__`
        self, mean: float = 0.0, var: float = 0.0, minutes: int = 0
    ) -> None:
        self.mean = mean
        self.var = var
        self.minutes = minutes

    def add(self, value: float) -> None:
        if self.minutes == 0:
            self.mean = value
        else:
            delta = value - self.mean
            self.mean += ALPHA * delta
            self.var = (1 - ALPHA) * (self.var + ALPHA * delta * delta)
        self.minutes += 1

    def limit(self) -> float:
        return max(self.mean + SIGMAS * math.sqrt(self.var) + FLOOR, RATIO * self.mean)


@dataclass(slots=True)
class Baseline:
    sparse: bool = False
    """Judge only active minutes: an identity's usual pace when it is busy, not its idle hours."""
    minute: int = -1
    requests: int = 0
    actors: int = 0
    """Distinct actors this minute (capped): endpoint and global spikes count these, so one
    client's burst (a fleet manager reading sixty lines) is that client's anomaly, not the
    endpoint's. Floods from a few addresses are the rate rules' to catch. The actors
    themselves are a distinct set in the state (`_ACTORS`), one per minute, so this record
    stays a few hundred bytes however busy the endpoint is."""
    errors: int = 0
    latency: float = 0.0
    slots: list[Slot] = field(default_factory=list)
    """One per hour of the day, made when the first minute closes: most identities never get
    that far, and 24 slots each would be most of the detector's memory."""
    error_share: float = 0.0
    mean_latency: float = 0.0

    def roll(self, now: float) -> None:
        minute = int(now // 60)
        if minute == self.minute:
            return
        if self.minute >= 0:
            self._close(minute)
        self.minute, self.requests, self.actors, self.errors, self.latency = minute, 0, 0, 0, 0.0

    @property
    def measure(self) -> int:
        return self.requests if self.sparse else self.actors

    def _close(self, minute: int) -> None:
        if not self.slots:
            self.slots = [Slot() for _ in range(24)]
        self.slots[(self.minute // 60) % 24].add(self.measure)
        if not self.sparse:
            for quiet in range(self.minute + 1, min(minute, self.minute + 61)):
                self.slots[(quiet // 60) % 24].add(0)
        if self.requests:
            share = self.errors / self.requests
            self.error_share += ALPHA * (share - self.error_share)
            self.mean_latency += ALPHA * (self.latency / self.requests - self.mean_latency)


class TrafficAnomaly:
    name = "anomaly"

    def observe(self, o: Observation, state: State) -> Sequence[Detection]:
        endpoint = self._judge(o, state, o.roles.endpoint)
        overall = self._judge(o, state, "*")
        own = self._judge(o, state, o.actor) if o.authenticated else None
        if endpoint is None and overall is None and own is None:
            return ()
        return [d for d in (endpoint, overall, own) if d is not None]

    def _judge(self, o: Observation, state: State, endpoint: str) -> Detection | None:
        now = o.time
        key = "baseline:" + endpoint
        baseline = state.load(key, Baseline, now)
        if baseline is None:
            baseline = Baseline(sparse=endpoint == o.actor)
        if int(now // 60) != baseline.minute:
            baseline.roll(now)
        baseline.requests += 1
        if not baseline.sparse:
            # Keyed by the minute, so the window never reaches into the minute before.
            members = f"{_ACTORS}{endpoint}:{baseline.minute}"
            baseline.actors = state.distinct(members, o.actor, now, 60.0, MAX_ACTORS)
        if o.status >= 500:
            baseline.errors += 1
        baseline.latency += o.duration
        state.save(key, baseline, now, _TTL)
        if not o.warm or not baseline.slots:
            return None
        slot = baseline.slots[(baseline.minute // 60) % 24]
        if slot.minutes < MIN_MINUTES:
            return None
        finding = _finding(baseline, slot, endpoint)
        if finding is None:
            return None
        fresh = not fired_before(state, f"fired:{finding.rule_id}:{endpoint}", o.time, 600.0)
        if endpoint == o.actor:
            # One identity's own spike: a weak signal alone, evidence beside others.
            finding = Finding(
                finding.rule_id + "-identity",
                finding.title + " (one identity)",
                Severity.LOW,
                finding.evidence,
                finding.category,
            )
            scope = actor_scope(o)
        elif endpoint == "*":
            scope = "campaign:traffic:*"
        else:
            scope = campaign_scope(finding.rule_id, o)
        return detected(finding, scope, o, fresh)


def _finding(baseline: Baseline, slot: Slot, endpoint: str) -> Finding | None:
    scope = "all traffic" if endpoint == "*" else endpoint
    if baseline.measure > slot.limit():
        unit = "requests" if baseline.sparse else "clients"
        return Finding(
            "anomaly.traffic-spike",
            "Traffic far above this hour's baseline",
            Severity.MEDIUM,
            {
                "scope": scope,
                f"{unit}_this_minute": str(baseline.measure),
                f"usual_{unit}_per_minute": f"{slot.mean:.1f}",
                "requests_this_minute": str(baseline.requests),
            },
            "API4:2023",
        )
    if (
        baseline.errors >= ERROR_FLOOR
        and baseline.errors / baseline.requests > 10 * baseline.error_share + 0.3
    ):
        return Finding(
            "anomaly.error-spike",
            "Server errors far above the usual share",
            Severity.LOW,
            {
                "scope": scope,
                "errors_this_minute": str(baseline.errors),
                "usual_share": f"{baseline.error_share:.3f}",
            },
            "API8:2023",
        )
    if (
        baseline.requests >= SLOW_FLOOR
        and baseline.mean_latency > 0
        and baseline.latency / baseline.requests > RATIO * baseline.mean_latency
    ):
        return Finding(
            "anomaly.latency-spike",
            "Latency far above the usual",
            Severity.LOW,
            {
                "scope": scope,
                "mean_ms_this_minute": f"{1000 * baseline.latency / baseline.requests:.0f}",
                "usual_ms": f"{1000 * baseline.mean_latency:.0f}",
            },
            "API4:2023",
        )
    return None

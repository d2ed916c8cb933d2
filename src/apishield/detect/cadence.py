"""Machine-regular clients, and many of them on one endpoint at once.

People are irregular; scripts sleep a fixed interval. One regular client is a health check or an
integration; dozens of regular addresses on one endpoint at the same time are one operator
spreading a job over proxies (the two-second cadence of the telecom enumeration case).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from apishield.detect.observation import Observation
from apishield.detect.registry import Detection, campaign_scope, detected, fired_before
from apishield.exchange import Finding, Severity
from apishield.stateful import State

GAPS = 8
"""Inter-arrival gaps judged per client and endpoint."""
MAX_GAP = 120.0
"""Gaps longer than this are not a cadence worth judging."""
MAX_SPREAD = 0.1
"""Coefficient of variation below which a cadence is machine-regular."""
CAMPAIGN_WINDOW = 600.0
CAMPAIGN_CLIENTS = 20
_TTL = 3_600.0
_REPEAT = Finding(
    "enum.regular-clients",
    "Many machine-regular clients on one endpoint (distributed automation)",
    Severity.HIGH,
    {},
    "API6:2023",
)
"""The finding of a repeat inside the cool-down: counted into its incident, shown nowhere, so
it carries no evidence."""


@dataclass(slots=True)
class Cadence:
    last: float
    gaps: list[float] = field(default_factory=list)

    def __init__(  # the dataclass signature, written out: see `exchange.Exchange.__init__`
        self, last: float, gaps: list[float] | None = None
    ) -> None:
        self.last = last
        self.gaps = [] if gaps is None else gaps

    def add(self, now: float) -> None:
        gap = now - self.last
        self.last = now
        if gap > MAX_GAP:
            self.gaps.clear()
            return
        self.gaps.append(gap)
        if len(self.gaps) > GAPS:
            del self.gaps[0]

    @property
    def mean(self) -> float:
        return sum(self.gaps) / len(self.gaps) if self.gaps else 0.0

    @property
    def regular(self) -> bool:
        gaps = self.gaps
        if len(gaps) < GAPS:
            return False
        mean = sum(gaps) / GAPS
        if mean <= 0:
            return False
        # Plain arithmetic: statistics.pstdev is exact (fractions) and fifty times slower.
        variance = sum((gap - mean) * (gap - mean) for gap in gaps) / GAPS
        return variance < (MAX_SPREAD * mean) ** 2


class RegularClients:
    name = "cadence"

    def observe(self, o: Observation, state: State) -> Sequence[Detection]:
        key = f"cadence:{o.ip}:{o.roles.endpoint}"
        cadence = state.load(key, Cadence, o.time)
        if cadence is None:
            state.save(key, Cadence(o.time), o.time, _TTL)
            return ()
        cadence.add(o.time)
        state.save(key, cadence, o.time, _TTL)
        if not cadence.regular:
            return ()
        group = f"cadence:clients:{o.roles.endpoint}"
        clients = state.distinct(group, o.ip, o.time, CAMPAIGN_WINDOW, 4 * CAMPAIGN_CLIENTS)
        if clients < CAMPAIGN_CLIENTS:
            return ()
        fresh = not fired_before(state, f"fired:{group}", o.time, CAMPAIGN_WINDOW)
        finding = _REPEAT
        if fresh:
            finding = Finding(
                _REPEAT.rule_id,
                _REPEAT.title,
                _REPEAT.severity,
                {
                    "regular_clients_10m": str(clients),
                    "cadence_seconds": f"{cadence.mean:.2f}",
                    "endpoint": o.roles.endpoint,
                },
                _REPEAT.category,
            )
        scope = campaign_scope(_REPEAT.rule_id, o)
        return [detected(finding, scope, o, fresh)]

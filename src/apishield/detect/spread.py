"""Distributed enumeration by spread: many addresses that each ask an endpoint once or twice.

Rotating through a proxy pool keeps every address under every per-IP limit; what it cannot hide
is the number of addresses that appear on one endpoint, ask once or twice, and are gone. Per
endpoint with an object, a login or a reset, the addresses seen at most twice in the last hour
are counted per ten minutes and judged against that endpoint's baseline for the same hour of the
day, like the traffic anomalies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from apishield.detect.anomaly import Slot
from apishield.detect.observation import Observation
from apishield.detect.registry import Detection, campaign_scope, detected, fired_before
from apishield.exchange import Finding, Severity
from apishield.stateful import State

WINDOW = 600.0
"""Addresses are counted per ten minutes: long enough for a 2-second cadence to add up."""
MEMORY = 3_600.0
"""How long an address's requests to an endpoint are remembered."""
FEW = 2
FLOOR = 50
"""Fewer one-shot addresses than this in ten minutes is never a campaign."""
MIN_WINDOWS = 12
"""Windows a slot must have seen before it judges: two passes of that hour of the day."""
_TTL = 8 * 86_400.0


@dataclass(slots=True)
class Spread:
    window: int = -1
    one_shot: int = 0
    """Addresses seen at most `FEW` times in `MEMORY` that first asked in this window."""
    slots: list[Slot] = field(default_factory=lambda: [Slot() for _ in range(24)])

    def roll(self, now: float) -> None:
        window = int(now // WINDOW)
        if window == self.window:
            return
        if self.window >= 0:
            self.slots[_hour(self.window)].add(self.one_shot)
            for quiet in range(self.window + 1, min(window, self.window + 7)):
                self.slots[_hour(quiet)].add(0)
        self.window, self.one_shot = window, 0


def _hour(window: int) -> int:
    return int(window * WINDOW // 3_600) % 24


class OneShotClients:
    name = "spread"

    def observe(self, o: Observation, state: State) -> Sequence[Detection]:
        roles = o.roles
        if not (roles.object_params or roles.login or roles.credential_reset):
            return ()
        asked = state.count(f"spread:{roles.endpoint}:{o.ip}", o.time, MEMORY)
        key = f"spread:{roles.endpoint}"
        spread = state.load(key, Spread, o.time) or Spread()
        spread.roll(o.time)
        if asked <= 1.0:
            spread.one_shot += 1
        elif FEW < asked <= FEW + 1 and spread.one_shot > 0:
            spread.one_shot -= 1  # no longer a one-shot address
        state.save(key, spread, o.time, _TTL)
        slot = spread.slots[_hour(spread.window)]
        if not o.warm or slot.minutes < MIN_WINDOWS:
            return ()
        limit = max(FLOOR, slot.limit())
        if spread.one_shot <= limit:
            return ()
        finding = Finding(
            "enum.one-shot-ips",
            "Many addresses each asking one endpoint once or twice",
            Severity.MEDIUM,
            {
                "one_shot_addresses_10min": str(spread.one_shot),
                "usual_per_10min": f"{slot.mean:.1f}",
            },
            "API6:2023",
        )
        scope = campaign_scope(finding.rule_id, o)
        fresh = not fired_before(state, f"fired:{scope}", o.time, WINDOW)
        return [detected(finding, scope, o, fresh)]

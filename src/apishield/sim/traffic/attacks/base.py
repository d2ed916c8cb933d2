"""What an attack scenario is: a name, when it starts, who the attackers are, and its traffic.

Every scenario draws its public addresses from first octets no other actor uses, so "the
request came from one of the scenario's IPs" labels its traffic exactly: the ground truth can
be joined to the requests by client IP. Identities and API keys are listed too, but may be
shared with benign traffic (a victim's account, a partner's leaked key); each scenario's notes
say so.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from apishield.sim.traffic.calendar import DAY, Calendar
from apishield.sim.traffic.timeline import Flow, Stream
from apishield.sim.traffic.world import World

REFERENCE_DAYS = 7
"""Onsets are set for a week; shorter windows scale them (see `onset`)."""


@dataclass(slots=True)
class Actors:
    ips: list[str] = field(default_factory=list)
    identities: list[str] = field(default_factory=list)
    """JWT subjects the attacker used (own accounts, mules, or accounts taken over)."""
    api_keys: list[str] = field(default_factory=list)
    user_agents: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Attack:
    streams: list[Stream]
    actors: Actors
    notes: str = ""


Build = Callable[[World, float, random.Random], Attack]


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    letter: str
    kind: str
    category: str
    """OWASP API Security Top 10 (2023)."""
    description: str
    day: int
    """Day of the week-long window it starts on (0-based), after at least two benign days."""
    hour: float
    """UTC hour of that day."""
    build: Build

    def onset(self, calendar: Calendar) -> float:
        """On its day and hour when the window reaches it; in a shorter window the last day
        that exists; in a window of less than a day, the same fraction of the way through."""
        last_day = max(int(calendar.days - 1e-9), 0)
        start = calendar.start + min(self.day, last_day) * DAY + self.hour * 3600
        if start < calendar.end:
            return start
        share = (self.day * 24 + self.hour) / (REFERENCE_DAYS * 24)
        return calendar.start + (calendar.end - calendar.start) * share


def stream(name: str, flows: list[tuple[float, Flow]]) -> Stream:
    """One stream of the scenario's flows, sorted by start."""
    flows.sort(key=lambda item: item[0])
    opens = flows[0][0] if flows else 0.0
    return Stream(f"scenario:{name}", iter(flows), opens)

"""The one detector signature, and what a detector reports: a finding with its scope.

A detector is a plain object with a `name` and `observe(observation, state)`; it reads the event
time from the observation and keeps everything it remembers in `state`, so the same detector runs
in one process or many.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from apishield.detect.observation import Observation
from apishield.exchange import Finding
from apishield.stateful import State


@dataclass(slots=True, frozen=True)
class Detection:
    finding: Finding
    scope: str
    """What the incident is about: "actor:<key>" for one actor, "campaign:<rule>:<endpoint>"
    for many actors working one target together."""
    actor: str
    """The actor of the observation that tipped the detection (one of the campaign's)."""
    ip: str
    endpoint: str
    time: float
    fresh: bool = True
    """False for a repeat inside the rule's cool-down: it adds actors and counts, not alerts."""


class Detector(Protocol):
    name: str

    def observe(self, observation: Observation, state: State) -> Iterable[Detection]: ...


def actor_scope(observation: Observation) -> str:
    return f"actor:{observation.actor}"


def campaign_scope(rule_id: str, observation: Observation) -> str:
    return f"campaign:{rule_id}:{observation.roles.endpoint}"


def fired_before(state: State, key: str, now: float, cooldown: float) -> bool:
    """True if `key` fired within `cooldown`; marks it fired otherwise. One alert per window."""
    if state.load(key, float, now) is not None:
        return True
    state.save(key, now, now, cooldown)
    return False

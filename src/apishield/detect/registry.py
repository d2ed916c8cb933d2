"""The one detector signature, and what a detector reports: a finding with its scope.

A detector is a plain object with a `name` and `observe(observation, state)`; it reads the event
time from the observation and keeps everything it remembers in `state`, so the same detector runs
in one process or many.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
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


def detected(finding: Finding, scope: str, o: Observation, fresh: bool = True) -> Detection:
    """The detection `o` tipped; a fresh one's finding carries `scope` onto the exchange."""
    if fresh:
        finding = replace(finding, scope=scope)
    return Detection(finding, scope, o.actor, o.ip, o.roles.endpoint, o.time, fresh)


def actor_scope(observation: Observation) -> str:
    return f"actor:{observation.actor}"


def ip_scope(ip: str) -> str:
    """An address as an actor, named as `Actor.key` names a request without credentials: what a
    rule counted by IP is about, whatever credentials the requests carried."""
    return f"actor:ip:{ip}"


def campaign_scope(rule_id: str, observation: Observation) -> str:
    return f"campaign:{rule_id}:{observation.roles.endpoint}"


def fired_before(state: State, key: str, now: float, cooldown: float) -> bool:
    """True if `key` fired within `cooldown`; marks it fired otherwise. One alert per window."""
    if state.load(key, float, now) is not None:
        return True
    state.save(key, now, now, cooldown)
    return False

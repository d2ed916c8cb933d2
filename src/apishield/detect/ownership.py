"""BOLA by ownership: an identity reading objects that belong to other identities.

An object (a keyed hash of an ID in the path) belongs to the first few identities that read it
successfully, the way a customer's account number is first read by that customer's own app.
Identities that read objects in bulk (a partner integration, a nightly batch) claim nothing: they
would otherwise own everyone's accounts before their owners log in. An identity that starts
reading objects held by others, many of them in an hour and more than it or its peers ever did,
is walking IDs that are not its own; a read of someone else's object right after a run of refusals
is the moment a walk finds one that opens.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from apishield.detect.observation import Observation
from apishield.detect.profile import Peers
from apishield.detect.registry import Detection, actor_scope, detected, fired_before
from apishield.exchange import Finding, Severity
from apishield.stateful import State

DAY = 86_400.0
HOUR = 3_600.0
HOLDERS = 3
"""Identities an object belongs to: a customer, a second device's identity, a family member."""
CLAIM_LIMIT = 256
"""Distinct objects an identity may claim a day; past it the identity is a bulk reader."""
FLOOR = 10
"""Fewer foreign objects than this in an hour is never a walk: shared family lines, support."""
OWN_FACTOR = 4
PEER_FACTOR = 3
PEER_QUANTILE = 0.95
REFUSALS = 5
"""Distinct objects refused in the last hour before a foreign read counts as "after failures"."""
_CAP = 1024
_TTL = 30 * DAY


@dataclass(slots=True)
class Holders:
    actors: list[str] = field(default_factory=list)

    def __init__(  # the dataclass signature, written out: see `exchange.Exchange.__init__`
        self, actors: list[str] | None = None
    ) -> None:
        self.actors = [] if actors is None else actors


@dataclass(slots=True)
class ForeignHistory:
    """An identity's hourly peaks of distinct foreign objects."""

    first_seen: float
    hour: int = -1
    hour_peak: int = 0
    max_hourly: int = 0

    def roll(self, now: float) -> int | None:
        """Move to the hour of `now`; returns the finished hour's peak when one just ended."""
        hour = int(now // HOUR)
        if hour == self.hour:
            return None
        finished = self.hour_peak if self.hour >= 0 else None
        if finished is not None:
            self.max_hourly = max(self.max_hourly, finished)
        self.hour, self.hour_peak = hour, 0
        return finished


class ObjectOwnership:
    name = "ownership"

    def observe(self, o: Observation, state: State) -> Sequence[Detection]:
        if not o.authenticated or not o.objects:
            return ()
        if not o.ok:
            if o.denied or o.missing:
                state.distinct(f"refused:{o.actor}", o.objects[-1], o.time, HOUR, 64)
            return ()
        foreign = self._foreign(o, state)
        history = state.load(f"foreign:{o.actor}", ForeignHistory, o.time)
        if history is None:
            history = ForeignHistory(first_seen=o.time)
        finished = history.roll(o.time)
        peers = None
        # The peer group's record is read only when an hour closes or a judgement needs it.
        if finished is not None or (foreign and o.warm):
            peers_key = f"foreign-peers:{o.actor.partition(':')[0]}"
            peers = state.load(peers_key, Peers, o.time) or Peers()
            if finished is not None:
                peers.add(finished)
                state.save(peers_key, peers, o.time, _TTL)
        detections = self._judge(o, state, foreign, history, peers) if foreign else ()
        state.save(f"foreign:{o.actor}", history, o.time, _TTL)
        return detections

    def _foreign(self, o: Observation, state: State) -> list[str]:
        """The request's objects held by others. Under an object the identity holds (a fleet
        manager's own customer number before each of the company's lines), the rest of the path is
        within its own scope: it shares those objects rather than reading someone else's."""
        outer, *inner = o.objects
        if self._held(outer, o, state):
            for obj in inner:
                self._held(obj, o, state, share=True)
            return []
        return [outer, *(obj for obj in inner if not self._held(obj, o, state))]

    def _held(self, obj: str, o: Observation, state: State, *, share: bool = False) -> bool:
        """Whether `o.actor` holds `obj`; claims it when nobody holds it yet, or too few do."""
        key = f"holders:{obj}"
        holders = state.load(key, Holders, o.time)
        if holders is not None and o.actor in holders.actors:
            return True
        if holders is not None and len(holders.actors) >= HOLDERS:
            return share
        claimed = state.distinct(f"claims:{o.actor}", obj, o.time, DAY, CLAIM_LIMIT + 1)
        if claimed > CLAIM_LIMIT:
            return holders is None  # a bulk reader claims nothing, and nobody's is not foreign
        if holders is None:
            state.save(key, Holders([o.actor]), o.time, _TTL)
            return True
        # Someone already holds it: a second holder is foreign on this first read, then shares it.
        holders.actors.append(o.actor)
        state.save(key, holders, o.time, _TTL)
        return share

    def _judge(
        self,
        o: Observation,
        state: State,
        foreign: list[str],
        history: ForeignHistory,
        peers: Peers | None,
    ) -> Sequence[Detection]:
        count = 0
        for obj in foreign:
            count = state.distinct(f"foreign:h:{o.actor}", obj, o.time, HOUR, _CAP)
        history.hour_peak = max(history.hour_peak, count)
        if not o.warm or peers is None:
            return ()
        refused = state.distinct(f"refused:{o.actor}", "", o.time, HOUR, 64) - 1
        peer_p95 = peers.quantile(PEER_QUANTILE)
        peer_limit = max(FLOOR, PEER_FACTOR * peer_p95)
        mature = o.time - history.first_seen >= DAY
        limit = max(FLOOR, OWN_FACTOR * history.max_hourly) if mature else peer_limit
        rules = []
        if count > limit:
            rules.append("bola.foreign-objects")
        if refused >= REFUSALS and history.max_hourly < FLOOR:
            rules.append("bola.success-after-failures")
        if not rules:
            return ()
        # The evidence is built only once a rule holds: most foreign reads stay below both.
        evidence = {
            "foreign_objects_hour": str(count),
            "own_max_hourly": str(history.max_hourly),
            "peer_p95_hourly": str(peer_p95),
            "refused_objects_hour": str(refused),
        }
        return [_detection(o, state, rule, evidence) for rule in rules]


_TITLES = {
    "bola.foreign-objects": "Identity reading many objects that other identities hold",
    "bola.success-after-failures": "Another identity's object read after a run of refused ones",
}


def _detection(o: Observation, state: State, rule: str, evidence: dict[str, str]) -> Detection:
    """A high-severity BOLA detection about `o`'s actor, fresh once an hour per rule."""
    fresh = not fired_before(state, f"fired:{rule}:{o.actor}", o.time, HOUR)
    finding = Finding(rule, _TITLES[rule], Severity.HIGH, evidence, "API1:2023")
    return detected(finding, actor_scope(o), o, fresh)

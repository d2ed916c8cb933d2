"""Bulk and low-and-slow data access, and sequential ID walking, per identity.

An identity's distinct objects on endpoints that return personal data are counted per sliding
hour and day and judged against its own past peaks and its peers' (identities with the same kind
of credential). A new network or client makes the same volume more suspicious: a stolen partner
key reading at the partner's usual pace from a new place is still caught. Nothing fires while
the engine itself is learning, and an identity younger than a day is judged by its peers alone.
"""

from __future__ import annotations

from collections.abc import Sequence

from apishield.detect.observation import Observation
from apishield.detect.profile import Peers, Profile
from apishield.detect.registry import Detection, actor_scope, detected, fired_before
from apishield.exchange import Finding, Severity
from apishield.stateful import State

DAY = 86_400.0
HOUR = 3_600.0
FLOOR_HOURLY = 20
"""Fewer distinct objects than this in an hour is never bulk, whatever the baselines say."""
FLOOR_DAILY = 120
OWN_FACTOR = 4
PEER_FACTOR = 3
PEER_QUANTILE = 0.95
SEQUENTIAL_STEP = 16
SEQUENTIAL_RUN = 8
_CAP = 4096
_PROFILE_TTL = 30 * DAY


class ObjectAccess:
    name = "objects"

    def observe(self, o: Observation, state: State) -> Sequence[Detection]:
        if not o.authenticated or not o.objects:
            return ()
        profile = state.load(f"profile:{o.actor}", Profile, o.time) or Profile(first_seen=o.time)
        finished = profile.roll(o.time)
        peers = None
        # The peer group's record is read only when an hour closes or a judgement needs it.
        if finished or (o.warm and o.ok and o.roles.personal):
            peers_key = f"peers:{o.actor.partition(':')[0]}"
            peers = state.load(peers_key, Peers, o.time) or Peers()
            if finished:
                peers.add(finished)
                state.save(peers_key, peers, o.time, _PROFILE_TTL)
        detection = self._judge(o, state, profile, peers)
        profile.remember(o.network, o.client, o.roles.endpoint, o.time)
        state.save(f"profile:{o.actor}", profile, o.time, _PROFILE_TTL)
        return () if detection is None else (detection,)

    def _judge(
        self, o: Observation, state: State, profile: Profile, peers: Peers | None
    ) -> Detection | None:
        walked = _walk(profile, o.sequence)
        if not (o.ok and o.roles.personal):
            return None
        hourly = state.distinct(f"objects:h:{o.actor}", o.objects[0], o.time, HOUR, _CAP)
        daily = state.distinct(f"objects:d:{o.actor}", o.objects[0], o.time, DAY, _CAP)
        profile.hour_peak = max(profile.hour_peak, hourly)
        profile.day_peak = max(profile.day_peak, daily)
        if not o.warm or peers is None:
            return None
        # A walk matters from an identity that normally reads few objects; a batch job that reads
        # every account in ID order each night has that in its own peaks.
        walked = walked and hourly > OWN_FACTOR * profile.max_hourly
        mature = profile.age(o.time) >= DAY
        if not walked and _below_every_limit(profile, mature, hourly, daily):
            return None  # most reads: nothing to judge, so novelty and peers go unread
        novelty = profile.novelty(o.network, o.client, o.roles.endpoint, o.time) if mature else []
        reasons = _excess(o, profile, peers, hourly, daily, novelty)
        if walked:
            reasons.append(f"sequential IDs ({profile.sequential_steps} small steps in a row)")
        if not reasons or not (_bulk(reasons) or (walked and hourly >= SEQUENTIAL_RUN)):
            return None
        fresh = not fired_before(state, f"fired:objects:{o.actor}", o.time, HOUR)
        severity = Severity.HIGH if novelty or walked or hourly > 100 else Severity.MEDIUM
        evidence = {
            "distinct_objects_hour": str(hourly),
            "distinct_objects_day": str(daily),
            "own_max_hourly": str(profile.max_hourly),
            "peer_p95_hourly": str(peers.quantile(PEER_QUANTILE)),
            "reasons": "; ".join(reasons + novelty),
        }
        finding = Finding(
            "bulk.objects",
            "Identity reading far more objects than it or its peers do",
            severity,
            evidence,
            "API1:2023" if walked else "API6:2023",
        )
        return detected(finding, actor_scope(o), o, fresh)


def _excess(
    o: Observation, profile: Profile, peers: Peers, hourly: int, daily: int, novelty: list[str]
) -> list[str]:
    """Why the volume is out of line, or nothing when it is not."""
    reasons = []
    peer_limit = max(FLOOR_HOURLY, PEER_FACTOR * peers.quantile(PEER_QUANTILE))
    mature = profile.age(o.time) >= DAY
    own_hourly = max(FLOOR_HOURLY, OWN_FACTOR * profile.max_hourly)
    own_daily = max(FLOOR_DAILY, OWN_FACTOR * profile.max_daily)
    if mature and hourly > own_hourly and (novelty or hourly > peer_limit):
        reasons.append(f"{hourly} objects this hour, own peak {profile.max_hourly}")
    elif mature and daily > own_daily and (novelty or daily > 24 * peer_limit):
        reasons.append(f"{daily} objects today, own peak {profile.max_daily}")
    elif not mature and hourly > peer_limit:
        reasons.append(f"{hourly} objects in its first day, peers reach {peer_limit // 3}")
    return reasons


def _below_every_limit(profile: Profile, mature: bool, hourly: int, daily: int) -> bool:
    """True when `_excess` can give no reason whatever the peers and novelty: each of its
    reasons needs the volume above a floor or the identity's own peak first."""
    if not mature:
        return hourly <= FLOOR_HOURLY
    own_hourly = max(FLOOR_HOURLY, OWN_FACTOR * profile.max_hourly)
    own_daily = max(FLOOR_DAILY, OWN_FACTOR * profile.max_daily)
    return hourly <= own_hourly and daily <= own_daily


def _bulk(reasons: list[str]) -> bool:
    return any("objects" in reason for reason in reasons)


def _walk(profile: Profile, sequence: int | None) -> bool:
    """Track small steps between consecutive numeric IDs; True once a run is long enough."""
    if sequence is None:
        return False
    last = profile.last_sequence
    profile.last_sequence = sequence
    if last is not None and 0 < abs(sequence - last) <= SEQUENTIAL_STEP:
        profile.sequential_steps += 1
    elif last != sequence:
        profile.sequential_steps = 0
    return profile.sequential_steps >= SEQUENTIAL_RUN

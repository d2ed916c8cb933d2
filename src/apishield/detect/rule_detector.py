"""Runs the declarative rules of `detect.rules` over observations.

Kept apart from the schema (pydantic models, YAML) so that this part, which runs on every
exchange, can be compiled with mypyc (setup.py) while the models stay plain Python.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import attrgetter

from apishield.detect.observation import Observation
from apishield.detect.registry import (
    Detection,
    actor_scope,
    campaign_scope,
    detected,
    fired_before,
    ip_scope,
)
from apishield.detect.rules import DISTINCT_CAP, Rule, When
from apishield.exchange import Finding, Severity
from apishield.stateful import State, Tally


class RuleDetector:
    """Runs a list of declarative rules; one detector, so rules share one filter pass.

    Which rules an observation passes depends only on its shape (roles, outcome, whether it
    authenticated, lifecycle, attack, person records up to the largest `min_records`), and an
    API has few shapes: the filters are evaluated once per shape and remembered, so a request
    costs one dictionary probe instead of every rule's filter.
    """

    name = "rules"

    def __init__(self, rules: list[Rule]) -> None:
        self.rules = rules

    @property
    def rules(self) -> list[Rule]:
        return self._rules

    @rules.setter
    def rules(self, rules: list[Rule]) -> None:
        self._rules = rules
        self._prepared = [_Prepared(rule) for rule in rules]
        self._records = max(
            (w.min_records for r in rules for w in (r.when, r.among) if w is not None), default=0
        )
        self._plans: dict[tuple[object, ...], list[tuple[_Prepared, bool, bool]]] = {}

    def observe(self, observation: Observation, state: State) -> Sequence[Detection]:
        """Every count of every rule the observation passes goes to the state in one `tally`
        (one round trip on Redis); the rules are then judged on the totals, in rule order."""
        plan = self._plan(observation)
        if not plan:
            return ()
        calls: list[Tally] = []
        counted: list[_Counted] = []
        for prepared, among, when in plan:
            group = prepared.group_by(observation)
            if group is None:
                continue
            key = prepared.key + group
            if among:
                calls.append((key + ":among", None, prepared.window, 1.0))
            if when:
                _queue(prepared, observation, key, group, calls, counted)
        if not calls:
            return ()
        totals = state.tally(calls, observation.time)
        detections: Sequence[Detection] = ()
        for prepared, key, group, total_at, hits_at in counted:
            total = totals[total_at]
            if total < prepared.threshold:
                continue
            detection = _judge(prepared, observation, state, key, group, total, totals, hits_at)
            if detection is not None:
                detections = [*detections, detection]
        return detections

    def _plan(self, o: Observation) -> list[tuple[_Prepared, bool, bool]]:
        """The rules whose `among` or `when` this observation's shape passes, in rule order."""
        roles = o.roles
        shape = (
            bool(o.objects),
            roles.login,
            roles.credential_reset,
            roles.personal,
            roles.lifecycle,
            o.status,
            o.authenticated,
            o.attack,
            min(o.person_records, self._records),
        )
        plan = self._plans.get(shape)
        if plan is None:
            plan = []
            for prepared in self._prepared:
                rule = prepared.rule
                among = rule.among is not None and matches(rule.among, o)
                when = matches(rule.when, o)
                if among or when:
                    plan.append((prepared, among, when))
            if len(self._plans) >= _MAX_PLANS:
                self._plans.clear()
            self._plans[shape] = plan
        return plan


_MAX_PLANS = 4096
"""Observation shapes remembered; statuses times roles times lifecycles stay far below this."""


class _Prepared:
    """A rule with what every count needs worked out once, as plain attributes: its window,
    state key prefix and severity, the readers of its group and distinct fields, and the
    finding a repeat inside the cool-down carries."""

    __slots__ = (
        "by_ip",
        "campaign",
        "distinct",
        "group_by",
        "key",
        "level",
        "min_share",
        "records",
        "repeat",
        "rule",
        "threshold",
        "window",
    )

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.window = rule.window_seconds
        self.key = f"rule:{rule.id}:"
        self.group_by = _VALUES[rule.group_by]
        self.distinct = _VALUES[rule.distinct] if rule.distinct is not None else None
        self.min_share = rule.min_share
        self.records = rule.measure == "person_records"
        self.threshold = rule.threshold
        self.campaign = rule.scope == "campaign"
        self.by_ip = rule.group_by == "ip"
        self.level = rule.level
        # A repeat is counted into its incident and shown nowhere, so it needs no evidence.
        self.repeat = Finding(rule.id, rule.title, self.level, {}, rule.category)


def matches(when: When, o: Observation) -> bool:
    roles = o.roles
    if when.role is not None and not _has_role(when.role, o):
        return False
    if when.outcome is not None and not _outcome(when.outcome, o.status):
        return False
    if when.authenticated is not None and o.authenticated != when.authenticated:
        return False
    if when.lifecycle is not None and roles.lifecycle not in when.lifecycle:
        return False
    if when.attack is not None and o.attack != when.attack:
        return False
    return o.person_records >= when.min_records


def _has_role(role: str, o: Observation) -> bool:
    if role == "object":
        return bool(o.objects)
    return bool(getattr(o.roles, role))


def _outcome(outcome: str, status: int) -> bool:
    if outcome == "ok":
        return 200 <= status < 400
    if outcome == "denied":
        return status in (401, 403)
    if outcome == "missing":
        return status == 404
    if outcome == "failed":
        return status in (401, 403, 404)
    return status >= 500


def _first_object(o: Observation) -> str | None:
    return o.objects[0] if o.objects else None


_VALUES: dict[str, Callable[[Observation], str | None]] = {
    "ip": attrgetter("ip"),
    "network": attrgetter("network"),
    "actor": attrgetter("actor"),
    "target": attrgetter("target"),
    "object": _first_object,
    "endpoint": attrgetter("roles.endpoint"),
    "client": attrgetter("client"),
}
"""How each field a rule may group by or count is read off an observation."""


def value_of(name: str, o: Observation) -> str | None:
    return _VALUES[name](o)


_Counted = tuple["_Prepared", str, str, int, int]
"""A rule to judge once the tally is back: (rule, state key, group, index of its total, index
of its hits count or -1)."""


def _queue(
    prepared: _Prepared,
    o: Observation,
    key: str,
    group: str,
    calls: list[Tally],
    counted: list[_Counted],
) -> None:
    """The counts of one rule the observation passes, added to `calls`."""
    hits_at = -1
    if prepared.min_share is not None:
        hits_at = len(calls)
        calls.append((key + ":hits", None, prepared.window, 1.0))
    if prepared.distinct is not None:
        member = prepared.distinct(o)
        if member is None:
            return
        total_at = len(calls)
        calls.append((key, member, prepared.window, float(DISTINCT_CAP)))
    else:
        amount = float(o.person_records) if prepared.records else 1.0
        if amount == 0:
            return
        total_at = len(calls)
        calls.append((key, None, prepared.window, amount))
    counted.append((prepared, key, group, total_at, hits_at))


def _judge(
    prepared: _Prepared,
    o: Observation,
    state: State,
    key: str,
    group: str,
    total: float,
    totals: list[float],
    hits_at: int,
) -> Detection | None:
    """A rule whose total reached its threshold: its share, its cool-down and its detection."""
    window = prepared.window
    min_share = prepared.min_share
    if min_share is not None and not _share_met(min_share, key, window, o, state, totals[hits_at]):
        return None
    fresh = not fired_before(state, f"fired:{key}", o.time, window)
    rule = prepared.rule
    finding = _finding(rule, prepared.level, group, total) if fresh else prepared.repeat
    return detected(finding, _scope(prepared, o, group), o, fresh)


def _scope(prepared: _Prepared, o: Observation, group: str) -> str:
    """What the detection is about: the campaign, or the address a rule counted by IP (not the
    credentials its requests carried, which a scanner changes at will), or the actor."""
    if prepared.campaign:
        return campaign_scope(prepared.rule.id, o)
    if prepared.by_ip:
        return ip_scope(group)
    return actor_scope(o)


def _share_met(
    min_share: float, key: str, window: float, o: Observation, state: State, hits: float
) -> bool:
    among = state.count(f"{key}:among", o.time, window, amount=0.0)
    return among > 0 and hits / among >= min_share


def _finding(rule: Rule, level: Severity, group: str, total: float) -> Finding:
    measured = f"distinct {rule.distinct}s" if rule.distinct else rule.measure.replace("_", " ")
    evidence = {
        "group_by": rule.group_by,
        "group": group if rule.group_by not in ("target", "object") else "#" + group[:12],
        "observed": f"{int(total)} {measured} in {rule.window}",
        "threshold": str(rule.threshold),
    }
    return Finding(rule.id, rule.title, level, evidence, rule.category)

"""Detections as data: filter, group-by, window, distinct and threshold, in YAML.

A rule counts the observations that pass its filter per group (an IP, an actor, a target value,
an endpoint) over a sliding window of event time, optionally counting distinct values of a
second field or summing person records, and fires when the total reaches its threshold. Each
shipped rule carries a fixture: a list of events it must fire on (tests/detect/test_rules.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from importlib import resources
from operator import attrgetter
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from apishield.detect.observation import Observation
from apishield.detect.registry import Detection, actor_scope, campaign_scope, fired_before
from apishield.exchange import Finding, Severity
from apishield.stateful import State, Tally

Field_ = Literal["ip", "network", "actor", "target", "object", "endpoint", "client"]
_DURATION = re.compile(r"\A(\d+(?:\.\d+)?)\s*(s|m|h|d)\Z")
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
DISTINCT_CAP = 4096


class RuleError(ValueError):
    """A rule file that does not validate; the message names the rule, the key and the fix."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class When(_Strict):
    """Every condition given must hold; an absent one does not filter."""

    role: Literal["login", "credential_reset", "personal", "object"] | None = None
    outcome: Literal["ok", "denied", "missing", "failed", "error"] | None = None
    authenticated: bool | None = None
    lifecycle: list[Literal["shadow", "zombie", "undocumented", "documented"]] | None = None
    attack: bool | None = None
    min_records: int = Field(default=0, ge=0)


class Fixture(_Strict):
    """Events that must make the rule fire: `event` repeated `repeat` times, `every` apart.

    In `event`, "{n}" in a string becomes the event's index, so distinct values are easy to write.
    """

    event: dict[str, Any]
    repeat: int = Field(ge=1, le=10_000)
    every: str = "1s"
    fires_by: int = Field(ge=1)
    """The rule must have fired by this event (1-based)."""


class Rule(_Strict):
    id: str = Field(pattern=r"^[a-z0-9]+(?:[.-][a-z0-9]+)+$")
    title: str
    severity: Literal["low", "medium", "high", "critical"]
    category: str = Field(pattern=r"^API(?:[1-9]|10):2023$")
    description: str
    when: When = Field(default_factory=When)
    group_by: Field_
    distinct: Field_ | None = None
    measure: Literal["requests", "person_records"] = "requests"
    window: str
    threshold: int = Field(ge=1, lt=DISTINCT_CAP)
    scope: Literal["actor", "campaign"] = "actor"
    among: When | None = None
    """With `min_share`: the group's events this rule's matches are a share of."""
    min_share: float | None = Field(default=None, gt=0, le=1)
    """Fire only when matches are at least this share of the group's `among` events in the
    window: a client refused on a few objects among thousands it reads is not probing."""
    fixture: Fixture

    @field_validator("window")
    @classmethod
    def _window(cls, value: str) -> str:
        seconds(value)
        return value

    @model_validator(mode="after")
    def _share(self) -> Rule:
        if (self.among is None) != (self.min_share is None):
            raise ValueError("among and min_share go together: give both or neither")
        return self

    @property
    def window_seconds(self) -> float:
        return seconds(self.window)

    @property
    def level(self) -> Severity:
        return Severity[self.severity.upper()]


def seconds(text: str) -> float:
    match = _DURATION.match(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a duration; write it like 30s, 10m, 1h or 7d")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_rules(text: str, source: str) -> list[Rule]:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RuleError(f"{source}: not valid YAML: {exc}") from exc
    if not isinstance(raw, list):
        raise RuleError(f"{source}: expected a list of rules, got {type(raw).__name__}")
    rules = []
    for index, item in enumerate(raw):
        name = item.get("id", f"#{index + 1}") if isinstance(item, dict) else f"#{index + 1}"
        try:
            rules.append(Rule.model_validate(item))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
            )
            raise RuleError(f"{source}: rule {name}: {problems}") from None
    seen: set[str] = set()
    for rule in rules:
        if rule.id in seen:
            raise RuleError(f"{source}: rule id {rule.id!r} is defined twice")
        seen.add(rule.id)
    return rules


def builtin_rules() -> list[Rule]:
    folder = resources.files("apishield.detect").joinpath("rules")
    rules: list[Rule] = []
    for item in sorted(folder.iterdir(), key=lambda entry: entry.name):
        if item.name.endswith(".yaml"):
            rules.extend(parse_rules(item.read_text(encoding="utf-8"), item.name))
    return rules


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
    return Detection(
        _finding(rule, prepared.level, group, total) if fresh else prepared.repeat,
        campaign_scope(rule.id, o) if prepared.campaign else actor_scope(o),
        o.actor,
        o.ip,
        o.roles.endpoint,
        o.time,
        fresh,
    )


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

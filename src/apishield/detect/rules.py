"""Detections as data: filter, group-by, window, distinct and threshold, in YAML.

This module holds the rule schema and its loading; `detect.rule_detector` runs the rules. A
rule counts the observations that pass its filter per group (an IP, an actor, a target value,
an endpoint) over a sliding window of event time, optionally counting distinct values of a
second field or summing person records, and fires when the total reaches its threshold. Each
shipped rule carries a fixture: a list of events it must fire on (tests/detect/test_rules.py).
"""

from __future__ import annotations

import re
from importlib import resources
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

from apishield.exchange import Severity

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

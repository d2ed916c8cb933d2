"""Factories for detector tests and rule fixtures: observations without an engine."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from apishield.detect.observation import Observation
from apishield.detect.roles import EndpointRoles
from apishield.detect.rules import Fixture, seconds
from apishield.testing import T0

ENDPOINT = "GET api.example.com /v2/things/{id}"


def make_observation(**fields: Any) -> Observation:
    """An ordinary authenticated read; keyword arguments override any field, `roles` by dict."""
    roles = fields.pop("roles", {})
    role_fields = roles if isinstance(roles, dict) else {}
    base = Observation(
        time=T0,
        ip="198.51.100.1",
        network="198.51.100.0/24",
        actor="id:alice",
        authenticated=True,
        client="app",
        roles=roles if isinstance(roles, EndpointRoles) else EndpointRoles(ENDPOINT),
        status=200,
        objects=(),
        sequence=None,
        target=None,
        person_records=0,
        duration=0.01,
        warm=True,
        attack=False,
    )
    if role_fields:
        base.roles = replace(base.roles, **role_fields)
    if "role" in fields:
        flag: dict[str, Any] = {fields.pop("role"): True}
        base.roles = replace(base.roles, **flag)
    if "objects" in fields:
        fields["objects"] = tuple(fields["objects"])
        fields.setdefault("target", fields["objects"][0] if fields["objects"] else None)
    if "ip" in fields and "actor" not in fields and not fields.get("authenticated", True):
        fields["actor"] = f"ip:{fields['ip']}"
    return replace(base, **fields)


def fixture_observations(fixture: Fixture) -> Iterator[Observation]:
    """The fixture's events, "{n}" in strings replaced by each event's index."""
    step = seconds(fixture.every)
    for n in range(fixture.repeat):
        event = _fill(fixture.event, n)
        event.setdefault("time", T0 + n * step)
        yield make_observation(**event)


def _fill(value: Any, n: int) -> Any:
    if isinstance(value, str):
        return value.replace("{n}", str(n))
    if isinstance(value, list):
        return [_fill(v, n) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, n) for k, v in value.items()}
    return value

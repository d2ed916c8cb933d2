"""Routing: a sink takes alerts at or above its minimum severity, of the kinds it lists."""

from __future__ import annotations

from dataclasses import replace

from apishield.alert.alert import from_incident
from apishield.alert.routing import Route
from apishield.exchange import Severity
from apishield.testing import T0

from .conftest import summary


def test_minimum_severity_and_kinds() -> None:
    high = from_incident(summary(severities=(Severity.HIGH,)), T0)
    medium = replace(high, severity=Severity.MEDIUM)
    finding = replace(high, kind="finding")
    route = Route.of("high", ["incident"])
    assert route.accepts(high)
    assert not route.accepts(medium)
    assert not route.accepts(finding)
    assert Route.of("medium", ["incident", "finding"]).accepts(medium)
    assert Route().accepts(finding)

"""Stdout: one JSON line per alert."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from apishield.alert import Alerter

from ..conftest import summary


def test_one_json_line_per_alert(
    alerters: Callable[..., Alerter], capsys: pytest.CaptureFixture[str]
) -> None:
    alerter = alerters({"sinks": [{"type": "stdout"}]})
    alerter.incident(summary(1))
    alerter.incident(summary(2))
    alerter.close()
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["incident_id"] for line in lines] == [1, 2]

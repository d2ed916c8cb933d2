from __future__ import annotations

import logging

import pytest

from apishield.exchange import Exchange
from apishield.pipeline import Pipeline
from apishield.testing import make_exchange


class Recorder:
    def __init__(self, name: str) -> None:
        self.name = name
        self.seen: list[str] = []

    def __call__(self, exchange: Exchange) -> None:
        self.seen.append(exchange.request.path)


class Broken:
    name = "broken"

    def __call__(self, exchange: Exchange) -> None:
        raise RuntimeError("bug")


def test_stages_run_in_order_and_phases_are_separate() -> None:
    order: list[str] = []

    class Step:
        def __init__(self, name: str) -> None:
            self.name = name

        def __call__(self, exchange: Exchange) -> None:
            order.append(self.name)

    pipeline = Pipeline([Step("a"), Step("b")], [Step("c")])
    pipeline.run_request(make_exchange())
    assert order == ["a", "b"]
    pipeline.run(make_exchange())
    assert order == ["a", "b", "a", "b", "c"]


def test_a_failing_stage_is_contained_and_counted(caplog: pytest.LogCaptureFixture) -> None:
    after = Recorder("after")
    pipeline = Pipeline([Broken(), after], [])
    with caplog.at_level(logging.ERROR, logger="apishield.pipeline"):
        for i in range(5):
            pipeline.run(make_exchange(path=f"/{i}"))
    assert after.seen == [f"/{i}" for i in range(5)]
    assert pipeline.errors["broken"] == 5
    assert len(caplog.records) == 3  # the log is not flooded


def test_threat_level_is_the_highest_finding() -> None:
    from apishield.exchange import Finding, Severity

    exchange = make_exchange()
    assert exchange.threat_level is Severity.INFO
    exchange.findings += [Finding("a", "A", Severity.LOW), Finding("b", "B", Severity.HIGH)]
    assert exchange.threat_level is Severity.HIGH

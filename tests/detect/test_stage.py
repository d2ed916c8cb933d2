"""The detectors inside the engine: exchanges in, incidents out, with no path known in advance."""

from __future__ import annotations

from typing import Any

import orjson

from apishield.config import Config, DetectConfig
from apishield.engine import Engine
from apishield.exchange import Exchange
from apishield.privacy import Hasher
from apishield.testing import make_exchange

T = 1_767_225_600.0
JSON = {"content-type": "application/json"}


def _engine(**detect: object) -> Engine:
    return Engine(Config(detect=DetectConfig.model_validate(detect)), Hasher(b"k" * 32))


def _login(n: int, ip: str, status: int, started: float | None = None) -> Exchange:
    body = orjson.dumps({"username": f"user{n}@mail.example", "password": "hunter2"})
    return make_exchange(
        "POST",
        "/session/new",
        body=body,
        headers=JSON,
        status=status,
        peer_ip=ip,
        started=T + n * 2.0 if started is None else started,
    )


def test_credential_stuffing_from_many_ips_becomes_one_campaign_incident() -> None:
    engine = _engine()
    for n in range(60):
        engine.process(_login(n, f"203.0.{n}.7", 401))
    incidents = engine.result().incidents
    campaign = [i for i in incidents if i.scope.startswith("campaign:auth.stuffing-many-ips")]
    assert len(campaign) == 1
    assert campaign[0].severity.label == "high"
    assert campaign[0].category == "API2:2023"
    assert len(campaign[0].ips) >= 10


def test_detections_are_findings_of_the_exchange_that_tipped_them() -> None:
    engine = _engine()
    tipped = []
    for n in range(60):
        exchange = _login(n, f"203.0.{n}.7", 401)
        engine.process(exchange)
        tipped.extend(f.rule_id for f in exchange.findings if f.rule_id.startswith("auth."))
    assert tipped.count("auth.stuffing-many-ips") == 1


def test_ordinary_logins_raise_nothing() -> None:
    engine = _engine()
    for n in range(200):
        engine.process(_login(n, f"198.51.100.{n % 50}", 401 if n % 20 == 0 else 200))
    assert engine.result().incidents == []


def test_detection_can_be_switched_off_or_narrowed() -> None:
    engine = _engine(enabled=False)
    for n in range(60):
        engine.process(_login(n, f"203.0.{n}.7", 401))
    assert engine.result().incidents == []
    engine = _engine(disabled=["auth.stuffing-many-ips"])
    for n in range(60):
        engine.process(_login(n, f"203.0.{n}.7", 401))
    assert not any("stuffing" in i.scope for i in engine.result().incidents)


def test_an_unknown_detector_name_is_refused_with_the_valid_ones() -> None:
    try:
        _engine(disabled=["auth.stufing"])
    except ValueError as exc:
        assert "auth.stuffing-many-ips" in str(exc) and "auth.stufing" in str(exc)
    else:
        raise AssertionError("an unknown name was accepted")


def test_a_failing_detector_is_contained_and_counted() -> None:
    engine = _engine()

    class Broken:
        name = "broken"

        def observe(self, observation: object, state: object) -> list[object]:
            raise RuntimeError("bug")

    engine.detect.detectors = (*engine.detect.detectors, Broken())  # type: ignore[assignment]
    for n in range(5):
        engine.process(_login(n, "203.0.113.1", 401))
    assert engine.result().stage_errors == {"detector broken": 5}


class _Watch:
    """A detector that keeps what it was shown."""

    name = "watch"

    def __init__(self) -> None:
        self.seen: list[tuple[float, bool]] = []

    def observe(self, observation: Any, state: Any) -> tuple[()]:
        self.seen.append((observation.time, observation.warm))
        return ()


def _watched(times: list[float]) -> tuple[_Watch, Engine]:
    engine = _engine()
    watch = _Watch()
    engine.detect.detectors = (watch,)
    for n, started in enumerate(times):
        engine.process(_login(n, "198.51.100.7", 200, started=started))
    return watch, engine


def test_a_first_line_dated_2099_does_not_keep_baselines_in_warm_up() -> None:
    day = [T + n * 600.0 for n in range(200)]  # 33 hours
    watch, engine = _watched([4_070_908_800.0, *day])
    assert [time for time, _ in watch.seen[1:]] == day
    assert watch.seen[-1][1]  # a day has passed since the real first line
    assert not watch.seen[1][1]
    assert engine.result().suspect_times == 1


def test_a_line_dated_2099_mid_stream_is_seen_at_the_streams_time() -> None:
    times = [T + n * 60.0 for n in range(50)]
    times.insert(20, 4_070_908_800.0)
    watch, engine = _watched(times)
    assert watch.seen[20][0] == times[19]
    assert max(time for time, _ in watch.seen) == times[-1]
    assert engine.result().suspect_times == 1
    assert engine.result().first_suspect_time == 4_070_908_800.0

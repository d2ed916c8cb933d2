"""`apishield worker` on the real Redis (127.0.0.1:6379, a stream key and state prefix of each
test's own, deleted after): what goes through the stream gives what `analyze` gives, a killed
worker's exchanges are taken over, malformed entries are counted, and the store gets the run.

Two tests run the worker as a process of its own (`python -m apishield.cli worker`), to kill it
with SIGKILL or stop it with SIGTERM; every wait is bounded.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from redis import Redis
from redis.exceptions import RedisError, ResponseError
from sqlalchemy import func, select

from apishield.config import Config
from apishield.exchange import Exchange
from apishield.ingest import IngestStats, read_exchanges
from apishield.inline.offload import StreamOffload
from apishield.inventory.series import Point
from apishield.report.document import RunInfo, build_document
from apishield.sim.run import Options, simulate
from apishield.startup import build_engine
from apishield.state.stream import ExchangeStream
from apishield.store.database import Store, StoreError
from apishield.store.schema import endpoint_minutes, runs
from apishield.worker import Worker, WorkerReport, run_worker

REDIS_URL = "redis://127.0.0.1:6379/0"
AWAY_URL = "redis://127.0.0.1:1/0"
ROOT = Path(__file__).parents[1]


@pytest.fixture(scope="module")
def traffic(tmp_path_factory: pytest.TempPathFactory) -> list[Exchange]:
    """About 3,500 simulated exchanges with a scanner and a BOLA walk in them."""
    out = tmp_path_factory.mktemp("sim") / "traffic.jsonl"
    simulate(Options(out, days=0.1, subscribers=120, scenarios="scanner,bola", seed=7))
    return list(read_exchanges(out, "jsonl", stats=IngestStats()))


@pytest.fixture
def names() -> Iterator[tuple[str, str]]:
    """A stream key and a state prefix of the test's own; both are deleted when it ends."""
    client = Redis.from_url(REDIS_URL, socket_timeout=1.0, socket_connect_timeout=1.0)
    try:
        client.ping()
    except RedisError as error:
        pytest.skip(f"no Redis answers on {REDIS_URL} ({error}); start one to run these tests")
    base = f"apishield-test:{uuid.uuid4().hex}:"
    yield base + "exchanges", base + "state:"
    keys = list(client.scan_iter(match=base + "*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


def _settings(tmp_path: Path, key: str, prefix: str, **analysis: Any) -> dict[str, Any]:
    return {
        "data_dir": str(tmp_path / "data"),
        "store": {"url": f"sqlite:///{tmp_path / 'worker.db'}"},
        "state": {"url": REDIS_URL, "prefix": prefix, "timeout": 2.0, "probe_seconds": 0.1},
        "analysis": {"mode": "stream", "stream": key, **analysis},
    }


def _config(tmp_path: Path, key: str, prefix: str, **analysis: Any) -> Config:
    return Config.model_validate(_settings(tmp_path, key, prefix, **analysis))


def _produce(config: Config, exchanges: list[Exchange]) -> None:
    offload = StreamOffload.from_config(config)
    try:
        assert offload.send(exchanges) == []
    finally:
        offload.close()


def _drain(config: Config, name: str) -> WorkerReport:
    return run_worker(config, None, name, threading.Event(), drain=True)


def _client() -> Redis:
    return Redis.from_url(REDIS_URL, socket_timeout=2.0)


def _pending(key: str) -> int:
    client = _client()
    try:
        return int(client.xpending(key, "apishield-workers")["pending"])
    except ResponseError:  # no group yet: no worker has started
        return 0
    finally:
        client.close()


def _wait_until(ready: Callable[[], bool], what: str, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what} did not happen within {seconds}s")


def _worker_process(tmp_path: Path, settings: dict[str, Any], name: str) -> subprocess.Popen[bytes]:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(settings), encoding="utf-8")
    command = [sys.executable, "-m", "apishield.cli", "worker", "-c", str(path), "--name", name]
    return subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ)
    )


def test_the_stream_round_trip_equals_local_analysis(
    tmp_path: Path, names: tuple[str, str], traffic: list[Exchange]
) -> None:
    key, prefix = names
    config = _config(
        tmp_path, key, prefix, save_every=1_000, save_seconds=60, claim_idle_seconds=120
    )
    _produce(config, traffic)
    shared = config.model_copy(
        update={"state": config.state.model_copy(update={"backend": "redis"})}
    )
    report = _drain(shared, "w1")  # detector state on Redis, saved every 1,000 exchanges

    local = build_engine(config, None)  # in memory, as `analyze` runs it
    for exchange in read_exchanges_again(traffic):
        local.process(exchange)
    expected = build_document(local.result(), RunInfo("analyze", 0, 1, [], 0, 0, 0, {}, []))

    assert report.stats.events == len(traffic)
    assert report.acked == len(traffic)
    assert len(report.run_ids) == 4  # three saves on the way, one at the end
    store = Store(config.store.url)
    run = report.run_ids[-1]
    assert store.load_findings(run) == {
        "threat_levels": expected["findings"]["threat_levels"],
        "rules": expected["findings"]["rules"],
    }
    assert store.load_incidents(run) == expected["incidents"]["items"]
    assert expected["incidents"]["total"] >= 1
    reference = Store(f"sqlite:///{tmp_path / 'analyze.db'}")
    reference.create()
    same = reference.load_endpoints(reference.save_analysis(expected))
    assert store.load_endpoints(run) == same
    assert _pending(key) == 0
    assert _client().xlen(key) == 0  # analysed and saved: deleted


def read_exchanges_again(exchanges: list[Exchange]) -> list[Exchange]:
    """Fresh copies of the request and answer, without what the worker's run added."""
    return [Exchange(e.request, e.response, e.started, e.duration, e.source) for e in exchanges]


def test_a_killed_workers_exchanges_are_taken_over_none_lost_none_twice(
    tmp_path: Path, names: tuple[str, str], traffic: list[Exchange]
) -> None:
    key, prefix = names
    settings = _settings(
        tmp_path, key, prefix, save_seconds=60, save_every=1_000_000, claim_idle_seconds=120
    )
    _produce(Config.model_validate(settings), traffic)
    dead = _worker_process(tmp_path, settings, "dead")
    try:
        _wait_until(lambda: _pending(key) >= 256, "the first worker reading a batch")
    finally:
        dead.send_signal(signal.SIGKILL)
        dead.communicate(timeout=30)
    left = _pending(key)  # read by the dead worker, never acknowledged
    assert left >= 256
    time.sleep(1.2)  # idle longer than the survivor's claim_idle_seconds

    survivor = _config(tmp_path, key, prefix, save_seconds=0.5, claim_idle_seconds=1)
    report = _drain(survivor, "survivor")
    assert report.claimed == left
    assert report.stats.events == len(traffic)  # every exchange once: none lost, none twice
    assert report.stats.skipped == 0
    assert _pending(key) == 0
    late = _drain(survivor, "late")
    assert late.stats.lines == 0  # nothing acknowledged comes back
    store = Store(survivor.store.url)
    assert store.latest_run_id() == report.run_ids[-1]  # the dead worker never saved


def test_malformed_entries_are_counted_and_acknowledged(
    tmp_path: Path, names: tuple[str, str], traffic: list[Exchange]
) -> None:
    key, prefix = names
    config = _config(tmp_path, key, prefix)
    client = _client()
    good = StreamOffload.from_config(config).encode(traffic[0])
    bad_body = orjson.loads(good)
    bad_body["request"].update(body="%%%", body_encoding="base64")
    for fields in (
        {"x": b"not json at all"},
        {"x": b"[1, 2]"},
        {"x": good.replace(b'"v":1', b'"v":9')},
        {"other": b"1"},
        {"x": orjson.dumps(bad_body)},
        {"x": good},
    ):
        client.xadd(key, fields)
    report = _drain(config, "w1")
    assert report.stats.lines == 6
    assert report.stats.events == 1
    assert report.stats.skipped == 5
    assert report.stats.skipped_by_reason["unsupported version"] == 1
    assert report.stats.skipped_by_reason["no exchange in the entry"] == 1
    assert report.stats.skipped_by_reason["bad field request.body"] == 1
    assert _pending(key) == 0
    assert client.xlen(key) == 0
    client.close()
    store = Store(config.store.url)
    errors = store.load_errors(report.run_ids[-1])
    assert len(errors) == 5
    assert all(e["source"].startswith(f"{key}#") for e in errors)


def test_a_worker_waits_for_redis_without_failing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = Config.model_validate(
        {
            "data_dir": str(tmp_path / "data"),
            "store": {"url": f"sqlite:///{tmp_path / 'w.db'}"},
            "state": {"url": AWAY_URL, "timeout": 0.2, "probe_seconds": 0.05},
            "analysis": {"mode": "stream"},
        }
    )
    stop = threading.Event()
    reports: list[WorkerReport] = []
    thread = threading.Thread(
        target=lambda: reports.append(run_worker(config, None, "w", stop)), daemon=True
    )

    def warnings() -> list[logging.LogRecord]:
        return [r for r in caplog.records if "exchange stream" in r.getMessage()]

    with caplog.at_level(logging.WARNING, logger="apishield.worker"):
        thread.start()
        give_up = time.monotonic() + 20.0  # bounded: a loaded machine starts the worker late
        while not warnings() and time.monotonic() < give_up:
            time.sleep(0.05)
        time.sleep(0.5)  # ten more probes, none of which may warn again
        stop.set()
        thread.join(30)
    assert not thread.is_alive()
    assert reports[0].stats.lines == 0
    assert reports[0].run_ids == []
    assert len(warnings()) == 1


def test_sigterm_finishes_saves_acknowledges_and_exits_0(
    tmp_path: Path, names: tuple[str, str], traffic: list[Exchange]
) -> None:
    key, prefix = names
    settings = _settings(tmp_path, key, prefix, save_seconds=60, claim_idle_seconds=120)
    _produce(Config.model_validate(settings), traffic[:500])
    worker = _worker_process(tmp_path, settings, "graceful")
    client = _client()
    try:

        def all_read() -> bool:
            groups = client.xinfo_groups(key) if client.exists(key) else []
            return bool(groups) and groups[0]["entries-read"] == 500

        _wait_until(all_read, "the worker reading every entry")
        assert _pending(key) == 500  # analysed, not yet saved: not acknowledged
        worker.send_signal(signal.SIGTERM)
        _, stderr = worker.communicate(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate(timeout=30)
        client.close()
    assert worker.returncode == 0, stderr.decode()
    assert b"500 exchanges analysed" in stderr
    assert _pending(key) == 0
    store = Store(str(settings["store"]["url"]))
    run = store.latest_run_id()
    assert run is not None
    with store.engine.connect() as conn:
        row = conn.execute(runs.select().where(runs.c.id == run)).mappings().one()
    assert (row["kind"], row["events"]) == ("worker", 500)


class RefusingStore(Store):
    """The real store, refusing its first `refusals` rewrites of a run as a locked one would."""

    def __init__(self, url: str, refusals: int) -> None:
        super().__init__(url)
        self.refusals = refusals

    def replace_run(
        self, run_id: int, document: Mapping[str, Any], series: Sequence[Point] = ()
    ) -> None:
        if self.refusals > 0:
            self.refusals -= 1
            raise StoreError(f"cannot write to the store at {self.url}: database is locked")
        super().replace_run(run_id, document, series)


def _drain_worker(config: Config, store: Store) -> WorkerReport:
    """One worker over `store` until the stream is empty, then its final save."""
    analysis = config.analysis
    stream = ExchangeStream.from_url(REDIS_URL, analysis.stream, analysis.group, timeout=2.0)
    try:
        worker = Worker(build_engine(config, None), stream, store, config, "w1", block_ms=100)
        return worker.run(threading.Event(), drain=True)
    finally:
        stream.close()


def _series_requests(store: Store, run: int) -> int:
    """The requests a run's traffic buckets add up to: what the dashboard's charts show."""
    query = select(func.sum(endpoint_minutes.c.requests)).where(endpoint_minutes.c.run_id == run)
    with store.engine.connect() as conn:
        return int(conn.execute(query).scalar() or 0)


def test_a_refused_save_keeps_its_traffic_buckets_for_the_next(
    tmp_path: Path, names: tuple[str, str], traffic: list[Exchange]
) -> None:
    key, prefix = names
    config = _config(
        tmp_path, key, prefix, batch=500, save_every=1_000, save_seconds=60, claim_idle_seconds=120
    )
    _produce(config, traffic)
    store = RefusingStore(config.store.url, refusals=2)  # the saves at 2,000 and 3,000
    store.create()
    report = _drain_worker(config, store)
    assert store.refusals == 0
    assert report.stats.events == len(traffic)
    assert report.acked == len(traffic)
    assert _series_requests(store, report.run_ids[-1]) == len(traffic)
    assert report.dropped_points == 0
    assert _pending(key) == 0


def test_a_clean_stop_writes_the_open_buckets_though_every_exchange_was_saved(
    tmp_path: Path, names: tuple[str, str], traffic: list[Exchange]
) -> None:
    key, prefix = names
    config = _config(
        tmp_path, key, prefix, batch=500, save_every=1_000, save_seconds=60, claim_idle_seconds=120
    )
    _produce(config, traffic[:3_000])  # the third save holds every exchange
    store = Store(config.store.url)
    store.create()
    report = _drain_worker(config, store)
    assert report.stats.events == 3_000
    assert _series_requests(store, report.run_ids[-1]) == 3_000
    assert len(report.run_ids) == 4  # three saves on the way, the open buckets at the stop
    assert _pending(key) == 0

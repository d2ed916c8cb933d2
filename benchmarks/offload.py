"""What analysis on a stream saves the process in front of the API, and what a worker delivers.

In one process, over simulated telecom traffic (benign users, partners and every attack
scenario; bodies included), with the Redis named by --url (loopback by default):

* the guard's background thread, per exchange: in local mode it runs the response phase (data
  classes, response checks, inventory, detectors, automatic blocks); in stream mode it
  serialises each exchange (apishield JSONL) and adds it to the stream in batches of `--batch`,
  one script call each. Every exchange has been through the request phase first (not timed), as
  in-line; then all of them are submitted at once and the time until the thread has handled the
  last one is measured, wall clock and CPU (the main thread sleeps meanwhile, so process CPU is
  the thread's, plus the Redis client's). The stream-mode figures are also given as a share of
  local mode's, the baseline of the same run;
* serialisation alone (µs per exchange), to split stream mode's cost between encoding and
  the round trips;
* one worker (`apishield.worker.Worker`) draining the stream: exchanges per second read,
  parsed, analysed (both phases) and saved to SQLite, with detector state in memory and on
  Redis, against the same engine fed in memory with no stream (the `analyze` baseline); the
  in-memory rates are the median of `--reps` alternated runs, each run listed beside it.

Keys go under a fresh name, deleted at the end.

    python benchmarks/offload.py [--n 20000] [--batch 256] [--reps 3]
        [--url redis://127.0.0.1:6379/0]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from redis import Redis

from apishield.config import Config
from apishield.exchange import Exchange
from apishield.ingest import IngestStats, read_exchanges
from apishield.inline.guard import Guard
from apishield.inline.offload import StreamOffload
from apishield.privacy import Hasher
from apishield.sim.run import Options, simulate
from apishield.startup import build_engine, install_compiled_cache
from apishield.state.factory import open_backends
from apishield.state.stream import ExchangeStream
from apishield.store.database import Store
from apishield.worker import Worker

HASHER = Hasher(b"b" * 32)


def traffic(directory: Path, n: int) -> list[Exchange]:
    out = directory / "traffic.jsonl"
    simulate(Options(out, days=2.0, subscribers=1500, scenarios="all", seed=11, limit=n))
    return list(read_exchanges(out, "jsonl", stats=IngestStats()))


def fresh(exchanges: list[Exchange]) -> list[Exchange]:
    """The same requests and answers, without what an earlier pass wrote on them."""
    return [Exchange(e.request, e.response, e.started, e.duration, e.source) for e in exchanges]


def config(directory: Path, url: str, key: str, prefix: str, **sections: Any) -> Config:
    settings: dict[str, Any] = {
        "data_dir": str(directory / "data"),
        "store": {"url": f"sqlite:///{directory / 'offload.db'}"},
        "state": {"url": url, "prefix": prefix, "timeout": 5.0},
        "analysis": {"stream": key},
    }
    for name, values in sections.items():
        settings[name] = settings.get(name, {}) | values
    return Config.model_validate(settings)


def guard_thread(cfg: Config, exchanges: list[Exchange]) -> tuple[float, float, Guard]:
    """Seconds of wall clock and of CPU the guard's thread takes for `exchanges`."""
    guard = Guard.from_config(cfg, HASHER, queue_size=len(exchanges) + 1)
    batch = fresh(exchanges)
    for exchange in batch:
        guard.check(exchange)
    wall, cpu = time.perf_counter(), time.process_time()
    for exchange in batch:
        guard.submit(exchange)
    guard.flush()
    return time.perf_counter() - wall, time.process_time() - cpu, guard


def worker_rate(cfg: Config, exchanges: list[Exchange], directory: Path) -> tuple[float, int]:
    """Exchanges per second one worker drains (read, parse, analyse, save, ack)."""
    offload = StreamOffload.from_config(cfg)
    assert offload.send(fresh(exchanges)) == []
    offload.close()
    backends = open_backends(cfg)
    engine = build_engine(cfg, None, state=backends.state)
    stream = ExchangeStream.from_url(
        cfg.state.url, cfg.analysis.stream, cfg.analysis.group, timeout=5.0
    )
    store = Store(f"sqlite:///{directory / f'{uuid.uuid4().hex}.db'}")
    store.create()
    worker = Worker(engine, stream, store, cfg, "bench", blocks=backends.blocks)
    began = time.perf_counter()
    report = worker.run(threading.Event(), drain=True)
    seconds = time.perf_counter() - began
    stream.close()
    backends.close()
    return report.stats.events / seconds, report.stats.events


def in_memory_rate(cfg: Config, exchanges: list[Exchange]) -> float:
    engine = build_engine(cfg, None)
    batch = fresh(exchanges)
    began = time.perf_counter()
    for exchange in batch:
        engine.process(exchange)
    return len(batch) / (time.perf_counter() - began)


def encode_cost(cfg: Config, exchanges: list[Exchange]) -> float:
    offload = StreamOffload.from_config(cfg)
    began = time.perf_counter()
    for exchange in exchanges:
        offload.encode(exchange)
    offload.close()
    return (time.perf_counter() - began) / len(exchanges)


def row(label: str, figures: str) -> None:
    print(f"  {label:<44} {figures}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=20_000, help="Simulated exchanges.")
    parser.add_argument("--batch", type=int, default=256, help="analysis.batch.")
    parser.add_argument("--url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--reps", type=int, default=3, help="Runs of the in-memory rates.")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    install_compiled_cache()
    base = f"apishield-bench:{uuid.uuid4().hex}:"
    client = Redis.from_url(args.url)
    with tempfile.TemporaryDirectory() as folder:
        directory = Path(folder)
        exchanges = traffic(directory, args.n)
        body_bytes = sum(
            len(e.request.body or b"") + len((e.response.body if e.response else None) or b"")
            for e in exchanges
        )
        print(
            f"{len(exchanges):,} simulated exchanges, {body_bytes / len(exchanges):,.0f} body "
            f"bytes each on average; Redis at {args.url}; batch {args.batch}"
        )
        try:
            run(args, directory, exchanges, base)
        finally:
            keys = list(client.scan_iter(match=base + "*", count=1000))
            if keys:
                client.delete(*keys)
            client.close()


def run(args: argparse.Namespace, directory: Path, exchanges: list[Exchange], base: str) -> None:
    n = len(exchanges)
    local = config(directory, args.url, base + "unused", base + "s1:")
    print("\nThe guard's background thread, per exchange (request phase done before, not timed):")
    wall, cpu, guard = guard_thread(local, exchanges)
    guard.close()
    row(
        "local mode (full response phase)",
        f"{wall / n * 1e6:8.1f} µs wall {cpu / n * 1e6:8.1f} µs CPU",
    )
    for batch in sorted({64, args.batch, 1024}):
        cfg = config(
            directory,
            args.url,
            base + f"guard{batch}",
            base + "s2:",
            analysis={"mode": "stream", "batch": batch, "stream": base + f"guard{batch}"},
        )
        s_wall, s_cpu, guard = guard_thread(cfg, exchanges)
        stats: Any = guard.stats()["offload"]
        guard.close()
        assert stats["sent"] == n, stats
        row(
            f"stream mode, batch {batch} (encode + XADD)",
            f"{s_wall / n * 1e6:8.1f} µs wall {s_cpu / n * 1e6:8.1f} µs CPU   "
            f"{s_wall / wall:.3f} / {s_cpu / cpu:.3f} of local",
        )
    stream_cfg = config(directory, args.url, base + "enc", base + "s3:")
    row(
        "  of which encoding alone (JSONL, capped)",
        f"{encode_cost(stream_cfg, exchanges) * 1e6:8.1f} µs",
    )

    print("\nOne worker draining the stream (parse, both phases, save to SQLite, ack + delete):")

    def worker_config(rep: int, **state: Any) -> Config:
        key, prefix = base + f"w{rep}", base + f"s{rep}:"  # no state shared between runs
        analysis = {"mode": "stream", "batch": args.batch, "stream": key}
        return config(directory, args.url, key, prefix, analysis=analysis, state=state)

    baselines, in_memory = [], []
    for rep in range(args.reps):  # alternated, so that machine noise shows in both
        baselines.append(in_memory_rate(local, exchanges))
        rate, events = worker_rate(worker_config(rep), exchanges, directory)
        assert events == n, events
        in_memory.append(rate)
    baseline = statistics.median(baselines)
    shown = "  ".join(f"{r:,.0f}" for r in baselines)
    row("engine in memory, no stream (analyze)", f"{baseline:9,.0f} exchanges/s  1.000   ({shown})")
    rate = statistics.median(in_memory)
    shown = "  ".join(f"{r:,.0f}" for r in in_memory)
    row(
        "worker, detector state in memory",
        f"{rate:9,.0f} exchanges/s  {rate / baseline:.3f}   ({shown})",
    )
    rate, events = worker_rate(worker_config(args.reps, backend="redis"), exchanges, directory)
    assert events == n, events
    row(
        "worker, detector state on Redis (one run)",
        f"{rate:9,.0f} exchanges/s  {rate / baseline:.3f}",
    )


if __name__ == "__main__":
    main()

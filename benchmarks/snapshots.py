"""What the server's live snapshots cost with a large inventory, and what they leave analysis.

An engine learns `--endpoints` documented endpoints (a generated spec, so templates stay apart)
from traffic with a JSON answer each; then one snapshot is taken part by part (settling on a
copy, the report document, the traffic buckets, the store write to SQLite), and `LiveAnalysis`
is fed the same traffic again with `save_seconds` 1 and with snapshots practically off, in the
same run: events/s of each and their ratio, the snapshots written, and the interval the
analysis stretched to.

    python benchmarks/snapshots.py [--endpoints 2000] [--events 60000]
"""

from __future__ import annotations

import argparse
import itertools
import json
import tempfile
import time
from pathlib import Path

from apishield.config import Config
from apishield.engine import Engine
from apishield.exchange import Exchange
from apishield.ingest.openapi import load_spec
from apishield.inventory.spec import ApiSpec
from apishield.privacy import Hasher
from apishield.report.document import RunInfo, build_document
from apishield.server.analysis import LiveAnalysis
from apishield.startup import install_compiled_cache
from apishield.store.database import Store
from apishield.testing import T0, make_exchange

BODY = b'{"id":40213377,"name":"Ada Lovelace","email":"ada@example.org","plan":"unlimited"}'


def words(count: int) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    return ["".join(p) for p in itertools.islice(itertools.product(letters, repeat=4), count)]


def spec(directory: Path, names: list[str]) -> ApiSpec:
    ok = {"200": {"description": "ok"}}
    document = {
        "openapi": "3.0.3",
        "info": {"title": "many endpoints", "version": "1"},
        "paths": {f"/api/{name}/items": {"get": {"responses": ok}} for name in names},
    }
    path = directory / "spec.json"
    path.write_text(json.dumps(document))
    return load_spec(path)


def traffic(names: list[str], events: int, offset: float = 0.0) -> list[Exchange]:
    return [
        make_exchange(
            path=f"/api/{names[n % len(names)]}/items",
            peer_ip=f"198.51.100.{n % 200}",
            started=T0 + offset + n * 0.5,
            response_body=BODY,
            response_headers={"content-type": "application/json"},
        )
        for n in range(events)
    ]


def parts(engine: Engine, store: Store) -> None:
    """One snapshot, timed part by part."""
    info = RunInfo("live", 0.0, 1.0, [], 0, 0, 0, {}, [])
    began = time.perf_counter()
    result = engine.snapshot()
    settled = time.perf_counter()
    document = build_document(result, info)
    built = time.perf_counter()
    points = engine.series_points(settled_only=True)
    drained = time.perf_counter()
    run_id = store.save_analysis(document)
    store.replace_run(run_id, document, points)
    written = time.perf_counter()
    print(
        f"one snapshot of {len(result.endpoints):,} endpoints: settle on a copy "
        f"{settled - began:.2f} s, document {built - settled:.2f} s, buckets "
        f"{drained - built:.2f} s, store write {written - drained:.2f} s"
    )


def live(api: ApiSpec, exchanges: list[Exchange], save_seconds: float, db: Path) -> float:
    """Events/s of the live analysis over `exchanges`, snapshots every `save_seconds`."""
    engine = Engine(Config(), Hasher(b"k" * 32), spec=api)
    store = Store(f"sqlite:///{db}")
    store.create()
    analysis = LiveAnalysis(engine, store, save_seconds=save_seconds)
    began = time.perf_counter()
    for start in range(0, len(exchanges), 500):
        while not analysis.offer(exchanges[start : start + 500]):
            time.sleep(0.01)
    while analysis.stats()["processed"] < len(exchanges):
        time.sleep(0.01)
    elapsed = time.perf_counter() - began
    print(
        f"  save_seconds {save_seconds:>6g}: {len(exchanges) / elapsed:>8,.0f} events/s, "
        f"{analysis.writer.saves} snapshots written, interval stretched to "
        f"{analysis.interval:.1f} s"
    )
    analysis.close()
    return len(exchanges) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--endpoints", type=int, default=2000)
    parser.add_argument("--events", type=int, default=60_000)
    args = parser.parse_args()
    install_compiled_cache()
    names = words(args.endpoints)
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        api = spec(directory, names)
        engine = Engine(Config(), Hasher(b"k" * 32), spec=api)
        for exchange in traffic(names, args.endpoints * 3):
            engine.process(exchange)
        store = Store(f"sqlite:///{directory / 'parts.db'}")
        store.create()
        parts(engine, store)
        exchanges = traffic(names, args.events)
        print(f"live analysis of {args.events:,} events over {args.endpoints:,} endpoints:")
        quiet = live(api, exchanges, 3600.0, directory / "quiet.db")
        busy = live(api, traffic(names, args.events), 1.0, directory / "busy.db")
        ratio = busy / quiet
        print(f"ratio with snapshots every second (stretched as needed) / without: {ratio:.2f}")


if __name__ == "__main__":
    main()

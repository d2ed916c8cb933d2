"""End-to-end events/s of `apishield analyze` (ingest and every default stage) on nginx JSON.

Printed beside the rate of bare `orjson.loads` over the same lines in the same run, so the figure
reads as a ratio to the parse-only ceiling of this machine, not as a number from somewhere else.
The analysis runs as pure Python and with the hot path compiled by mypyc (setup.py; the build
goes to build/compiled and takes about a minute the first time), each with the behavioural
detectors off (the foundation's pipeline) and on. `--identities N` spreads the traffic over N
distinct JWT identities, to read the peak memory of detector state for that many.
`--breakdown N` then times each pipeline stage over the first N lines, in a separate run so the
timers do not slow the figures above; what is left of the total is reading and parsing the
lines, the pipeline's own bookkeeping, and the timers.

    python benchmarks/ingest.py [--lines 1000000] [--identities 2000] [--keep FILE] [--pure-only]
        [--breakdown N]
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import itertools
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import jwt
import orjson

TEMPLATES = [
    ("GET", "/v2/customers/{n}"),
    ("GET", "/v2/customers/{n}/profile"),
    ("GET", "/v2/customers/{n}/lines"),
    ("PATCH", "/v2/customers/{n}/profile"),
    ("GET", "/v2/accounts/{n}/bills"),
    ("GET", "/v2/accounts/{n}/bills/{n}"),
    ("GET", "/v2/orders/{uuid}"),
    ("POST", "/v2/orders"),
    ("GET", "/v2/numbers/{phone}/porting"),
    ("GET", "/v2/plans"),
    ("GET", "/v2/search?q={word}&limit={small}"),
    ("POST", "/v2/auth/login"),
    ("GET", "/health"),
    ("GET", "/v1/customers/{n}"),
    ("GET", "/partner/v1/subscribers/{phone}"),
    ("DELETE", "/v2/sessions/{hex}"),
]
WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"]


def generate(path: Path, count: int, identities: int = 2000, seed: int = 1) -> None:
    rng = random.Random(seed)
    # Signed once and varied by subject: encoding a million tokens would take longer than the run.
    template = jwt.encode(
        {"sub": "user-0000000", "exp": 1_900_000_000},
        "bench-secret-0123456789abcdef0123",
        algorithm="HS256",
    )
    header, _, rest = template.partition(".")
    _, _, signature = rest.partition(".")

    def token(i: int) -> str:
        claims = orjson.dumps({"sub": f"user-{i:07d}", "exp": 1_900_000_000})
        payload = base64.urlsafe_b64encode(claims).rstrip(b"=").decode()
        return f"{header}.{payload}.{signature}"

    tokens = [token(i) for i in range(identities)]
    start = dt.datetime(2026, 3, 1, tzinfo=dt.UTC).timestamp()
    with path.open("wb") as out:
        for i in range(count):
            method, template = TEMPLATES[rng.randrange(len(TEMPLATES))]
            uri = (
                template.replace("{n}", str(rng.randrange(10_000_000, 99_999_999)), 1)
                .replace("{n}", str(rng.randrange(1, 9999)))
                .replace("{uuid}", f"{rng.getrandbits(128):032x}")
                .replace("{phone}", f"+1415555{rng.randrange(10_000):04d}")
                .replace("{hex}", f"{rng.getrandbits(96):024x}")
                .replace("{word}", rng.choice(WORDS))
                .replace("{small}", str(rng.randrange(1, 100)))
            )
            moment = dt.datetime.fromtimestamp(start + i * 0.05, dt.UTC)
            record = {
                "time_iso8601": moment.strftime("%Y-%m-%dT%H:%M:%S+00:00"),
                "remote_addr": "10.0.0.5",
                "http_x_forwarded_for": f"100.{64 + i % 64}.{i % 251}.{i % 253 + 1}",
                "request_method": method,
                "request_uri": uri,
                "status": 200 if i % 17 else 404,
                "body_bytes_sent": 512 + i % 2048,
                "request_time": round(0.002 + (i % 97) / 1000, 3),
                "http_user_agent": "TelcoApp/5.2 (iOS 18.1)",
                "http_authorization": "Bearer " + tokens[i % len(tokens)] if i % 11 else "",
                "host": "api.telco.example",
            }
            out.write(orjson.dumps(record) + b"\n")


def parse_only(path: Path) -> tuple[int, float]:
    loads = orjson.loads
    began = time.perf_counter()
    count = 0
    with path.open("rb") as handle:
        for line in handle:
            loads(line)
            count += 1
    return count, time.perf_counter() - began


class Timed:
    """A pipeline stage that adds up the time it takes, for the breakdown."""

    def __init__(self, stage: Any) -> None:
        self.stage = stage
        self.name: str = stage.name
        self.seconds = 0.0

    def __call__(self, exchange: Any) -> None:
        began = time.perf_counter()
        try:
            self.stage(exchange)
        finally:
            self.seconds += time.perf_counter() - began


def worker(path: Path, limit: int | None = None, detect: bool = True, checks: bool = True) -> None:
    """Runs in its own process so peak memory is the analysis's alone. With `limit`, only that
    many lines are read and every stage is timed. Without `checks`, the per-request checks are
    off: what is left is the foundation's analysis (ingest, normalise, inventory)."""
    from apishield.checks import request_findings
    from apishield.config import ChecksConfig, Config, DetectConfig, IdentityConfig
    from apishield.engine import Engine
    from apishield.ingest import IngestStats, read_exchanges
    from apishield.privacy import Hasher
    from apishield.startup import analysis_collector, install_compiled_cache
    from apishield.testing import make_exchange

    install_compiled_cache()  # as the CLI does: the signature databases load, not compile
    # Built before the clock starts, as a server has them before its first request: on a machine
    # whose cache is still cold, compiling them takes half a minute.
    request_findings(make_exchange("GET", "/warm-up", query="q=1"))
    config = Config(
        identity=IdentityConfig(trusted_proxies=["10.0.0.0/8"]),
        checks=ChecksConfig(enabled=None if checks else []),
        detect=DetectConfig(enabled=detect),
    )
    engine = Engine(config, Hasher(b"b" * 32))
    timed: list[Timed] = []
    if limit is not None:
        pipeline = engine.pipeline
        pipeline.request_stages = [Timed(stage) for stage in pipeline.request_stages]
        pipeline.response_stages = [Timed(stage) for stage in pipeline.response_stages]
        timed = [*pipeline.request_stages, *pipeline.response_stages]  # type: ignore[list-item]
    stats = IngestStats()
    with analysis_collector():  # as `apishield analyze` runs
        began, cpu = time.perf_counter(), time.process_time()
        for exchange in itertools.islice(read_exchanges(path, "nginx-json", stats=stats), limit):
            engine.process(exchange)
        processed, cpu = time.perf_counter() - began, time.process_time() - cpu
    result = engine.result()
    total = time.perf_counter() - began
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "events": stats.events,
                "skipped": stats.skipped,
                "seconds": processed,
                "cpu_seconds": cpu,
                "seconds_with_result": total,
                "endpoints": len(result.endpoints),
                "peak_mb": peak,
                "stage_errors": result.stage_errors,
                "stages": {stage.name: stage.seconds for stage in timed},
                "state_keys": len(engine.detect.state) if detect else 0,  # type: ignore[arg-type]
                "incidents": len(result.incidents),
            }
        )
    )


ROOT = Path(__file__).resolve().parents[1]
COMPILED = ROOT / "build" / "compiled"


def build_compiled() -> Path:
    """A copy of the source with the hot path compiled in place; rebuilt when a source changed."""
    source = ROOT / "src"
    target = COMPILED / "src"
    inputs = [*source.rglob("*.py"), ROOT / "setup.py"]
    newest = max(p.stat().st_mtime for p in inputs)
    stamp = COMPILED / "stamp"
    if stamp.exists() and stamp.stat().st_mtime >= newest:
        return target
    print("compiling the hot path with mypyc ...", flush=True)
    shutil.rmtree(COMPILED, ignore_errors=True)
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("*.so", "__pycache__"))
    for name in ("setup.py", "pyproject.toml"):
        shutil.copy(ROOT / name, COMPILED / name)
    subprocess.run(
        [sys.executable, "setup.py", "build_ext", "--inplace"],
        cwd=COMPILED,
        env={**os.environ, "APISHIELD_COMPILE": "1"},
        check=True,
        stdout=subprocess.DEVNULL,
    )
    stamp.touch()
    os.utime(stamp, (newest, newest))  # a source edited during the build still rebuilds
    return target


def analyse(
    path: Path,
    source: Path | None,
    limit: int | None = None,
    detect: bool = True,
    checks: bool = True,
) -> dict[str, Any]:
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    if source is not None:
        env["PYTHONPATH"] = str(source)
    extra = [] if limit is None else ["--limit", str(limit)]
    if not detect:
        extra.append("--no-detect")
    if not checks:
        extra.append("--no-checks")
    out = subprocess.run(
        [sys.executable, __file__, "--worker", str(path), *extra],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def breakdown(label: str, result: dict[str, Any]) -> None:
    events = result["events"]
    stages = result["stages"]
    parts = [("read, parse, rest", result["seconds"] - sum(stages.values())), *stages.items()]
    print(f"per event by stage, {label}, first {events:,} lines (timed, so a little slower):")
    for name, seconds in parts:
        print(f"  {name:<17} {seconds / events * 1e6:7.2f} µs")
    print(f"  {'total':<17} {result['seconds'] / events * 1e6:7.2f} µs")


def report(label: str, result: dict[str, Any], parse_rate: float) -> float:
    rate: float = result["events"] / result["seconds"]
    print(
        f"apishield analyze, {label:<13}: {rate:>10,.0f} events/s  "
        f"ratio to parse {rate / parse_rate:.3f}  peak {result['peak_mb']:.0f} MB  "
        f"events={result['events']:,} skipped={result['skipped']} endpoints={result['endpoints']}"
    )
    if result.get("state_keys"):
        print(f"  detector state keys {result['state_keys']:,}, incidents {result['incidents']}")
    if result["stage_errors"]:
        print(f"  stage errors: {result['stage_errors']}")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument(
        "--identities", type=int, default=2000, help="Distinct JWT identities in the traffic."
    )
    parser.add_argument("--keep", type=Path, help="Write the generated log here and keep it.")
    parser.add_argument("--pure-only", action="store_true", help="Skip the compiled build.")
    parser.add_argument(
        "--breakdown", type=int, metavar="N", help="Also time each stage over the first N lines."
    )
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--limit", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--no-detect", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--no-checks", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.limit, detect=not args.no_detect, checks=not args.no_checks)
        return
    compiled = None if args.pure_only else build_compiled()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or Path(tmp) / "access.jsonl"
        print(
            f"generating {args.lines:,} nginx JSON lines, {args.identities:,} identities ...",
            flush=True,
        )
        generate(path, args.lines, args.identities)
        print(f"file: {path.stat().st_size / 1e6:.0f} MB", flush=True)
        count, parse_seconds = parse_only(path)
        parse_rate = count / parse_seconds
        print(f"orjson.loads only                : {parse_rate:>10,.0f} lines/s  (the ceiling)")
        foundation = report("py, inv", analyse(path, None, detect=False, checks=False), parse_rate)
        report("py, inv+det", analyse(path, None, checks=False), parse_rate)
        best = report("python", analyse(path, None, detect=False), parse_rate)
        with_detectors = analyse(path, None)
        detecting = report("python+det", with_detectors, parse_rate)
        peak = with_detectors["peak_mb"]
        if compiled is not None:
            foundation = max(
                foundation,
                report(
                    "comp, inv", analyse(path, compiled, detect=False, checks=False), parse_rate
                ),
            )
            report("comp, inv+det", analyse(path, compiled, checks=False), parse_rate)
            best = max(best, report("compiled", analyse(path, compiled, detect=False), parse_rate))
            with_detectors = analyse(path, compiled)
            detecting = max(detecting, report("comp+det", with_detectors, parse_rate))
            peak = max(peak, with_detectors["peak_mb"])
        if args.breakdown:
            for label, source in (("python", None), ("compiled", compiled)):
                if label == "python" or source is not None:
                    breakdown(label, analyse(path, source, args.breakdown))
    print("(one core; peak memory of the analysis process. inv: ingest, normalise and inventory,")
    print(" the foundation's analysis, with the per-request checks off; python and compiled: the")
    print(" default pipeline, checks on; +det: with the behavioural detectors as well; inv+det:")
    print(" the foundation's analysis and the detectors, without the per-request checks)")
    for label, rate in (("ingest, normalise, inventory", foundation), ("with checks", best)):
        verdict = "met" if rate >= 100_000 else "NOT met"
        print(f"goal >= 100,000 events/s, {label}: {verdict}")
    print(f"goal >= 50,000 events/s with detectors: {'met' if detecting >= 50_000 else 'NOT met'}")
    verdict = "met" if peak <= 1024 else "NOT met"
    if args.identities < 1_000_000:
        verdict = "not judged here: run with --identities 1000000"
    print(
        f"peak with detectors, {args.identities:,} identities: {peak:,.0f} MB "
        f"(goal for 1M: <= 1 GB, {verdict})"
    )


if __name__ == "__main__":
    main()

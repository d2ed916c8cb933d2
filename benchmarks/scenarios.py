"""Behavioural detection on the simulated telco: every attack scenario, and a benign-only week.

For each scenario the simulator's ground truth names the attacker actors and the onset; an
incident belongs to a scenario when one of its actors or IPs is the scenario's, and the time to
detect is the event time of the first detection in it minus the onset. The benign-only run (same
options, no attacks, a different seed from the one the thresholds were set on) lists every
incident it raises, with its rules, so each false positive can be read and explained.

    python benchmarks/scenarios.py [--days 7] [--subscribers 5000] [--seed 11] [--benign-seed 12]
"""

from __future__ import annotations

import argparse
import bisect
import datetime as dt
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import orjson

from apishield.config import Config, IdentityConfig
from apishield.detect.incidents import Incident
from apishield.engine import Engine
from apishield.ingest.openapi import load_spec
from apishield.ingest.reader import read_exchanges
from apishield.ingest.stats import IngestStats
from apishield.privacy import Hasher
from apishield.startup import analysis_collector

GOALS = {
    "exfiltration": 3_600.0,
    "enumeration": 600.0,
    "credential-stuffing": 300.0,
}
"""Time-to-detect goals in event seconds; BOLA's goal is in requests (50)."""
BOLA_REQUESTS = 50
KEY = b"benchmark-install-secret-32bytes"


def simulate(out: Path, days: float, subscribers: int, seed: int, scenarios: str) -> Path:
    truth = out.with_suffix(".truth.json")
    command = [
        sys.executable, "-c", "from apishield.cli import main; main()", "simulate",
        "--out", str(out), "--format", "jsonl",
        "--days", str(days), "--subscribers", str(subscribers), "--seed", str(seed),
        "--scenarios", scenarios, "--truth", str(truth), "--quiet",
    ]  # fmt: skip
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    print(f"  simulated in {time.perf_counter() - started:.1f}s -> {out.name}")
    return truth


def analyse(
    path: Path, spec: Path | None, watch: dict[str, str] | None = None
) -> tuple[list[Incident], int, float, dict[str, list[float]]]:
    """Run the engine over the file; `watch` maps actor keys and IPs to a scenario, whose
    requests' event times are returned (BOLA's goal counts requests, not seconds)."""
    config = Config(
        identity=IdentityConfig.model_validate({"trusted_proxies": ["10.0.0.0/8"]}),
    )
    engine = Engine(config, Hasher(KEY), spec=load_spec(spec) if spec else None)
    stats = IngestStats()
    seen: dict[str, list[float]] = {}
    started = time.perf_counter()
    events = 0
    with analysis_collector():  # as `apishield analyze` runs
        for exchange in read_exchanges(path, "jsonl", stats=stats):
            engine.process(exchange)
            events += 1
            actor = exchange.actor
            if watch and actor is not None:
                name = watch.get(actor.key) or watch.get(actor.ip)
                if name is not None:
                    seen.setdefault(name, []).append(exchange.started)
    elapsed = time.perf_counter() - started
    result = engine.result()
    if stats.skipped:
        print(f"  skipped lines: {stats.skipped} {dict(stats.skipped_by_reason)}")
    if result.stage_errors:
        print(f"  stage errors: {result.stage_errors}")
    return result.incidents, events, elapsed, seen


def actor_keys(actors: dict[str, Any], hasher: Hasher) -> tuple[set[str], set[str]]:
    """The incident actor keys and IPs a scenario's attackers show up as."""
    ips = set(actors.get("ips", []))
    keys = {f"ip:{ip}" for ip in ips}
    keys |= {f"id:{identity}" for identity in actors.get("identities", [])}
    keys |= {f"key:{hasher.mask(key).digest[:16]}" for key in actors.get("api_keys", [])}
    return keys, ips


def judge(scenario: dict[str, Any], incidents: list[Incident], hasher: Hasher) -> dict[str, Any]:
    keys, ips = actor_keys(scenario.get("actors", {}), hasher)
    start = float(scenario["start"])
    mine = [i for i in incidents if i.last_seen >= start and (keys & set(i.actors) or ips & i.ips)]
    if not mine:
        return {"detected": False}
    # An incident opened before the onset (a campaign scope, a victim's own account) counts
    # from the first detection after it.
    after = [t for i in mine for t in _times(i) if t >= start - 60]
    if not after:
        return {"detected": False}
    first = min(after)
    top = max(mine, key=lambda i: (i.severity, -i.first_seen))
    return {
        "detected": True,
        "seconds": first - start,
        "severity": top.severity.label,
        "title": top.title,
        "rules": sorted({r for i in mine for r in i.rules}),
        "incidents": len(mine),
    }


def _times(incident: Incident) -> list[float]:
    return [*incident.detected_at.values(), *(e.time for e in incident.timeline)]


def _when(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%d %H:%M")


def attacks(args: argparse.Namespace, folder: Path) -> None:
    print(
        f"\n== Attack scenarios: {args.days} days, {args.subscribers} subscribers, seed {args.seed}"
    )
    out = folder / "attacks.jsonl.gz"
    truth_path = simulate(out, args.days, args.subscribers, args.seed, "all")
    spec = out.parent / "telco-openapi.yaml"
    truth = orjson.loads(truth_path.read_bytes())
    hasher = Hasher(KEY)
    watch = {}
    for scenario in truth["scenarios"]:
        keys, ips = actor_keys(scenario.get("actors", {}), hasher)
        watch.update(dict.fromkeys(keys | ips, scenario["name"]))
    incidents, events, elapsed, seen = analyse(out, spec if spec.exists() else None, watch)
    print(f"  analysed {events:,} events in {elapsed:.1f}s ({events / elapsed:,.0f}/s)")
    print(f"  {'scenario':<22} {'onset (UTC)':<17} {'detected':<9} {'time to detect':>15}  "
          f"{'severity':<9} goal")  # fmt: skip
    for scenario in truth["scenarios"]:
        verdict = judge(scenario, incidents, hasher)
        name = scenario["name"]
        goal = _goal(name, verdict, scenario, sorted(seen.get(name, [])))
        if verdict["detected"]:
            seconds = verdict["seconds"]
            print(
                f"  {name:<22} {_when(scenario['start']):<17} {'yes':<9} "
                f"{_duration(seconds):>15}  {verdict['severity']:<9} {goal}"
            )
            print(f"      {verdict['title']}; rules: {', '.join(verdict['rules'])}")
        else:
            print(
                f"  {name:<22} {_when(scenario['start']):<17} {'NO':<9} {'-':>15}  {'-':<9} {goal}"
            )


def _goal(name: str, verdict: dict[str, Any], scenario: dict[str, Any], times: list[float]) -> str:
    if not verdict["detected"]:
        return "MISSED (goal: detected)"
    if name in GOALS:
        met = verdict["seconds"] <= GOALS[name]
        return f"{'met' if met else 'MISSED'} (within {_duration(GOALS[name])})"
    if name == "bola":
        # The attacker's identity may have benign history before the onset: count from it.
        before = bisect.bisect_left(times, scenario["start"])
        used = bisect.bisect_right(times, scenario["start"] + verdict["seconds"]) - before
        met = used <= BOLA_REQUESTS
        return f"{'met' if met else 'MISSED'} ({used} requests; goal {BOLA_REQUESTS})"
    return "met (detected)"


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def benign(args: argparse.Namespace, folder: Path) -> None:
    print(f"\n== Benign only: {args.days} days, {args.subscribers} subscribers, "
          f"seed {args.benign_seed}")  # fmt: skip
    out = folder / "benign.jsonl.gz"
    simulate(out, args.days, args.subscribers, args.benign_seed, "none")
    spec = out.parent / "telco-openapi.yaml"
    incidents, events, elapsed, _ = analyse(out, spec if spec.exists() else None)
    print(f"  analysed {events:,} events in {elapsed:.1f}s ({events / elapsed:,.0f}/s)")
    by_severity = Counter(i.severity.label for i in incidents)
    days = max(args.days, 1e-9)
    print(
        f"  incidents: {dict(by_severity)}; high: {by_severity.get('high', 0)} (goal 0), "
        f"medium per day: {by_severity.get('medium', 0) / days:.2f} (goal at most 2)"
    )
    for incident in incidents:
        if incident.severity.label in ("critical", "high", "medium"):
            actors = ", ".join(list(incident.actors)[:3])
            print(
                f"  - {incident.severity.label:<6} {_when(incident.first_seen)} {incident.title} "
                f"[{', '.join(incident.rules)}] actors: {actors}"
            )
            if incident.timeline:
                print(f"      evidence: {incident.timeline[0].evidence}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=7)
    parser.add_argument("--subscribers", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--benign-seed", type=int, default=12)
    parser.add_argument("--skip-benign", action="store_true")
    parser.add_argument("--skip-attacks", action="store_true")
    parser.add_argument("--keep", type=Path, help="Keep the generated traffic in this folder.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        folder = args.keep or Path(temporary)
        folder.mkdir(parents=True, exist_ok=True)
        if not args.skip_attacks:
            attacks(args, folder)
        if not args.skip_benign:
            benign(args, folder)


if __name__ == "__main__":
    main()

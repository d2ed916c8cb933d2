"""Recall, false positives and speed of the protocol check (`proto.*`) on the shared corpora.

Exchanges are built exactly as the detection benchmark builds them (`corpus.to_exchange`). Prints
recall on crs_protocol by split (TUNE / HOLDOUT, chosen by the SHA-256 of the record id) and CRS
paranoia level, and the false-positive rate of each benign set by split: a benign record is a false
positive when any `proto.*` finding fires. `--misses` lists TUNE misses and TUNE false positives
only; holdout records are counted, never shown (`--tune-only` hides even the counts). Last,
microseconds per ordinary request.

    .venv/bin/python benchmarks/protocol_tune.py [--misses] [--tune-only]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from apishield.checks.protocol import check_protocol
from apishield.checks.registry import CheckContext
from apishield.exchange import Exchange, Finding
from apishield.testing import make_exchange
from corpus import Sample, load, to_exchange

ATTACKS = "crs_protocol"
BENIGN = ("crs_benign", "libinjection_benign", "blns_benign")
CONTEXT = CheckContext()


def findings(sample: Sample) -> list[Finding] | None:
    exchange = to_exchange(sample.record)
    return None if exchange is None else check_protocol(exchange, CONTEXT)


Key = tuple[str, str, str]
"""(set, group, split): group is a paranoia level or "all"."""


def measure(show_misses: bool, holdout: bool) -> None:
    hits: Counter[Key] = Counter()
    totals: Counter[Key] = Counter()
    rules: Counter[str] = Counter()
    for sample in load():
        if sample.set != ATTACKS and sample.set not in BENIGN:
            continue
        if sample.label != ("attack" if sample.set == ATTACKS else "benign"):
            continue
        found = findings(sample)
        for group in {sample.paranoia or "all", "all"}:
            totals[(sample.set, group, sample.split)] += 1
            hits[(sample.set, group, sample.split)] += bool(found)
        if found and sample.split == "tune":
            rules.update(f"{sample.label:6} {f.rule_id}" for f in found)
        if show_misses and sample.split == "tune" and (bool(found) != (sample.set == ATTACKS)):
            _show(sample, found)
    _report(hits, totals, holdout)
    print("\nTUNE records each rule fired on (attack = crs_protocol, benign = the benign sets):")
    for rule, count in sorted(rules.items()):
        print(f"  {rule:40} {count}")


def _show(sample: Sample, found: list[Finding] | None) -> None:
    record = sample.record
    what = [f"{f.rule_id}:{f.title}" for f in found or []] or ["miss"]
    rule = record.get("crs_rule_id", "")
    print(f"{sample.set} {sample.id} {rule} {sample.paranoia} -> {'; '.join(what)}")


def _report(hits: Counter[Key], totals: Counter[Key], holdout: bool) -> None:
    print(f"{'set':22} {'group':6} {'TUNE':>18}  {'HOLDOUT' if holdout else '':>18}")
    for set_name in (ATTACKS, *BENIGN):
        groups = ("PL1", "PL2+", "all") if set_name == ATTACKS else ("all",)
        what = "recall" if set_name == ATTACKS else "FP"
        for group in groups:
            cells = []
            for split in ("tune", "holdout") if holdout else ("tune",):
                total = totals[(set_name, group, split)]
                hit = hits[(set_name, group, split)]
                share = 100.0 * hit / total if total else 0.0
                cells.append(f"{hit:>4}/{total:<4} {share:6.1f}%")
            print(f"{set_name:22} {group:6} {'  '.join(f'{c:>18}' for c in cells)}  {what}")


def ordinary() -> list[Exchange]:
    """Everyday API requests: what the check costs when it finds nothing."""
    base = {
        "host": "api.example.com",
        "user-agent": "okhttp/4.12.0",
        "accept": "application/json",
        "accept-encoding": "gzip, br",
        "authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl",
        "connection": "keep-alive",
    }
    body = b'{"name": "Ada", "plan": "unlimited", "lines": [1, 2, 3]}'
    posted = {**base, "content-type": "application/json", "content-length": str(len(body))}
    requests = [
        make_exchange("GET", "/v1/customers/40213377/profile", query="fields=name,plan&page=2"),
        make_exchange("POST", "/v1/customers", headers=posted, body=body),
        make_exchange("DELETE", "/v1/sessions/abc", headers=base),
    ]
    requests[0].request.headers.update(base)
    for exchange in requests:
        exchange.request.http_version = "HTTP/1.1"
    return requests


def speed(rounds: int = 20000) -> None:
    requests = ordinary()
    assert not any(check_protocol(exchange, CONTEXT) for exchange in requests), "ordinary fired"
    started = time.perf_counter()
    for _ in range(rounds):
        for exchange in requests:
            check_protocol(exchange, CONTEXT)
    micros = (time.perf_counter() - started) / (rounds * len(requests)) * 1e6
    print(f"\nordinary request (GET with query, JSON POST, DELETE): {micros:.2f} µs per request")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--misses", action="store_true", help="list TUNE misses and TUNE FPs")
    parser.add_argument("--tune-only", action="store_true", help="hide HOLDOUT while tuning")
    args = parser.parse_args()
    measure(args.misses, not args.tune_only)
    speed()


if __name__ == "__main__":
    main()

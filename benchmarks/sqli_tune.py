"""Recall, false positives and speed of the SQL-injection detector on the shared corpora.

Prints, per corpus, the TUNE and HOLDOUT halves separately (a record is TUNE when the SHA-256 of
its id is even), libinjection's figures beside ours when `libinjection-python` is installed, and
microseconds per value. `--misses` lists TUNE misses and false positives only: holdout records
are counted, never shown.

    .venv/bin/python benchmarks/sqli_tune.py [--corpora ../shared/corpora] [--misses]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from apishield.checks.sqli import detect_sqli

Record = dict[str, Any]
Detector = Callable[[str], bool]

ATTACK_SETS = {
    "libinjection sqli": ("libinjection/libinjection_sqli.jsonl", None),
    "crs sqli PL1": ("crs/crs_sqli.jsonl", 1),
    "crs sqli PL2+": ("crs/crs_sqli.jsonl", 2),
}
BENIGN_SETS = {
    "libinjection benign": "libinjection/libinjection_benign.jsonl",
    "crs benign": "crs/crs_benign.jsonl",
    "blns benign": "blns/blns_benign.jsonl",
}


def is_tune(record: Record) -> bool:
    return int(hashlib.sha256(record["id"].encode()).hexdigest(), 16) % 2 == 0


def load(path: Path) -> list[Record]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def values_of(record: Record) -> list[str]:
    """What a server sees: the plain value, or each form-decoded name and value (query, body)."""
    if record.get("value") is not None:
        return [record["value"]]
    values: list[str] = []
    for part in (record.get("query") or "", record.get("body") or ""):
        for name, value in urllib.parse.parse_qsl(part, keep_blank_values=True):
            values.extend((name, value))
    return values


def request_values(record: Record) -> list[str]:
    """Beyond query and body, what else a per-request check reads: path and header values."""
    path = urllib.parse.unquote(record.get("path") or "")
    headers = [v for k, v in (record.get("headers") or {}).items() if k.lower() not in _PLAIN]
    return [*values_of(record), path, *headers]


_PLAIN = frozenset(("host", "accept", "content-type", "content-length", "connection"))
EXTRACT: list[Callable[[Record], list[str]]] = [values_of]


def records_of(corpora: Path, path: str, level: int | None) -> list[Record]:
    records = [r for r in load(corpora / path) if r.get("label") != "ambiguous"]
    if level == 1:
        return [r for r in records if r.get("crs_paranoia_level") == 1]
    if level == 2:
        return [r for r in records if r.get("crs_paranoia_level", 1) >= 2]
    return records


def libinjection_detector() -> Detector | None:
    try:
        import libinjection  # type: ignore[import-not-found]
    except ImportError:
        return None

    def detect(value: str) -> bool:
        return bool(libinjection.is_sql_injection(value)["is_sqli"])

    return detect


def ours(value: str) -> bool:
    return detect_sqli(value) is not None


def flagged(record: Record, detector: Detector) -> bool:
    return any(detector(value) for value in EXTRACT[0](record))


def halves(records: list[Record]) -> Iterator[tuple[str, list[Record]]]:
    yield "TUNE", [r for r in records if is_tune(r)]
    yield "HOLDOUT", [r for r in records if not is_tune(r)]


def score(records: list[Record], detector: Detector) -> tuple[int, int]:
    return sum(flagged(r, detector) for r in records), len(records)


def pct(hits: int, total: int) -> str:
    return f"{100.0 * hits / total:6.2f}%" if total else "   n/a"


def report(corpora: Path, show_misses: bool) -> None:
    detectors: dict[str, Detector] = {"apishield": ours}
    reference = libinjection_detector()
    if reference is not None:
        detectors["libinjection"] = reference
    counts: dict[tuple[str, str], list[int]] = {}
    print(f"{'set':22} {'split':8} {'n':>5}  " + "  ".join(f"{d:>14}" for d in detectors))
    for name, (path, level) in ATTACK_SETS.items():
        _report_set(name, records_of(corpora, path, level), detectors, counts, "recall")
        if show_misses:
            _show(name, records_of(corpora, path, level), attack=True)
    for name, path in BENIGN_SETS.items():
        _report_set(name, records_of(corpora, path, None), detectors, counts, "fp")
        if show_misses:
            _show(name, records_of(corpora, path, None), attack=False)
    for split in ("TUNE", "HOLDOUT"):
        for detector in detectors:
            tp, pos, fp, _neg = counts.get((detector, split), [0, 0, 0, 0])
            precision = tp / (tp + fp) if tp + fp else 0.0
            recall = tp / pos if pos else 0.0
            f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
            print(f"F1 {split:8} {detector:13} P={precision:.4f} R={recall:.4f} F1={f1:.4f}")


def _report_set(
    name: str,
    records: list[Record],
    detectors: dict[str, Detector],
    counts: dict[tuple[str, str], list[int]],
    kind: str,
) -> None:
    for split, part in halves(records):
        cells = []
        for detector_name, detector in detectors.items():
            hits, total = score(part, detector)
            cells.append(f"{pct(hits, total):>14}")
            tally = counts.setdefault((detector_name, split), [0, 0, 0, 0])
            if kind == "recall" and not name.endswith("PL2+"):
                tally[0] += hits
                tally[1] += total
            elif kind == "fp":
                tally[2] += hits
                tally[3] += total
        print(f"{name + ' ' + kind:22} {split:8} {len(part):5}  " + "  ".join(cells))


def _show(name: str, records: list[Record], *, attack: bool) -> None:
    for record in records:
        if not is_tune(record):
            continue
        values = EXTRACT[0](record)
        reasons = [detect_sqli(v) for v in values]
        if attack and not any(reasons):
            print(f"  MISS {name}: {[v[:140] for v in values]!r}")
        if not attack and any(reasons):
            print(f"  FP   {name}: {[v[:140] for v in values]!r} {reasons}")


def timing(corpora: Path) -> None:
    benign = [v for p in BENIGN_SETS.values() for r in load(corpora / p) for v in values_of(r)]
    benign += ["Jane Doe", "2024-05-01", "jane.doe@example.com", "+1 415 555 0100", "42", "blue"]
    attack = [r["value"] for r in load(corpora / ATTACK_SETS["libinjection sqli"][0])]
    long = [("x" * 150) + " ' or 1=1 -- " + ("y" * 37), "it's " * 40]
    for label, values in (("benign", benign), ("attack", attack), ("200-char", long)):
        start = time.perf_counter()
        rounds = max(1, 20000 // len(values))
        for _ in range(rounds):
            for value in values:
                detect_sqli(value)
        elapsed = time.perf_counter() - start
        print(f"{label:9} {1e6 * elapsed / (rounds * len(values)):8.2f} µs/value")
    words = ["Jane", "Doe", "2024-05-01", "jane.doe@example.com", "42", "Bluetooth speaker"]
    start = time.perf_counter()
    for _ in range(20000):
        for value in words:
            detect_sqli(value)
    print(f"{'plain':9} {1e6 * (time.perf_counter() - start) / 120000:8.2f} µs/value (prefilter)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = Path(__file__).resolve().parent
    parser.add_argument("--corpora", type=Path, default=here.parent.parent / "shared" / "corpora")
    parser.add_argument("--misses", action="store_true", help="list TUNE misses and FPs")
    parser.add_argument(
        "--whole-request", action="store_true", help="also read the path and header values"
    )
    args = parser.parse_args()
    if args.whole_request:
        EXTRACT[0] = request_values
    report(args.corpora, args.misses)
    timing(args.corpora)


if __name__ == "__main__":
    main()

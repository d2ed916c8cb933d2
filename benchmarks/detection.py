"""apishield's per-request attack detection on ../shared/corpora, beside libinjection and CRS.

Every record is checked by apishield's request-phase checks (no spec), by libinjection on the
values a server would hand the application, and by ModSecurity v3 + OWASP CRS at paranoia levels
1 and 2, replayed over loopback to a private nginx that this script starts and stops. apishield
flags a record when any finding's rule id starts with "inj." or "proto.". Figures are printed per
set and class, for apishield on the TUNE and HOLDOUT halves separately (rules may only be tuned on
TUNE), and goals are judged on HOLDOUT.

    make bench-detection            # installs nginx/ModSecurity/CRS and libinjection, then runs
    python -m benchmarks.detection [--limit N] [--no-modsec] [--json FILE] [--corpora DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from apishield.checks import request_findings
from apishield.exchange import Exchange
from benchmarks import corpus, libinjection_runner, modsec, scoring

ATTACK_PREFIXES = ("inj.", "proto.")
PARANOIA_LEVELS = (1, 2)


def run_apishield(exchanges: Sequence[Exchange | None]) -> tuple[list[Any], dict[str, Any]]:
    """(flagged, assigned classes) per record, plus how long it took and what failed."""
    results: list[Any] = []
    errors: Counter[str] = Counter()
    started = time.perf_counter()
    for count, exchange in enumerate(exchanges, 1):
        results.append(None if exchange is None else apishield_verdict(exchange, errors))
        if count % 5000 == 0:
            print(f"  apishield: {count}/{len(exchanges)}", file=sys.stderr, flush=True)
    elapsed = time.perf_counter() - started
    checked = sum(1 for exchange in exchanges if exchange is not None)
    meta = {
        "seconds": elapsed,
        "errors": dict(errors),
        "us_per_request": 1e6 * elapsed / max(checked, 1),
    }
    return results, meta


def apishield_verdict(exchange: Exchange, errors: Counter[str]) -> tuple[bool, tuple[str, ...]]:
    """Whether any attack finding fired, and the classes the findings named."""
    try:
        findings = [f for f in request_findings(exchange) if f.rule_id.startswith(ATTACK_PREFIXES)]
    except Exception as error:  # a crash is reported and scored as "not flagged"
        errors[type(error).__name__] += 1
        return False, ()
    classes = tuple(sorted({f.evidence["class"] for f in findings if "class" in f.evidence}))
    return bool(findings), classes


def run_modsec(samples: Sequence[corpus.Sample]) -> tuple[dict[str, list[bool | None]], Any]:
    """403-or-not per record for each paranoia level, or why ModSecurity was left out."""
    install = modsec.find_installation()
    if isinstance(install, str):
        print(f"ModSecurity column skipped: {install}", file=sys.stderr)
        return {}, {"skipped": install}
    wires = [corpus.wire_request(sample.record) for sample in samples]
    installed = modsec.installed_rule_ids()
    absent = Counter(
        s.label for s in samples if s.family == "crs" and s.record["crs_rule_id"] not in installed
    )
    flags, meta = {}, {"versions": install.versions(), "crs_tests_of_rules_not_installed": absent}
    for level in PARANOIA_LEVELS:
        flags[f"crs_pl{level}"], meta[f"PL{level}"] = replay_level(install, level, samples, wires)
    return flags, meta


def replay_level(
    install: modsec.Installation, level: int, samples: Sequence[corpus.Sample], wires: list[bytes]
) -> tuple[list[bool | None], dict[str, Any]]:
    """Blocked-or-not per record at one paranoia level; unanswered records are left unscored."""
    started = time.perf_counter()
    with modsec.ModSecurity(install, level) as server:
        statuses = modsec.replay(server, wires)
    unanswered = [sample.id for sample, status in zip(samples, statuses, strict=True) if not status]
    meta = {
        "seconds": time.perf_counter() - started,
        "statuses": dict(Counter(str(status or "no answer") for status in statuses).most_common()),
        "no_answer": unanswered[:20],
    }
    return [None if status is None else status == 403 for status in statuses], meta


def group_of(sample: corpus.Sample) -> scoring.Group:
    if sample.label == "benign":
        return (sample.set, "benign", "")
    if sample.label == "ambiguous":
        return (sample.set, sample.klass, "")
    return (sample.set, sample.klass, sample.paranoia)


def score_rows(
    samples: Sequence[corpus.Sample], detectors: dict[str, list[Any]], verdicts: list[Any]
) -> list[scoring.Scored]:
    rows = []
    for i, sample in enumerate(samples):
        flags = {name: values[i] for name, values in detectors.items()}
        flags["apishield"] = None if verdicts[i] is None else verdicts[i][0]
        assigned = () if verdicts[i] is None else verdicts[i][1]
        subclass = str(sample.record.get("subclass") or "")
        group = group_of(sample)
        rows.append(
            scoring.Scored(
                group, sample.family, sample.label, sample.split, flags, assigned, subclass
            )
        )
    return rows


def report(summary: list[dict[str, Any]], rows: list[scoring.Scored], meta: dict[str, Any]) -> None:
    columns = scoring.COLUMNS
    print(f"\nRecall (attacks) and FP rate (benign); goals judged on {scoring.GOAL_SPLIT}")
    print(scoring.detection_table(summary, columns))
    print("\nPrecision/F1 per attack class, against the same source's benign set")
    print(scoring.f1_table(summary, columns))
    print("\nAmbiguous records (no right answer): share flagged")
    print(scoring.ambiguous_table(summary, columns))
    print("\napishield class agreement (attacks it flagged)")
    print(scoring.agreement_table(scoring.agreement(rows)))
    print("\nRun")
    print(json.dumps(meta, indent=1, default=str))
    verdicts = " ".join(entry["goal"] for entry in summary).split()
    print(
        f"\napishield goals ({scoring.GOAL_SPLIT}): {verdicts.count('ok')} met, "
        f"{verdicts.count('MISS')} missed"
    )
    absent = meta.get("modsecurity", {}).get("crs_tests_of_rules_not_installed")
    if absent:
        version = meta["modsecurity"]["versions"]["modsecurity-crs"]
        print(
            f"Note: CRS tests written for rules the installed CRS {version} does not have: "
            f"{dict(absent)} (the corpus comes from a newer CRS)"
        )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--corpora", type=Path, default=corpus.CORPORA)
    parser.add_argument("--limit", type=int, default=None, help="first N records of each set")
    parser.add_argument("--no-modsec", action="store_true", help="leave ModSecurity out")
    parser.add_argument("--json", type=Path, default=None, help="write the figures to FILE")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    samples = list(corpus.load(args.corpora, args.limit))
    exchanges = [corpus.to_exchange(sample.record) for sample in samples]
    meta: dict[str, Any] = {
        "records": len(samples),
        "splits": dict(Counter(s.split for s in samples)),
        "raw_requests_unparsed": sum(1 for e in exchanges if e is None),
    }
    print(f"{len(samples)} records from {args.corpora}", file=sys.stderr)
    verdicts, meta["apishield"] = run_apishield(exchanges)
    detectors: dict[str, list[Any]] = {}
    if libinjection_runner.available():
        detectors["libinjection"] = [
            libinjection_runner.flagged(s.record, e)
            for s, e in zip(samples, exchanges, strict=True)
        ]
    else:
        print("libinjection column skipped: pip install -e '.[bench]'", file=sys.stderr)
    if not args.no_modsec:
        crs_flags, meta["modsecurity"] = run_modsec(samples)
        detectors |= crs_flags
    rows = score_rows(samples, detectors, verdicts)
    summary = scoring.summarise(rows)
    report(summary, rows, meta)
    if args.json:
        args.json.write_text(json.dumps({"meta": meta, "groups": summary}, indent=1, default=str))
        print(f"figures written to {args.json}", file=sys.stderr)


if __name__ == "__main__":
    main()

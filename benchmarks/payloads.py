"""Recall of the request checks on payload lists of your own, and false positives on the values
the OpenAPI specs of ../shared/corpora document.

Point it at a folder of payload lists laid out one folder per attack class, each holding `.txt`
files with one payload a line (the layout of the "Intruder" lists in public payload collections
such as PayloadsAllTheThings, or of a SecLists checkout sorted by class):

    payloads/xss/*.txt   payloads/sqli/*.txt   payloads/ssti/*.txt   ...

Each payload is sent the ways an API receives a value: as a query value, percent-encoded; as
written, when it already holds %XX escapes (it is then wire form); and as a string in a JSON
body. It counts as found when any form gets an `inj.` or `proto.` finding, the rule of
benchmarks/detection.py. The benign side takes every example, enum and default string and the
first 200 characters of every description in the specs, sent the same ways. Nothing is
stored but the counts and, with `--misses`, the payloads missed and the benign values flagged.

Every payload falls in one of two halves by a hash of its text: TUNE and CHECK. Recall is printed
for each; `--misses` writes the TUNE half's misses only, so whoever tunes signatures on a list
never sees what the CHECK half misses, and CHECK stays a fair measure of what was not fitted.

    python benchmarks/payloads.py DIR [--specs DIR] [--misses OUT]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson
import yaml

from apishield.checks import request_findings
from apishield.exchange import Exchange
from apishield.testing import make_exchange

SPECS = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "openapi"
PREFIXES = ("inj.", "proto.")
_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")
_SPEC_KEYS = frozenset(("example", "examples", "default", "enum"))


def forms(value: str) -> Iterator[Exchange]:
    """The requests that carry `value`: query (encoded, and as written if already encoded)
    and JSON body."""
    yield make_exchange("GET", "/api/items", query="q=" + quote(value, safe=""))
    if _ESCAPE.search(value) and "&" not in value and "#" not in value:
        yield make_exchange("GET", "/api/items", query="q=" + value.replace(" ", "%20"))
    body = orjson.dumps({"q": value})
    yield make_exchange(
        "POST", "/api/items", headers={"content-type": "application/json"}, body=body
    )


def rule_ids(value: str) -> set[str]:
    """Every attack rule that fires on any form of `value`."""
    fired: set[str] = set()
    for exchange in forms(value):
        fired.update(f.rule_id for f in request_findings(exchange))
    return {rule for rule in fired if rule.startswith(PREFIXES)}


def half(payload: str) -> str:
    """TUNE or CHECK, fixed by the payload's text alone."""
    digest = hashlib.sha256(payload.encode("utf-8", "surrogatepass")).digest()
    return "check" if digest[0] & 1 else "tune"


def payload_lists(root: Path) -> dict[str, list[str]]:
    """Class folder -> its payloads, deduplicated, in file and line order."""
    classes: dict[str, list[str]] = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        seen: dict[str, None] = {}
        for path in sorted(folder.glob("*.txt")):
            text = path.read_bytes().decode("utf-8", "replace")
            for line in text.splitlines():
                if line.strip():
                    seen.setdefault(line, None)
        if seen:
            classes[folder.name] = list(seen)
    return classes


def spec_values(root: Path) -> list[str]:
    """Example, enum and default strings and the head of every description, deduplicated."""
    found: dict[str, None] = {}
    for path in sorted(root.glob("*")):
        if path.suffix not in (".json", ".yaml", ".yml"):
            continue
        text = path.read_text(encoding="utf-8")
        document = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
        for value in _documented(document):
            folded = " ".join(value.split())
            if folded:
                found.setdefault(folded, None)
    return list(found)


def _documented(node: Any, inside: bool = False) -> Iterator[str]:
    if isinstance(node, str):
        if inside:
            yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            if key == "description" and isinstance(value, str) and not inside:
                yield value[:200]
            else:
                yield from _documented(value, inside or key in _SPEC_KEYS)
    elif isinstance(node, list):
        for value in node:
            yield from _documented(value, inside)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("payloads", type=Path, help="folder of <class>/*.txt payload lists")
    parser.add_argument("--specs", type=Path, default=SPECS, help="OpenAPI specs for benign values")
    parser.add_argument("--misses", type=Path, help="write each class's misses and the FPs here")
    args = parser.parse_args(argv)
    if not args.payloads.is_dir():
        parser.error(f"{args.payloads} is not a folder of <class>/*.txt payload lists")
    started = time.perf_counter()
    classes = payload_lists(args.payloads)
    if not classes:
        parser.error(f"no <class>/*.txt payload lists under {args.payloads}")
    print(
        f"{'class':<12}{'payloads':>9}{'found':>8}{'recall':>9}{'TUNE':>18}{'CHECK':>18}"
        "  rules that fired most"
    )
    totals: Counter[str] = Counter()
    for name, payloads in classes.items():
        missed: list[str] = []
        rules: Counter[str] = Counter()
        counts: Counter[str] = Counter()
        for payload in payloads:
            fired = rule_ids(payload)
            rules.update(fired)
            which = half(payload)
            counts[which] += 1
            counts[f"{which} found"] += bool(fired)
            if not fired and which == "tune":
                missed.append(payload)
        totals.update(counts)
        top = ", ".join(f"{rule} {n}" for rule, n in rules.most_common(3))
        print(f"{name:<12}{_recall_cells(counts)}  {top}")
        _write(args.misses, f"{name}.txt", missed)
    print(f"{'all':<12}{_recall_cells(totals)}")
    if args.specs.is_dir():
        values = spec_values(args.specs)
        flagged = [(sorted(fired), value) for value in values if (fired := rule_ids(value))]
        rate = len(flagged) / len(values) if values else 0.0
        print(
            f"benign: {len(values)} documented values from {args.specs}, "
            f"{len(flagged)} flagged ({rate:.2%})"
        )
        _write(args.misses, "benign-flagged.txt", [f"{','.join(r)}\t{v}" for r, v in flagged])
    else:
        print(f"benign: skipped, no specs at {args.specs}")
    print(f"({time.perf_counter() - started:.1f} s)")
    return 0


def _recall_cells(counts: Counter[str]) -> str:
    """Payloads, found, recall, then found/payloads and recall of each half."""
    total = counts["tune"] + counts["check"]
    found = counts["tune found"] + counts["check found"]
    cells = f"{total:>9}{found:>8}{_share(found, total):>9}"
    for which in ("tune", "check"):
        n, hits = counts[which], counts[f"{which} found"]
        cells += f"{f'{hits}/{n}':>11}{_share(hits, n):>7}"
    return cells


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else "-"


def _write(folder: Path | None, name: str, lines: list[str]) -> None:
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())

"""Per-class recall and false-positive rate of the injection signatures on the shared corpora.

Each record's attacker-controlled values (path segments, query and form or JSON body values and
keys, multipart file names and contents, cookies, User-Agent, Referer and non-standard headers) go
through `decode.variants` and one `Matcher.scan`, as the injection check does. Figures are printed
for the TUNE split (sha256 of the id even) and the HOLDOUT split. `--misses CLASS` and `--fps` list
TUNE records only: holdout records are never shown, so they stay unseen.

    .venv/bin/python benchmarks/signatures_tune.py [--corpora ../shared/corpora] [--misses xss]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import timeit
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote

from apishield.checks.decode import variants
from apishield.checks.matcher import Matcher
from apishield.checks.sqli import detect_sqli
from apishield.exchange import Severity

STANDARD_HEADERS = {
    "host", "accept", "accept-encoding", "accept-language", "accept-charset", "content-length",
    "content-type", "connection", "keep-alive", "proxy-connection", "cache-control", "pragma",
    "te", "upgrade-insecure-requests", "if-modified-since", "if-none-match", "authorization",
    "transfer-encoding", "expect", "range", "if-range", "origin", "sec-fetch-mode",
    "sec-fetch-site", "sec-fetch-dest", "dnt",
}  # fmt: skip
ATTACK_FILES = [
    "crs/crs_sqli", "crs/crs_xss", "crs/crs_rce", "crs/crs_lfi", "crs/crs_rfi", "crs/crs_php",
    "crs/crs_ssrf", "crs/crs_log4shell", "crs/crs_nosqli", "crs/crs_other",
    "libinjection/libinjection_xss", "libinjection/libinjection_sqli", "blns/blns_attack",
]  # fmt: skip
BENIGN_FILES = ["crs/crs_benign", "libinjection/libinjection_benign", "blns/blns_benign"]


def is_tune(record: dict[str, Any]) -> bool:
    return int(hashlib.sha256(record["id"].encode()).hexdigest(), 16) % 2 == 0


def load(corpora: Path, name: str) -> list[dict[str, Any]]:
    with (corpora / f"{name}.jsonl").open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def record_values(record: dict[str, Any]) -> list[str]:
    """Every value an attacker controls in the record, as the application would receive it."""
    path = record.get("path") or ""
    values = [unquote(path, errors="replace")]
    values.extend(unquote(seg, errors="replace") for seg in path.split("/"))
    values.extend(_pairs(record.get("query") or ""))
    headers = {k.lower(): str(v) for k, v in (record.get("headers") or {}).items()}
    body = record.get("body")
    if isinstance(body, str) and body:
        values.extend(_body_values(body, headers.get("content-type", "")))
    for name, value in headers.items():
        if name == "cookie":
            for part in value.split(";"):
                values.extend(part.strip().split("=", 1))
        elif name not in STANDARD_HEADERS:
            values.append(value)
    return [v for v in values if v]


def _pairs(text: str) -> Iterator[str]:
    for key, value in parse_qsl(text, keep_blank_values=True, errors="replace"):
        yield key
        yield value


def _body_values(body: str, content_type: str) -> list[str]:
    stripped = body.lstrip()
    if "json" in content_type or stripped[:1] in ("{", "["):
        try:
            return list(_json_leaves(json.loads(body)))
        except ValueError:
            return [body]
    if "multipart" in content_type:
        return _multipart(body, content_type)
    if stripped[:1] == "<" or "xml" in content_type:
        return [body]
    if "=" in body:
        return list(_pairs(body))
    return [body]


def _json_leaves(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield str(key)
            yield from _json_leaves(value)
    elif isinstance(node, list):
        for item in node:
            yield from _json_leaves(item)
    elif node is not None:
        yield str(node)


def _multipart(body: str, content_type: str) -> list[str]:
    boundary = content_type.partition("boundary=")[2].strip('"; ')
    if not boundary:
        return [body]
    values = []
    for part in body.split("--" + boundary):
        head, _, content = part.partition("\r\n\r\n")
        if not content:
            head, _, content = part.partition("\n\n")
        for line in head.splitlines():
            for token in ("filename=", "name="):
                for chunk in line.split(token)[1:]:
                    values.append(chunk.split(";")[0].strip().strip('"'))
        values.append(content.rstrip("\r\n-"))
    return values


def record_texts(record: dict[str, Any]) -> list[str]:
    texts: list[str] = []
    for value in record_values(record):
        texts.extend(variants(value))
    return texts


def group_of(name: str, record: dict[str, Any]) -> str:
    """Reporting group: CRS class with paranoia level, or the corpus file."""
    if name.startswith("crs/"):
        cls = record["class"] if record["class"] != "other" else record.get("subclass", "other")
        level = "PL1" if record.get("crs_paranoia_level") == 1 else "PL2+"
        return f"crs {cls} {level}"
    if name.startswith("blns/"):
        return f"blns {record['class']}"
    return name.rsplit("/", 1)[1]


def evaluate(corpora: Path, matcher: Matcher, show_misses: str | None, show_fps: bool) -> None:
    rows: dict[str, list[int]] = defaultdict(lambda: [0] * 8)
    for name in ATTACK_FILES + BENIGN_FILES:
        for record in load(corpora, name):
            if record["label"] not in ("attack", "benign"):
                continue
            texts = record_texts(record)
            hits = matcher.scan(texts)
            high = any(sig.severity >= Severity.HIGH for _, sig in hits)
            group = group_of(name, record)
            base = 0 if is_tune(record) else 4
            row = rows[group]
            row[base] += 1
            row[base + 1] += bool(hits)
            row[base + 2] += high
            row[base + 3] += bool(hits) or any(detect_sqli(text) for text in texts)
            if not is_tune(record):
                continue
            label = record["label"]
            if label == "attack" and not hits and show_misses and show_misses in group:
                print("MISS", record["id"], json.dumps(record_values(record))[:300])
            if label == "benign" and hits and show_fps:
                ids = sorted({sig.rule_id for _, sig in hits})
                print("FP", record["id"], ids, json.dumps(record_values(record))[:200])
    _print_table(rows)


def _print_table(rows: dict[str, list[int]]) -> None:
    head = f"{'n':>5} {'any':>6} {'high':>6} {'+tok':>6}"
    print(f"{'':31}{'TUNE':^26}   {'HOLDOUT':^26}")
    print(f"{'group':31}{head}   {head}")
    for group in sorted(rows):
        row = rows[group]
        cells = [_cells(row[:4]), _cells(row[4:])]
        print(f"{group:31}{cells[0]}   {cells[1]}")
    print(
        "attack groups: recall; benign groups (class None): false-positive rate. any = any "
        "signature, high = a HIGH one, +tok = any signature or the SQL tokeniser"
    )


def _cells(counts: list[int]) -> str:
    total, *parts = counts
    return f"{total:5} " + " ".join(f"{_pct(part, total):>6}" for part in parts)


def _pct(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:.1f}%" if whole else "-"


def speed(matcher: Matcher) -> None:
    """Cost of decode + scan for a benign 200-byte query and a 2 KB JSON body."""
    query = (
        "customer_id=40213377&plan=unlimited-plus&start=2024-03-01&end=2024-03-31&"
        "fields=name,email,phone&sort=-created_at&page=2&per_page=50&lang=en-GB&"
        "utm_source=newsletter&region=eu-west-1&q=roaming+charges+france"
    )
    body = json.dumps(
        {
            "items": [
                {"sku": f"SIM-{i:05d}", "name": "Prepaid SIM card", "qty": i % 3 + 1,
                 "note": "Deliver to the front desk, ask for Maria", "price": 9.99}
                for i in range(14)
            ],
            "customer": {"email": "maria@example.com", "phone": "+44 20 7946 0958"},
        }
    )  # fmt: skip
    cases = (
        (f"{len(query)}-byte query", list(_pairs(query))),
        (f"{len(body)}-byte JSON body", list(_json_leaves(json.loads(body)))),
    )
    for label, values in cases:

        def run(values: list[str] = values) -> None:
            texts: list[str] = []
            for value in values:
                texts.extend(variants(value))
            matcher.scan(texts)

        loops = 20_000
        per = min(timeit.repeat(run, number=loops, repeat=3)) / loops
        print(f"decode+scan {label}: {per * 1e6:.1f} µs ({len(values)} values)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--corpora", type=Path, default=Path(__file__).parents[2] / "shared/corpora"
    )
    parser.add_argument("--misses", help="list TUNE misses of groups containing this text")
    parser.add_argument("--fps", action="store_true", help="list TUNE false positives")
    parser.add_argument("--no-speed", action="store_true")
    args = parser.parse_args()
    matcher = Matcher()
    evaluate(args.corpora, matcher, args.misses, args.fps)
    if not args.no_speed:
        speed(matcher)


if __name__ == "__main__":
    main()

"""Recall, false-positive rate, precision and F1 per corpus set and class, for every detector.

Each record is reduced to a `Scored` row: its group (set, class, paranoia bucket), its label and
split, and one flag per detector (None where that detector did not see the record, e.g. a request
that could not be sent). Precision for an attack group counts the flagged records of the same
family's benign set as its false positives, so F1 means "this class's attacks mixed with that
source's benign traffic". Ambiguous records only get a share flagged.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

RECALL_GOAL = 0.97
FP_GOAL = 0.005
GOAL_SPLIT = "holdout"
"""apishield is judged on records it was not tuned on; comparators on the same records."""

Group = tuple[str, str, str]
"""(set, class, paranoia bucket); class is "benign" for benign sets, bucket "" outside CRS."""


@dataclass(frozen=True, slots=True)
class Column:
    title: str
    detector: str
    split: str | None = None


COLUMNS = (
    Column("apishield tune", "apishield", "tune"),
    Column("apishield holdout", "apishield", "holdout"),
    Column("apishield all", "apishield"),
    Column("libinjection", "libinjection"),
    Column("CRS PL1", "crs_pl1"),
    Column("CRS PL2", "crs_pl2"),
)
COVERS = {"libinjection": frozenset({"sqli", "xss"})}
"""Classes a comparator is built for; elsewhere its F1 is not a fair yardstick and is not shown."""


@dataclass(frozen=True, slots=True)
class Scored:
    group: Group
    family: str
    label: str
    split: str
    flags: Mapping[str, bool | None]
    assigned: tuple[str, ...] = ()
    """The attack classes apishield's findings named (evidence "class")."""
    subclass: str = ""


@dataclass(frozen=True, slots=True)
class Rate:
    hits: int
    n: int

    @property
    def share(self) -> float | None:
        return self.hits / self.n if self.n else None


def rate(rows: Iterable[Scored], detector: str, split: str | None = None) -> Rate:
    """Share of rows the detector flagged, among the rows it saw (and of the split, if given)."""
    seen = [
        row.flags.get(detector)
        for row in rows
        if row.flags.get(detector) is not None and split in (None, row.split)
    ]
    return Rate(sum(1 for flag in seen if flag), len(seen))


def precision(attacks: Rate, benign: Rate) -> float | None:
    flagged = attacks.hits + benign.hits
    return attacks.hits / flagged if flagged and benign.n else None


def f1(recall: float | None, prec: float | None) -> float | None:
    if recall is None or prec is None:
        return None
    return 2 * recall * prec / (recall + prec) if recall + prec else 0.0


def group_rows(rows: Iterable[Scored]) -> dict[Group, list[Scored]]:
    """Rows by group, in first-seen order (the order of the corpus sets)."""
    grouped: dict[Group, list[Scored]] = {}
    for row in rows:
        grouped.setdefault(row.group, []).append(row)
    return grouped


def benign_pools(grouped: Mapping[Group, list[Scored]]) -> dict[str, list[Scored]]:
    """Each family's benign rows, the false positives an attack group's precision is charged."""
    pools: dict[str, list[Scored]] = {}
    for members in grouped.values():
        if members[0].label == "benign":
            pools.setdefault(members[0].family, []).extend(members)
    return pools


def figures(attacks: Sequence[Scored], benign: Sequence[Scored], column: Column) -> dict[str, Any]:
    """One detector's figures for one group (benign may be empty where no benign set exists)."""
    hit = rate(attacks, column.detector, column.split)
    out: dict[str, Any] = {"hits": hit.hits, "n": hit.n, "share": hit.share}
    if attacks and attacks[0].label == "attack" and covers(column.detector, attacks[0].group[1]):
        prec = precision(hit, rate(benign, column.detector, column.split))
        out |= {"precision": prec, "f1": f1(hit.share, prec)}
    return out


def covers(detector: str, klass: str) -> bool:
    return detector not in COVERS or klass in COVERS[detector]


def summarise(rows: Iterable[Scored], columns: Sequence[Column] = COLUMNS) -> list[dict[str, Any]]:
    """One entry per group with every column's figures and the goal verdict: the JSON results."""
    grouped = group_rows(rows)
    pools = benign_pools(grouped)
    out = []
    for group, members in grouped.items():
        benign = pools.get(members[0].family, [])
        entry: dict[str, Any] = {
            "set": group[0],
            "class": group[1],
            "level": group[2],
            "label": members[0].label,
            "n": len(members),
            "figures": {col.title: figures(members, benign, col) for col in columns},
        }
        entry["goal"] = goal(entry, members, benign)
        out.append(entry)
    return out


def goal(entry: Mapping[str, Any], members: Sequence[Scored], benign: Sequence[Scored]) -> str:
    """The project's targets for this group, judged on the held-out split; "" where none apply."""
    label, family, klass = entry["label"], members[0].family, entry["class"]
    mine = rate(members, "apishield", GOAL_SPLIT).share
    if mine is None:
        return ""
    if label == "benign":
        return verdict(mine <= FP_GOAL, f"FP<={FP_GOAL:.1%}")
    if label != "attack":
        return ""
    parts = []
    if entry["level"] == "PL1" or (family == "libinjection" and klass in {"sqli", "xss"}):
        parts.append(verdict(mine >= RECALL_GOAL, f"recall>={RECALL_GOAL:.0%}"))
    if benign:
        mine_f1 = holdout_f1(members, benign, "apishield")
        for rival, name in (("crs_pl1", "CRS1"), ("libinjection", "libinj")):
            if covers(rival, klass):
                theirs = holdout_f1(members, benign, rival)
                if mine_f1 is not None and theirs is not None:
                    parts.append(verdict(mine_f1 > theirs, f"F1>{name}"))
    return " ".join(parts)


def holdout_f1(members: Sequence[Scored], benign: Sequence[Scored], detector: str) -> float | None:
    hit = rate(members, detector, GOAL_SPLIT)
    return f1(hit.share, precision(hit, rate(benign, detector, GOAL_SPLIT)))


def verdict(met: bool, what: str) -> str:
    return f"{what} {'ok' if met else 'MISS'}"


def percent(share: float | None, digits: int = 1) -> str:
    return "-" if share is None else f"{share:.{digits}%}"


def rate_cell(fig: Mapping[str, Any], label: str) -> str:
    """Recall for attacks; FP rate with its count for benign sets (the goal is in tenths of %)."""
    if label == "benign":
        return "-" if not fig["n"] else f"{percent(fig['share'], 2)} ({fig['hits']})"
    return percent(fig["share"])


def f1_cell(fig: Mapping[str, Any]) -> str:
    if fig.get("f1") is None:
        return "-"
    return f"{fig['precision']:.3f}/{fig['f1']:.3f}"


def render(headers: Sequence[str], rows: Sequence[Sequence[str]], align: str = "lllr") -> str:
    """Plain aligned text; `align` has "l" or "r" per column, its last letter repeating."""
    widths = [
        max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)
    ]
    lines = []
    for row in (headers, *rows):
        cells = [
            str(cell).ljust(width)
            if align[min(i, len(align) - 1)] == "l"
            else str(cell).rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def detection_table(summary: Sequence[Mapping[str, Any]], columns: Sequence[Column]) -> str:
    """Recall (attack rows) and FP rate (benign rows) for every column, with the goal verdict."""
    headers = ["set", "class", "PL", "n", "measure", *(c.title for c in columns), "goal"]
    rows = [
        [
            e["set"],
            e["class"],
            e["level"],
            str(e["n"]),
            "FP rate" if e["label"] == "benign" else "recall",
            *(rate_cell(e["figures"][c.title], e["label"]) for c in columns),
            e["goal"],
        ]
        for e in summary
        if e["label"] in {"attack", "benign"}
    ]
    return render(headers, rows, "lllrl" + "r" * len(columns) + "l")


def f1_table(summary: Sequence[Mapping[str, Any]], columns: Sequence[Column]) -> str:
    """Precision/F1 for attack rows, against the same family's benign set."""
    headers = ["set", "class", "PL", "n", *(f"{c.title} P/F1" for c in columns)]
    rows = [
        [
            e["set"],
            e["class"],
            e["level"],
            str(e["n"]),
            *(f1_cell(e["figures"][c.title]) for c in columns),
        ]
        for e in summary
        if e["label"] == "attack"
    ]
    return render(headers, rows)


def ambiguous_table(summary: Sequence[Mapping[str, Any]], columns: Sequence[Column]) -> str:
    """Ambiguous records: no right answer, so only the share each detector flags."""
    headers = ["set", "class", "PL", "n", *(c.title for c in columns)]
    rows = [
        [
            e["set"],
            e["class"],
            e["level"],
            str(e["n"]),
            *(percent(e["figures"][c.title]["share"]) for c in columns),
        ]
        for e in summary
        if e["label"] == "ambiguous"
    ]
    return render(headers, rows)


def agreement(rows: Iterable[Scored]) -> dict[str, dict[str, Any]]:
    """Per corpus class: of the attacks apishield flagged, how many it put in that same class.

    The catch-all class "other" is broken down by subclass, which then also counts as agreeing
    when it starts with the assigned class ("java_attack" for "java").
    """
    out: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row.label != "attack" or not row.flags.get("apishield"):
            continue
        klass = row.group[1]
        key = f"other/{row.subclass}" if klass == "other" and row.subclass else klass
        entry = out.setdefault(key, {"flagged": 0, "agree": 0, "assigned": Counter()})
        entry["flagged"] += 1
        entry["agree"] += any(a == klass or row.subclass.startswith(a) for a in row.assigned)
        entry["assigned"].update(set(row.assigned) or {"(none)"})
    return out


def agreement_table(agreed: Mapping[str, Mapping[str, Any]]) -> str:
    headers = ["class", "flagged", "same class", "classes apishield assigned (top 4)"]
    rows = [
        [
            klass,
            str(e["flagged"]),
            percent(e["agree"] / e["flagged"]),
            ", ".join(f"{name} {count}" for name, count in e["assigned"].most_common(4)),
        ]
        for klass, e in sorted(agreed.items())
    ]
    return render(headers, rows, "lrrl")

"""The ground truth of a simulated run: which requests were attacks, by whom, and when.

Counted while the traffic is written, so the figures are those of the file (first and last
request of each scenario, requests per scenario and per benign source), and the actors are
the ones the scenarios drew. The sim's people, keys and addresses are invented, so the file
lists raw API keys and the token signing key: detectors can be scored against them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from apishield.sim.traffic.attacks import Attack, Scenario


@dataclass(slots=True)
class Tally:
    requests: int = 0
    first: float | None = None
    last: float | None = None


@dataclass(slots=True)
class Truth:
    options: dict[str, Any]
    window: tuple[float, float]
    attacks: list[tuple[Scenario, Attack, float]] = field(default_factory=list)
    """Each selected scenario, what it built, and its planned onset."""
    benign: dict[str, Any] = field(default_factory=dict)
    tallies: dict[str, Tally] = field(default_factory=dict)

    def count(self, label: str, moment: float) -> None:
        tally = self.tallies.get(label)
        if tally is None:
            tally = self.tallies[label] = Tally(first=moment)
        tally.requests += 1
        tally.last = moment

    def document(self) -> dict[str, Any]:
        benign = {k: v for k, v in self.tallies.items() if k.startswith("benign:")}
        return {
            "generator": "apishield simulate",
            "options": self.options,
            "window": _span(*self.window),
            "requests": sum(t.requests for t in self.tallies.values()),
            "scenarios": [self._scenario(*item) for item in self.attacks],
            "benign": {
                "requests": sum(t.requests for t in benign.values()),
                "sources": {
                    k.removeprefix("benign:"): t.requests for k, t in sorted(benign.items())
                },
                **self.benign,
            },
        }

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(orjson.dumps(self.document(), option=orjson.OPT_INDENT_2))

    def _scenario(self, scenario: Scenario, attack: Attack, onset: float) -> dict[str, Any]:
        tally = self.tallies.get(f"scenario:{scenario.name}", Tally())
        first = tally.first if tally.first is not None else onset
        last = tally.last if tally.last is not None else onset
        return {
            "name": scenario.name,
            "letter": scenario.letter,
            "kind": scenario.kind,
            "category": scenario.category,
            "description": scenario.description,
            "onset": onset,
            "onset_iso": iso(onset),
            **_span(first, last),
            "requests": tally.requests,
            "actors": {
                "ips": attack.actors.ips,
                "identities": attack.actors.identities,
                "api_keys": attack.actors.api_keys,
                "user_agents": attack.actors.user_agents,
            },
            "notes": attack.notes,
        }


def _span(start: float, end: float) -> dict[str, Any]:
    return {"start": start, "start_iso": iso(start), "end": end, "end_iso": iso(end)}


def iso(epoch: float) -> str:
    moment = dt.datetime.fromtimestamp(epoch, dt.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")

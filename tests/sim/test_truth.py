"""The ground-truth document: counts, windows and actors per scenario."""

from __future__ import annotations

import random
from pathlib import Path

import orjson

from apishield.sim.traffic.attacks import SCENARIOS, Actors, Attack
from apishield.sim.truth import Truth
from apishield.testing import T0


def test_counts_and_windows_come_from_what_was_written(tmp_path: Path) -> None:
    scenario = SCENARIOS[2]
    attack = Attack([], Actors(ips=["104.1.2.3"], identities=["40200001"]), "a note")
    truth = Truth({"seed": 1}, (T0, T0 + 3600), [(scenario, attack, T0 + 60)])
    for moment in (T0 + 61.5, T0 + 70.0, T0 + 99.25):
        truth.count(f"scenario:{scenario.name}", moment)
    for _ in range(5):
        truth.count("benign:app", T0 + random.Random(1).random())
    truth.count("benign:probe", T0)
    path = tmp_path / "truth.json"
    truth.write(path)
    document = orjson.loads(path.read_bytes())
    (entry,) = document["scenarios"]
    assert (entry["name"], entry["letter"], entry["requests"]) == ("bola", "c", 3)
    assert (entry["start"], entry["end"], entry["onset"]) == (T0 + 61.5, T0 + 99.25, T0 + 60)
    assert entry["start_iso"] == "2023-11-14T22:14:21.500Z"
    assert entry["actors"]["ips"] == ["104.1.2.3"] and entry["notes"] == "a note"
    assert document["requests"] == 9
    assert document["benign"]["sources"] == {"app": 5, "probe": 1}


def test_a_scenario_without_requests_keeps_its_onset() -> None:
    truth = Truth({}, (T0, T0 + 10), [(SCENARIOS[0], Attack([], Actors()), T0 + 5)])
    (entry,) = truth.document()["scenarios"]
    assert entry["requests"] == 0 and entry["start"] == entry["end"] == T0 + 5

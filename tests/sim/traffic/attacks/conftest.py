"""Run one attack scenario alone over a small population, for a week-long window."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from apishield.sim.telco.api import TelcoApi
from apishield.sim.telco.population import build_population
from apishield.sim.traffic.attacks import SCENARIOS, Attack
from apishield.sim.traffic.calendar import Calendar
from apishield.sim.traffic.timeline import Event, merge
from apishield.sim.traffic.world import World, build_world


@dataclass
class Run:
    events: list[Event]
    attack: Attack
    onset: float
    world: World


def run_scenario(name: str, subscribers: int = 300) -> Run:
    calendar = Calendar.parse("2026-01-05", 7)
    population = build_population(5, subscribers)
    api = TelcoApi(population)
    world = build_world(5, population, api, calendar)
    scenario = next(s for s in SCENARIOS if s.name == name)
    onset = scenario.onset(calendar)
    attack = scenario.build(world, onset, random.Random(f"5:{name}"))
    events = list(merge(attack.streams, api.dispatch, calendar.end))
    return Run(events, attack, onset, world)


@pytest.fixture(scope="session")
def scenario_run() -> Callable[[str], Run]:
    cache: dict[str, Run] = {}

    def get(name: str) -> Run:
        if name not in cache:
            cache[name] = run_scenario(name)
        return cache[name]

    return get

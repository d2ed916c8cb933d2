"""One benign day over a small population, shared by the benign-traffic tests."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from apishield.sim.run import plan_incidents
from apishield.sim.telco.api import TelcoApi
from apishield.sim.telco.population import build_population
from apishield.sim.traffic.business import business_streams
from apishield.sim.traffic.calendar import Calendar
from apishield.sim.traffic.services import service_streams
from apishield.sim.traffic.subscribers import subscriber_streams
from apishield.sim.traffic.timeline import Event, merge
from apishield.sim.traffic.world import World, build_world


@dataclass
class Day:
    events: list[Event]
    world: World


@pytest.fixture(scope="session")
def benign_day() -> Day:
    calendar = Calendar.parse("2026-01-06", 1.0)  # a Tuesday
    population = build_population(9, 900)
    api = TelcoApi(population, plan_incidents(9, calendar))
    world = build_world(9, population, api, calendar)
    streams = subscriber_streams(world) + business_streams(world) + service_streams(world)
    return Day(list(merge(streams, api.dispatch, calendar.end)), world)

"""Habits and networks of the population, and what people remember."""

from __future__ import annotations

import random
from collections import Counter

from apishield.sim.telco.api import TelcoApi
from apishield.sim.telco.population import Population, password_of
from apishield.sim.traffic.calendar import Calendar
from apishield.sim.traffic.world import build_world


def test_profiles_mix_platforms_households_and_networks(population: Population) -> None:
    world = build_world(3, population, TelcoApi(population), Calendar.parse("2026-01-05", 7))
    profiles = world.profiles.values()
    platforms = Counter(p.platform for p in profiles)
    assert {"ios", "android", "web", "old-app", "none"} <= set(platforms)
    homes = Counter(p.home_ips[0] for p in profiles)
    assert max(homes.values()) >= 2  # families share a connection
    assert any(p.home_ips[0] != p.home_ips[1] for p in profiles)  # a new lease mid-week
    again = build_world(3, population, TelcoApi(population), Calendar.parse("2026-01-05", 7))
    assert [p.home_ips for p in again.profiles.values()] == [p.home_ips for p in profiles]


def test_a_session_comes_from_the_phone_network_or_home(population: Population) -> None:
    world = build_world(3, population, TelcoApi(population), Calendar.parse("2026-01-05", 7))
    customer = next(
        c for c in population.subscribers if world.profiles[c.customer_id].platform == "ios"
    )
    rng = random.Random(2)
    seen = {world.client(customer, world.calendar.start, rng).ip for _ in range(200)}
    profile = world.profiles[customer.customer_id]
    assert profile.home_ips[0] in seen
    assert any(ip.startswith("100.") for ip in seen) and seen <= {*world.cgnat, profile.home_ips[0]}


def test_the_wallet_remembers_passwords_and_tokens(population: Population) -> None:
    world = build_world(3, population, TelcoApi(population), Calendar.parse("2026-01-05", 7))
    wallet = world.wallet
    assert wallet.password(42) == password_of(3, 42)
    wallet.passwords[42] = "changed"
    assert wallet.password(42) == "changed"
    wallet.tokens[42] = ("t", 1000.0)
    assert wallet.token(42, 900.0) == "t" and wallet.token(42, 950.0) is None

"""(a) Low-and-slow bulk exfiltration through the partner API (T-Mobile, 2023).

The attacker holds the key of finverify, a partner that normally checks a few dozen numbers a
day, and reads one subscriber every 10 to 30 seconds from two new datacenter addresses with a
client the partner never used. No minute has more than a few requests; every request is a
different subscriber; it runs until the window ends, starting over once the list is done. The
partner keeps using the same key from its usual addresses throughout.
"""

from __future__ import annotations

import random

from apishield.sim.traffic.attacks.base import Actors, Attack, stream
from apishield.sim.traffic.network import Addresses, Client
from apishield.sim.traffic.partners import partner_plans
from apishield.sim.traffic.timeline import Flow
from apishield.sim.traffic.world import World

NAME = "exfiltration"
USER_AGENT = "Apache-HttpClient/4.5.14 (Java/17.0.9)"
OCTETS = (18, 54)
SWITCH_EVERY = 7200.0
"""Seconds on one address before moving to the other."""


def build(world: World, onset: float, rng: random.Random) -> Attack:
    plan = next(p for p in partner_plans(world) if p.name == "finverify")
    ips = Addresses(rng, OCTETS).many(2)
    targets = [c.lines[0].msisdn for c in world.population.subscribers]
    targets += rng.sample(world.population.numbers, max(5, len(targets) // 12))
    flow = _drain(plan.api_key, ips, targets, onset, world.calendar.end, rng)
    actors = Actors(ips=ips, api_keys=[plan.api_key], user_agents=[USER_AGENT])
    notes = (
        "the API key is finverify's own, which the partner keeps using from its usual "
        "addresses; label by client IP"
    )
    return Attack([stream(NAME, [(onset, flow)])], actors, notes)


def _drain(
    key: str, ips: list[str], targets: list[str], onset: float, end: float, rng: random.Random
) -> Flow:
    at = onset
    while at < end:
        order = targets[:]
        rng.shuffle(order)
        for number in order:
            ip = ips[int((at - onset) // SWITCH_EVERY) % len(ips)]
            client = Client(ip, USER_AGENT)
            yield at, client.request("GET", f"/partner/v1/subscribers/{number}", api_key=key)
            at += rng.uniform(10.0, 30.0)

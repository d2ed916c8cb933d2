"""(b) Distributed phone-number enumeration before SIM swapping.

240 proxy addresses spread over many /16s each walk the same 200 numbers (two area codes'
555-01xx blocks, 5-25% in service) through the unauthenticated lookup, one request every two
seconds to the millisecond, in bursts, for about four hours: every number is asked from 200+
addresses and most are not subscribers (404). Then the attacker signs in to an account of their
own and tries to move a few of the numbers it found onto a blank SIM (403: not the owner).
"""

from __future__ import annotations

import random
from collections import Counter

from apishield.sim.telco import numbering
from apishield.sim.traffic import agents
from apishield.sim.traffic.attacks.base import Actors, Attack, stream
from apishield.sim.traffic.network import Addresses, Client
from apishield.sim.traffic.steps import machine_login
from apishield.sim.traffic.timeline import Flow
from apishield.sim.traffic.world import World

NAME = "enumeration"
PROXIES = 240
NUMBERS_PER_AREA = 100
DURATION = 3 * 3600.0
INTERVAL = 2.0
OCTETS = (31, 37, 41, 46, 77, 78, 79, 80, 81, 82, 83, 84, 85, 86, 87, 88, 89, 90, 92, 93, 94, 95)
SWAPS = 12


def build(world: World, onset: float, rng: random.Random) -> Attack:
    addresses = Addresses(rng, OCTETS)
    proxies = addresses.many(PROXIES)
    numbers = _targets(world, rng)
    flows: list[tuple[float, Flow]] = []
    user_agents = []
    for index, ip in enumerate(proxies):
        user_agent = rng.choice(agents.BROWSERS[4:])
        user_agents.append(user_agent)
        start = onset + rng.uniform(0, 600)
        order = numbers[index % len(numbers) :] + numbers[: index % len(numbers)]
        flows.append((start, _walk(Client(ip, user_agent), order, start, rng)))
    mule = world.population.mules[0]
    mule_ip = addresses.take()
    hits = [n for n in numbers if n in world.population.by_msisdn][:SWAPS]
    swap_at = onset + DURATION + rng.uniform(900, 1800)
    mule_client = Client(mule_ip, agents.ANDROID_APP[0])
    flows.append((swap_at, _swaps(world, mule_client, hits, swap_at, rng)))
    actors = Actors(
        ips=[*proxies, mule_ip],
        identities=[str(mule.customer_id)],
        user_agents=sorted({*user_agents, agents.ANDROID_APP[0]}),
    )
    notes = "the SIM-swap attempts come from an account the attacker opened (a mule)"
    return Attack([stream(NAME, flows)], actors, notes)


def _targets(world: World, rng: random.Random) -> list[str]:
    """All 100 numbers of two area codes' blocks where 5-25% are subscribers (any with some
    if no block is like that): mostly misses, some hits."""
    in_service = Counter(number[2:5] for number in world.population.by_msisdn)
    areas = sorted(npa for npa, count in in_service.items() if 5 <= count <= 25)
    if len(areas) < 2:
        areas = sorted(in_service)
    chosen = rng.sample(areas, min(2, len(areas)))
    return [numbering.msisdn(npa, line) for npa in chosen for line in numbering.BLOCK]


def _walk(client: Client, numbers: list[str], start: float, rng: random.Random) -> Flow:
    """Bursts at a machine's two-second beat, with long pauses between them."""
    bursts = max(1, round(len(numbers) / 33))
    active = len(numbers) * INTERVAL
    pause = max(DURATION - 600 - active, 0) / bursts
    at = start
    for index, number in enumerate(numbers):
        yield at, client.request("GET", f"/v2/numbers/{number}/lookup")
        at += INTERVAL + rng.uniform(-0.004, 0.004)
        if (index + 1) % 33 == 0:
            at += pause * rng.uniform(0.5, 1.5)


def _swaps(world: World, client: Client, hits: list[str], start: float, rng: random.Random) -> Flow:
    mule = world.population.mules[0]
    token, at = yield from machine_login(world, mule, client, start, rng)
    if token is None:
        return
    blank = numbering.iccid(990_000_000_000 + rng.randrange(10**9))
    for number in hits:
        at += rng.uniform(20, 60)
        body = f'{{"msisdn":"{number}"}}'.encode()
        yield at, client.request("POST", f"/v2/sims/{blank}/swap", token=token, body=body)

"""Forgotten endpoints: (f) the exposed internal test API, and (g) the zombie v1.

(f) A client on the internet guesses its way to /internal/test/customers, which answers without
credentials, and pages through every customer, 500 at a time, password hashes included.

(g) An unknown client with a token of its own account walks the deprecated /v1/customers/{id},
which checks the token but not whose record it returns: most IDs are customers (200), the gaps
of closed accounts are 404.
"""

from __future__ import annotations

import random

from apishield.sim.telco.api import MAX_PAGE
from apishield.sim.traffic.attacks.base import Actors, Attack, stream
from apishield.sim.traffic.network import Addresses, Client
from apishield.sim.traffic.steps import sign_in, token_of
from apishield.sim.traffic.timeline import Flow
from apishield.sim.traffic.world import World

TEST_API = "exposed-test-api"
ZOMBIE = "zombie"
DISCOVERY_AGENT = "Mozilla/5.0 (compatible; ffuf/2.1.0)"
SCRAPER_AGENT = "python-requests/2.31.0"
ZOMBIE_AGENT = "okhttp/3.12.1"
GUESSES = (
    "/internal", "/internal/", "/internal/api", "/internal/docs", "/internal/test",
    "/internal/test/users", "/internal/test/accounts", "/internal/test/customers",
)  # fmt: skip
ZOMBIE_STEPS = 1500
TEST_API_OCTETS = (138,)
ZOMBIE_OCTETS = (159,)


def build_test_api(world: World, onset: float, rng: random.Random) -> Attack:
    ip = Addresses(rng, TEST_API_OCTETS).take()
    flow = _page_through(world, ip, onset, rng)
    actors = Actors(ips=[ip], user_agents=[DISCOVERY_AGENT, SCRAPER_AGENT])
    return Attack([stream(TEST_API, [(onset, flow)])], actors)


def _page_through(world: World, ip: str, start: float, rng: random.Random) -> Flow:
    at = start
    guesser = Client(ip, DISCOVERY_AGENT)
    for path in GUESSES:
        yield at, guesser.request("GET", path)
        at += rng.uniform(0.3, 1.2)
    scraper = Client(ip, SCRAPER_AGENT)
    at += rng.uniform(120, 600)
    for query in ("limit=5", "limit=100", "limit=1000"):
        yield at, scraper.request("GET", "/internal/test/customers", query=query)
        at += rng.uniform(10, 40)
    total = len(world.population.customers)
    for offset in range(0, total, MAX_PAGE):
        query = f"limit={MAX_PAGE}&offset={offset}"
        yield at, scraper.request("GET", "/internal/test/customers", query=query)
        at += rng.uniform(20, 90)


def build_zombie(world: World, onset: float, rng: random.Random) -> Attack:
    ip = Addresses(rng, ZOMBIE_OCTETS).take()
    mule = world.population.mules[1]
    flow = _walk(world, Client(ip, ZOMBIE_AGENT), onset, rng)
    actors = Actors(ips=[ip], identities=[str(mule.customer_id)], user_agents=[ZOMBIE_AGENT])
    notes = "the token is the attacker's own account (a mule), signed in from the same address"
    return Attack([stream(ZOMBIE, [(onset, flow)])], actors, notes)


def _walk(world: World, client: Client, start: float, rng: random.Random) -> Flow:
    mule = world.population.mules[1]
    password = world.wallet.password(mule.customer_id)
    response, at = yield from sign_in(client, mule.email, password, start, rng)
    token = token_of(response)
    if token is None:
        return
    ids = sorted(world.population.by_id)
    customer_id = ids[rng.randrange(max(1, len(ids) // 4))]
    for _ in range(ZOMBIE_STEPS):
        at += rng.uniform(0.6, 1.6)
        yield at, client.request("GET", f"/v1/customers/{customer_id}", token=token)
        customer_id += 1

"""(c) BOLA: a subscriber walks other customers' account numbers on the bills endpoint.

A real customer with days of ordinary app use copies their token into a script, signs in from
a server, reads their own bills, then counts up from their own account number: about one number
in three is an account (200, with the holder's name and address), the rest 404.
"""

from __future__ import annotations

import random

from apishield.sim.traffic.attacks.base import Actors, Attack, stream
from apishield.sim.traffic.network import Addresses, Client
from apishield.sim.traffic.steps import sign_in, token_of
from apishield.sim.traffic.timeline import Flow
from apishield.sim.traffic.world import World

NAME = "bola"
USER_AGENT = "python-requests/2.32.3"
STEPS = 400
OCTETS = (104,)


def build(world: World, onset: float, rng: random.Random) -> Attack:
    candidates = [
        c
        for c in world.population.subscribers
        if not c.company and world.profiles[c.customer_id].platform in ("ios", "android")
    ]
    candidates.sort(key=lambda c: -world.profiles[c.customer_id].sessions_per_day)
    attacker = rng.choice(candidates[: max(1, len(candidates) // 5)])
    ip = Addresses(rng, OCTETS).take()
    flow = _walk(world, attacker.customer_id, Client(ip, USER_AGENT), onset, rng)
    actors = Actors(ips=[ip], identities=[str(attacker.customer_id)], user_agents=[USER_AGENT])
    notes = "the identity is a real customer with benign app traffic before and during the walk"
    return Attack([stream(NAME, [(onset, flow)])], actors, notes)


def _walk(world: World, customer_id: int, client: Client, start: float, rng: random.Random) -> Flow:
    customer = world.population.by_id[customer_id]
    username = world.profiles[customer_id].username
    password = world.wallet.password(customer_id)
    response, at = yield from sign_in(client, username, password, start, rng)
    token = token_of(response)
    if token is None:
        return
    account = int(customer.account_number)
    yield at + 2.0, client.request("GET", f"/v2/accounts/{account}/bills", token=token)
    at += 2.0
    for _ in range(STEPS):
        account += 1 if rng.random() < 0.9 else 2
        at += rng.uniform(2.0, 6.0)
        yield at, client.request("GET", f"/v2/accounts/{account}/bills", token=token)

"""(e) Password-reset abuse (Honda, 2023): resets confirmed without the code.

From two addresses, for about 120 e-mail addresses from a list (most of them customers), the
attacker asks for a reset and confirms it seconds later with the code missing, "000000" or
made up: the API changes the password every time the account exists. For some accounts the
attacker then signs in with the new password and reads the profile and lines. The customers
find out at their next login and reset their password again, properly.
"""

from __future__ import annotations

import random

import orjson

from apishield.sim.telco import names
from apishield.sim.traffic.attacks.base import Actors, Attack, stream
from apishield.sim.traffic.network import Addresses, Client
from apishield.sim.traffic.steps import sign_in, token_of
from apishield.sim.traffic.timeline import Flow
from apishield.sim.traffic.world import World

NAME = "password-reset"
USER_AGENT = "curl/8.5.0"
TARGETS = 120
NEW_PASSWORD = "Spring2026!x"
OCTETS = (185,)


def build(world: World, onset: float, rng: random.Random) -> Attack:
    ips = Addresses(rng, OCTETS).many(2)
    customers = [c for c in world.population.subscribers if not c.company]
    victims = rng.sample(customers, min(len(customers), int(TARGETS * 0.85)))
    targets: list[tuple[str, int | None]] = [(c.email, c.customer_id) for c in victims]
    while len(targets) < TARGETS:
        first, last = rng.choice(names.FIRST_NAMES), rng.choice(names.LAST_NAMES)
        email = f"{first}.{last}{rng.randint(100, 999)}@example.com".lower().replace("'", "")
        if email not in world.population.by_email:
            targets.append((email, None))
    rng.shuffle(targets)
    taken = {cid for _, cid in targets if cid is not None and rng.random() < 0.25}
    flow = _run(ips, targets, taken, onset, rng)
    actors = Actors(ips=ips, identities=sorted(str(cid) for cid in taken), user_agents=[USER_AGENT])
    notes = (
        "identities are the accounts the attacker signed in to after the reset; every "
        "existing target's password was changed"
    )
    return Attack([stream(NAME, [(onset, flow)])], actors, notes)


def _run(
    ips: list[str],
    targets: list[tuple[str, int | None]],
    taken: set[int],
    start: float,
    rng: random.Random,
) -> Flow:
    at = start
    for index, (email, customer_id) in enumerate(targets):
        client = Client(ips[index * len(ips) // len(targets)], USER_AGENT)
        reset = orjson.dumps({"username": email})
        yield at, client.request("POST", "/v2/auth/password-reset", body=reset)
        at += rng.uniform(2, 6)
        confirm: dict[str, str] = {"username": email, "new_password": NEW_PASSWORD}
        roll = rng.random()
        if roll < 0.5:
            confirm["code"] = "000000"
        elif roll < 0.8:
            confirm["code"] = f"{rng.randrange(10**6):06d}"
        body = orjson.dumps(confirm)
        response = yield at, client.request("POST", "/v2/auth/password-reset/confirm", body=body)
        if customer_id in taken and response.status == 200:
            at += rng.uniform(1, 4)
            response, at = yield from sign_in(client, email, NEW_PASSWORD, at, rng)
            token = token_of(response)
            for path in (f"/v2/customers/{customer_id}", f"/v2/customers/{customer_id}/lines"):
                at += rng.uniform(0.5, 2)
                yield at, client.request("GET", path, token=token)
        at += rng.uniform(8, 25)

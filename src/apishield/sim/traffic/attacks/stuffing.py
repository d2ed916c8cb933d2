"""(d) Credential stuffing: a leaked combo list tried from 300 residential-proxy addresses.

Most entries are not customers or carry a password the customer never used here (401); about
one and a half percent reuse their password, and each of those accounts is read at once from
the same address: profile, lines and bills. Attempts are spread over two hours and addresses,
a handful per address, with browser and app User-Agents, some entries tried twice.
"""

from __future__ import annotations

import random

from apishield.sim.telco import names
from apishield.sim.traffic import agents
from apishield.sim.traffic.attacks.base import Actors, Attack, stream
from apishield.sim.traffic.network import Addresses, Client
from apishield.sim.traffic.steps import answered, sign_in, token_of
from apishield.sim.traffic.timeline import Flow
from apishield.sim.traffic.world import World

NAME = "credential-stuffing"
PROXIES = 300
DURATION = 2 * 3600.0
OCTETS = (
    101, 103, 110, 111, 112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122, 123, 124, 125,
    175, 177, 179, 180, 181, 186, 187, 189, 190, 191, 200, 201,
)  # fmt: skip
USER_AGENTS = agents.BROWSERS + agents.IOS_APP[:2] + agents.ANDROID_APP[:2]


def build(world: World, onset: float, rng: random.Random) -> Attack:
    ips = Addresses(rng, OCTETS).many(PROXIES)
    combos, reused = _combo_list(world, rng)
    flows: list[tuple[float, Flow]] = []
    for username, password in combos:
        for _ in range(2 if rng.random() < 0.1 else 1):
            at = onset + rng.uniform(0, DURATION)
            client = Client(rng.choice(ips), rng.choice(USER_AGENTS))
            attempt = _attempt(world, client, username, password, at, rng.getrandbits(64))
            flows.append((at, attempt))
    actors = Actors(ips=ips, identities=reused, user_agents=sorted(set(USER_AGENTS)))
    notes = "identities are the customers whose reused password worked (accounts taken over)"
    return Attack([stream(NAME, flows)], actors, notes)


def _combo_list(world: World, rng: random.Random) -> tuple[list[tuple[str, str | int]], list[str]]:
    """(username, leaked password or the customer ID whose current password leaked)."""
    customers = [c for c in world.population.subscribers if not c.company]
    size = max(200, min(2400, len(customers) // 2))
    real = rng.sample(customers, min(len(customers), int(size * 0.42)))
    reuse = max(3, int(size * 0.015))
    combos: list[tuple[str, str | int]] = []
    reused: list[str] = []
    for index, customer in enumerate(real):
        username = customer.email if rng.random() < 0.8 else customer.lines[0].msisdn
        if index < reuse:
            combos.append((username, customer.customer_id))
            reused.append(str(customer.customer_id))
        else:
            combos.append((username, _leaked_password(rng)))
    while len(combos) < size:
        first, last = rng.choice(names.FIRST_NAMES), rng.choice(names.LAST_NAMES)
        email = f"{first}{last}{rng.randint(1, 9999)}@{rng.choice(names.EMAIL_DOMAINS)}".lower()
        if email.replace("'", "") not in world.population.by_email:
            combos.append((email.replace("'", ""), _leaked_password(rng)))
    rng.shuffle(combos)
    return combos, sorted(reused)


def _leaked_password(rng: random.Random) -> str:
    stems = ("password", "qwerty", "letmein", "summer", "dragon", "monkey", "football", "iloveyou")
    return f"{rng.choice(stems)}{rng.randint(0, 9999)}{rng.choice(('', '!', '#'))}"


def _attempt(
    world: World, client: Client, username: str, leaked: str | int, start: float, seed: int
) -> Flow:
    rng = random.Random(seed)
    password = leaked if isinstance(leaked, str) else world.wallet.password(leaked)
    response, at = yield from sign_in(client, username, password, start, rng)
    token = token_of(response)
    customer_id = answered(response, "customer_id")
    if token is None or customer_id is None:
        return
    at += rng.uniform(0.5, 2.0)
    profile = yield at, client.request("GET", f"/v2/customers/{customer_id}", token=token)
    at += rng.uniform(0.3, 1.5)
    yield at, client.request("GET", f"/v2/customers/{customer_id}/lines", token=token)
    account = answered(profile, "account_number")
    if account is not None:
        at += rng.uniform(0.3, 1.5)
        yield at, client.request("GET", f"/v2/accounts/{account}/bills", token=token)

"""Business customers: fleet managers who read all of their 20-60 lines, and their cron jobs.

Both look like bulk access to an object endpoint, and both are legitimate: every line read is
the reader's own. The fleet sync runs at the same minute every day and reads one line a second,
as regular as any bot.
"""

from __future__ import annotations

import datetime as dt
import random

from apishield.sim.telco.population import Customer
from apishield.sim.traffic import agents
from apishield.sim.traffic.calendar import is_weekend, poisson
from apishield.sim.traffic.network import Client
from apishield.sim.traffic.steps import call, login, machine_login, think
from apishield.sim.traffic.timeline import Flow, Source, Stream
from apishield.sim.traffic.world import World

FLEET_SYNC_SHARE = 0.4


def business_streams(world: World) -> list[Stream]:
    streams = []
    for day in world.calendar.local_dates():
        opens = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp()
        streams.append(Stream("benign:business", _day(world, day), opens))
    return streams


def _day(world: World, day: dt.date) -> Source:
    rng = random.Random(f"{world.seed}:business:{day}")
    plan: list[tuple[float, int, bool, int]] = []
    for customer in world.population.customers:
        if not customer.company:
            continue
        sessions = poisson(rng, 0.3 if is_weekend(day) else 1.6)
        for _ in range(sessions):
            hour = rng.uniform(7.5, 18.5)
            plan.append((_at(world, customer, day, hour), customer.customer_id, False, 0))
        if _has_fleet_sync(world.seed, customer):
            hour = 6 + (customer.customer_id % 7) / 60 + rng.uniform(0, 3) / 3600
            plan.append((_at(world, customer, day, hour), customer.customer_id, True, 0))
    plan = [(at, cid, sync, rng.getrandbits(64)) for at, cid, sync, _ in plan]
    plan.sort()
    for start, customer_id, sync, seed in plan:
        if world.calendar.contains(start):
            customer = world.population.by_id[customer_id]
            flow = fleet_sync if sync else admin_session
            yield start, flow(world, customer, start, random.Random(seed))


def _at(world: World, customer: Customer, day: dt.date, hour: float) -> float:
    return world.calendar.local_time(day, customer.time_zone, hour)


def _has_fleet_sync(seed: int, customer: Customer) -> bool:
    return random.Random(f"{seed}:fleet:{customer.customer_id}").random() < FLEET_SYNC_SHARE


def admin_session(world: World, customer: Customer, start: float, rng: random.Random) -> Flow:
    """The fleet manager in the portal: often opens every line in turn."""
    client = world.client(customer, start, rng)
    token, at = yield from login(world, customer, client, start, rng)
    if token is None:
        return
    cid = customer.customer_id
    for path in (f"/v2/customers/{cid}", f"/v2/customers/{cid}/lines"):
        at += rng.uniform(0.2, 1.5)
        _, at = yield from call(client.request("GET", path, token=token), at, rng)
    lines = customer.lines if rng.random() < 0.5 else rng.sample(customer.lines, rng.randint(1, 5))
    for line in lines:
        at += rng.uniform(0.6, 4.0)
        path = f"/v2/customers/{cid}/lines/{line.msisdn}"
        _, at = yield from call(client.request("GET", path, token=token), at, rng)
    if rng.random() < 0.6:
        at += think(rng, 20.0)
        path = f"/v2/accounts/{customer.account_number}/bills"
        _, at = yield from call(client.request("GET", path, token=token), at, rng)


def fleet_sync(world: World, customer: Customer, start: float, rng: random.Random) -> Flow:
    """The customer's own integration, signing in with the admin's credentials every run."""
    profile = world.profiles[customer.customer_id]
    client = Client(profile.office_ip, agents.FLEET_SYNC, profile.proxy_hop)
    token, at = yield from machine_login(world, customer, client, start, rng)
    if token is None:
        return
    cid = customer.customer_id
    at += 1.0
    _, at = yield from call(
        client.request("GET", f"/v2/customers/{cid}/lines", token=token), at, rng
    )
    for line in customer.lines:
        at += 1.0 + rng.uniform(-0.01, 0.01)
        path = f"/v2/customers/{cid}/lines/{line.msisdn}"
        _, at = yield from call(client.request("GET", path, token=token), at, rng, storm=False)

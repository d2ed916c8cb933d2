"""Machines and strangers: partners, the billing batch, probes, QA, and people checking numbers.

Every one of these looks like something an attack detector should notice, and none is an
attack: partners read thousands of subscribers at a steady pace from datacenters, the nightly
batch walks every account number in order, probes hit /health every ten seconds, QA calls the
internal test endpoint from 10.x, and people about to switch operators look up numbers that are
mostly not subscribers (404).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Iterator

from apishield.sim.traffic import agents
from apishield.sim.traffic.calendar import HOME_ZONE, day_volume, is_weekend, poisson, sample_hour
from apishield.sim.traffic.network import Client
from apishield.sim.traffic.partners import partner_streams
from apishield.sim.traffic.steps import call
from apishield.sim.traffic.timeline import Flow, Stream
from apishield.sim.traffic.world import World

PROBES = ("10.0.1.11", "10.0.1.12", "10.0.1.13")
PROBE_PERIOD = 10.0
BATCH_HOST = "10.40.0.21"
QA_HOST = "10.30.2.15"
BATCH_IDENTITY = "svc-billing-export"
LOOKUPS_PER_SUBSCRIBER_DAY = 0.03


def service_streams(world: World) -> list[Stream]:
    start = world.calendar.start
    streams = [
        Stream("benign:probe", iter([(start + n * 3.3, _probe(world, ip, start + n * 3.3))]), start)
        for n, ip in enumerate(PROBES)
    ]
    streams += partner_streams(world)
    for day in world.calendar.local_dates():
        opens = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp()
        streams.append(Stream("benign:batch", _once(world, day, 2.0, _batch), opens))
        streams.append(Stream("benign:qa", _once(world, day, 23.5, _qa), opens))
        streams.append(Stream("benign:lookup", _lookups(world, day), opens))
    return streams


def _once(
    world: World, day: dt.date, hour: float, make: Callable[[World, float, random.Random], Flow]
) -> Iterator[tuple[float, Flow]]:
    """A job that runs daily at `hour` New York time (QA: on weekdays)."""
    name = "qa" if make is _qa else "batch"
    rng = random.Random(f"{world.seed}:{name}:{day}")
    start = world.calendar.local_time(day, HOME_ZONE, hour) + rng.uniform(0, 20)
    if world.calendar.contains(start) and not (name == "qa" and is_weekend(day)):
        yield start, make(world, start, rng)


def _probe(world: World, ip: str, start: float) -> Flow:
    client = Client(ip, agents.KUBE_PROBE, direct=True, scheme="http")
    request = client.request("GET", "/health")
    at = start
    rng = random.Random(f"{world.seed}:probe:{ip}")
    while True:
        yield at, request
        at += PROBE_PERIOD + rng.uniform(-0.03, 0.03)


def _batch(world: World, start: float, rng: random.Random) -> Flow:
    """The billing export: every account's bills, in account-number order, within the hour."""
    token = world.api.tokens.issue(BATCH_IDENTITY, int(start), 7200, scope="service")
    client = Client(BATCH_HOST, agents.BILLING_BATCH, direct=True)
    accounts = sorted(world.population.by_account)
    step = 3300.0 / max(len(accounts), 1)
    at = start
    for account in accounts:
        path = f"/v2/accounts/{account}/bills"
        _, at = yield from call(client.request("GET", path, token=token), at, rng, storm=False)
        at += step * rng.uniform(0.8, 1.2)


def _qa(world: World, start: float, rng: random.Random) -> Flow:
    """The nightly smoke test, which still uses the internal fixture endpoint."""
    client = Client(QA_HOST, agents.QA_SMOKE, direct=True)
    at = start
    for path, query in (
        ("/health", ""),
        ("/v2/plans", ""),
        ("/internal/test/customers", "limit=5"),
    ):
        yield at, client.request("GET", path, query=query)
        at += rng.uniform(0.05, 0.3)


def _lookups(world: World, day: dt.date) -> Iterator[tuple[float, Flow]]:
    rng = random.Random(f"{world.seed}:lookups:{day}")
    size = len(world.population.customers)
    people = poisson(rng, LOOKUPS_PER_SUBSCRIBER_DAY * size * day_volume(day))
    plan = sorted(
        (world.calendar.local_time(day, HOME_ZONE, sample_hour(rng, day)), rng.getrandbits(64))
        for _ in range(people)
    )
    for start, seed in plan:
        if world.calendar.contains(start):
            yield start, _lookup(world, start, random.Random(seed))


def _lookup(world: World, start: float, rng: random.Random) -> Flow:
    """Someone about to switch checks a number: usually their own, at another operator."""
    client = Client(world.public.take(), rng.choice(agents.BROWSERS))
    numbers = world.population.numbers
    if rng.random() < 0.35:
        customer = rng.choice(world.population.customers)
        number = customer.lines[0].msisdn
    else:
        number = rng.choice(numbers)
    attempts = [rng.choice(numbers)] if rng.random() < 0.2 else []
    attempts.append(number)
    if rng.random() < 0.25:
        attempts.append(number)
    at = start
    for typed in attempts:
        yield at, client.request("GET", f"/v2/numbers/{typed}/lookup")
        at += rng.uniform(5, 40)

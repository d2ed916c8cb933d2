"""Consumers using the app and the customer portal, day by local day.

A session opens the home screen (profile and lines, fetched together), then wanders: bills, a
line's usage, the plans, now and then a link an old app version still has (404) or a SIM swap.
Apps keep their token for a day; the portal signs in every time. Old app versions read the
profile from the deprecated /v1. A few phones have a widget that refreshes the lines every 15
minutes, as regular as a machine.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator

from apishield.exchange import Request
from apishield.sim.telco import numbering
from apishield.sim.telco.population import Customer
from apishield.sim.traffic.calendar import day_volume, poisson, sample_hour
from apishield.sim.traffic.network import Client
from apishield.sim.traffic.steps import call, login, machine_login, think
from apishield.sim.traffic.timeline import Flow, Source, Stream
from apishield.sim.traffic.world import World

SCREENS = ("bills", "line", "plans", "lines", "profile", "stale", "swap")
SCREEN_WEIGHTS = (34, 24, 14, 10, 12, 5, 0.03)
WIDGET_PERIOD = 900.0


def subscriber_streams(world: World) -> list[Stream]:
    streams = []
    for day in world.calendar.local_dates():
        opens = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp()
        streams.append(Stream("benign:app", _sessions(world, day), opens))
        streams.append(Stream("benign:widget", _widgets(world, day), opens))
    return streams


def _sessions(world: World, day: dt.date) -> Source:
    """Planned when the clock reaches the day, not before."""
    rng = random.Random(f"{world.seed}:sessions:{day}")
    calendar = world.calendar
    plan: list[tuple[float, int, int]] = []
    volume = day_volume(day)
    for customer in world.population.customers:
        if customer.reserved or customer.company:
            continue
        rate = world.profiles[customer.customer_id].sessions_per_day * volume
        for _ in range(poisson(rng, rate)):
            start = calendar.local_time(day, customer.time_zone, sample_hour(rng, day))
            if calendar.contains(start):
                plan.append((start, customer.customer_id, rng.getrandbits(64)))
    plan.sort()
    by_id = world.population.by_id
    for start, customer_id, seed in plan:
        yield start, session(world, by_id[customer_id], start, random.Random(seed))


def session(world: World, customer: Customer, start: float, rng: random.Random) -> Flow:
    profile = world.profiles[customer.customer_id]
    client = world.client(customer, start, rng)
    at = start
    token = None if profile.platform == "web" else world.wallet.token(customer.customer_id, at)
    if token is None:
        token, at = yield from login(world, customer, client, at, rng)
        if token is None:
            return
        at += rng.uniform(0.2, 1.2)
    cid = customer.customer_id
    home = f"/v1/customers/{cid}" if profile.platform == "old-app" else f"/v2/customers/{cid}"
    response, at = yield from call(client.request("GET", home, token=token), at, rng)
    if response.status != 200:
        return
    at += rng.uniform(0.03, 0.4)
    _, at = yield from call(
        client.request("GET", f"/v2/customers/{cid}/lines", token=token), at, rng
    )
    while rng.random() < 0.6:
        at += think(rng, 12.0)
        screen = rng.choices(SCREENS, SCREEN_WEIGHTS)[0]
        response, at = yield from call(_screen(screen, customer, client, token, rng), at, rng)
        if response.status == 401:
            return


def _screen(
    screen: str, customer: Customer, client: Client, token: str, rng: random.Random
) -> Request:
    cid = customer.customer_id
    line = rng.choice(customer.lines)
    if screen == "bills":
        return client.request("GET", f"/v2/accounts/{customer.account_number}/bills", token=token)
    if screen == "line":
        return client.request("GET", f"/v2/customers/{cid}/lines/{line.msisdn}", token=token)
    if screen == "plans":
        return client.request("GET", "/v2/plans", token=token)
    if screen == "lines":
        return client.request("GET", f"/v2/customers/{cid}/lines", token=token)
    if screen == "profile":
        return client.request("GET", f"/v2/customers/{cid}", token=token)
    if screen == "stale":
        return client.request("GET", rng.choice(_stale_links(customer)), token=token)
    new_sim = numbering.iccid(900_000_000_000 + rng.randrange(10**9))
    body = f'{{"msisdn":"{line.msisdn}"}}'.encode()
    return client.request("POST", f"/v2/sims/{new_sim}/swap", token=token, body=body)


def _stale_links(customer: Customer) -> tuple[str, ...]:
    """Screens that older app builds still link to; the API dropped them."""
    cid = customer.customer_id
    return (
        f"/v2/customers/{cid}/offers",
        f"/v2/customers/{cid}/devices",
        f"/v2/accounts/{customer.account_number}/autopay",
        "/v2/promotions/holiday-2025",
    )


def _widgets(world: World, day: dt.date) -> Iterator[tuple[float, Flow]]:
    rng = random.Random(f"{world.seed}:widgets:{day}")
    plan = []
    for customer in world.population.customers:
        if world.profiles[customer.customer_id].widget and not customer.reserved:
            wake = world.calendar.local_time(day, customer.time_zone, rng.uniform(6.5, 8.5))
            sleep = world.calendar.local_time(day, customer.time_zone, rng.uniform(22.0, 23.9))
            seed = rng.getrandbits(64)
            if world.calendar.contains(wake):
                plan.append((wake, customer.customer_id, sleep, seed))
    plan.sort()
    for wake, customer_id, sleep, seed in plan:
        customer = world.population.by_id[customer_id]
        yield wake, _widget(world, customer, wake, sleep, random.Random(seed))


def _widget(
    world: World, customer: Customer, wake: float, sleep: float, rng: random.Random
) -> Flow:
    at = wake
    path = f"/v2/customers/{customer.customer_id}/lines"
    while at < sleep:
        client = world.client(customer, at, rng)
        token = world.wallet.token(customer.customer_id, at)
        if token is None:  # the app renews its token silently
            token, at = yield from machine_login(world, customer, client, at, rng)
            if token is None:
                return  # signed out until the customer opens the app
        _, at = yield from call(client.request("GET", path, token=token), at, rng, storm=False)
        at += WIDGET_PERIOD + rng.uniform(-1.5, 1.5)

"""Partner integrations on the partner API: the benign twin of a bulk exfiltration.

Each partner has its own base of subscribers (a few hundred to a few thousand numbers, some of
them since ported away: 404) and reads it from two or three fixed datacenter addresses:
mvno-connect re-reads its whole base every weekday, evenly spread over New York business hours;
insureco reads its base twice a weekday in fast batches; finverify checks a few dozen numbers a
day whenever its own customers sign up, weekends included.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass

from apishield.sim.traffic import agents
from apishield.sim.traffic.calendar import HOME_ZONE, is_weekend, poisson
from apishield.sim.traffic.network import Addresses, Client
from apishield.sim.traffic.steps import call
from apishield.sim.traffic.timeline import Flow, Stream
from apishield.sim.traffic.world import World

_SHAPES = {
    # name: (share of all lines, most numbers, address prefix, addresses)
    "mvno-connect": (0.30, 2500, "34.82.17.", 3),
    "insureco": (0.12, 900, "52.44.190.", 2),
    "finverify": (0.04, 300, "35.203.96.", 2),
}
STALE_SHARE = 0.04
OCTETS = (34, 35, 52)


@dataclass(frozen=True, slots=True)
class PartnerPlan:
    name: str
    api_key: str
    ips: tuple[str, ...]
    base: tuple[str, ...]
    user_agent: str


def partner_plans(world: World) -> list[PartnerPlan]:
    """Deterministic from the seed alone, so the scenarios can name the same partners."""
    rng = random.Random(f"{world.seed}:partners")
    addresses = Addresses(rng, OCTETS)
    in_service = sorted(world.population.by_msisdn)
    spare = [n for n in world.population.numbers if n not in world.population.by_msisdn]
    plans = []
    for partner in world.population.partners:
        share, most, prefix, count = _SHAPES[partner.name]
        size = max(20, min(most, int(share * len(in_service))))
        stale = max(1, int(size * STALE_SHARE))
        base = rng.sample(in_service, size - stale) + rng.sample(spare, stale)
        ips = tuple(addresses.take(prefix) for _ in range(count))
        user_agent = agents.PARTNERS[partner.name]
        plans.append(
            PartnerPlan(partner.name, partner.api_key, ips, tuple(sorted(base)), user_agent)
        )
    return plans


def partner_streams(world: World) -> list[Stream]:
    streams = []
    for plan in partner_plans(world):
        for day in world.calendar.local_dates():
            opens = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp()
            label = f"benign:partner:{plan.name}"
            streams.append(Stream(label, _partner_day(world, plan, day), opens))
    return streams


def _partner_day(world: World, plan: PartnerPlan, day: dt.date) -> Iterator[tuple[float, Flow]]:
    rng = random.Random(f"{world.seed}:partner:{plan.name}:{day}")
    runs: list[tuple[float, Flow]] = []
    open_at = world.calendar.local_time(day, HOME_ZONE, 0)
    if plan.name == "mvno-connect" and not is_weekend(day):
        runs.append((open_at + 9 * 3600, _sync(plan, plan.base, open_at + 9 * 3600, 9 * 3600, rng)))
    elif plan.name == "insureco" and not is_weekend(day):
        for hour in (10.0, 15.0):
            start = open_at + hour * 3600 + rng.uniform(0, 120)
            runs.append((start, _sync(plan, plan.base, start, len(plan.base) * 0.5, rng)))
    elif plan.name == "finverify":
        checks = poisson(rng, 20 if is_weekend(day) else 60)
        times = sorted(open_at + rng.uniform(8, 21) * 3600 for _ in range(checks))
        runs.append((times[0] if times else open_at, _checks(plan, times, rng)))
    for start, flow in runs:
        if world.calendar.contains(start):
            yield start, flow
        else:
            flow.close()


def _sync(
    plan: PartnerPlan, numbers: tuple[str, ...], start: float, span: float, rng: random.Random
) -> Flow:
    """The whole base in order, evenly over `span` seconds, round-robin over the addresses."""
    step = span / max(len(numbers), 1)
    at = start
    for index, number in enumerate(numbers):
        client = Client(plan.ips[index % len(plan.ips)], plan.user_agent)
        request = client.request("GET", f"/partner/v1/subscribers/{number}", api_key=plan.api_key)
        _, at = yield from call(request, at, rng, storm=False)
        at += step * rng.uniform(0.9, 1.1)


def _checks(plan: PartnerPlan, times: list[float], rng: random.Random) -> Flow:
    for at in times:
        client = Client(rng.choice(plan.ips), plan.user_agent)
        number = rng.choice(plan.base)
        request = client.request("GET", f"/partner/v1/subscribers/{number}", api_key=plan.api_key)
        yield at, request

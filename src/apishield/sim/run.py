"""One simulated run: population, API, benign actors and attacks, merged and written out."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from apishield.exchange import Exchange
from apishield.sim import writers
from apishield.sim.telco.api import TelcoApi
from apishield.sim.telco.population import build_population
from apishield.sim.traffic import attacks, network, services
from apishield.sim.traffic.business import business_streams
from apishield.sim.traffic.calendar import DAY, Calendar
from apishield.sim.traffic.partners import partner_plans
from apishield.sim.traffic.services import service_streams
from apishield.sim.traffic.subscribers import subscriber_streams
from apishield.sim.traffic.timeline import Stream, merge
from apishield.sim.traffic.world import World, build_world
from apishield.sim.truth import Truth, iso

DEFAULT_START = "2026-01-05"
"""A Monday: the week has five working days and a weekend."""
PROGRESS_EVERY = 16_384
SPEC = resources.files("apishield.sim").joinpath("data/telco-openapi.yaml")
"""The demo telco API's documented spec (it leaves out the shadow and test endpoints)."""
_JITTER_SIZE = 4096
Progress = Callable[[int, float], None]
"""Called with the requests written so far and the share of the window they reach (0 to 1)."""


@dataclass(frozen=True, slots=True)
class Options:
    out: Path
    fmt: str = "jsonl"
    days: float = 7.0
    subscribers: int = 5000
    scenarios: str = "all"
    seed: int = 7
    start: str = DEFAULT_START
    truth: Path | None = None
    limit: int | None = None
    """Stop after this many requests (a quick sample); None for the whole window."""
    onsets: Mapping[str, float] | None = None
    """Hours after the start at which named scenarios begin, instead of their place in the
    reference week (`apishield demo` packs them into its first hours)."""


@dataclass(frozen=True, slots=True)
class Summary:
    requests: int
    seconds: float
    spec: Path
    truth: Truth


@dataclass(slots=True)
class Plan:
    """Everything a run plays: the API and its state, the merged actors, the ground truth."""

    api: TelcoApi
    world: World
    calendar: Calendar
    streams: list[Stream]
    truth: Truth


def plan(options: Options) -> Plan:
    """The population, the API, the benign actors and the chosen attacks, not yet played."""
    calendar = Calendar.parse(options.start, options.days)
    chosen = attacks.select(options.scenarios)
    population = build_population(options.seed, options.subscribers)
    api = TelcoApi(population, plan_incidents(options.seed, calendar))
    world = build_world(options.seed, population, api, calendar)
    streams = subscriber_streams(world) + business_streams(world) + service_streams(world)
    truth = Truth(_options(options), (calendar.start, calendar.end))
    for scenario in chosen:
        moved = (options.onsets or {}).get(scenario.name)
        onset = scenario.onset(calendar) if moved is None else calendar.start + moved * 3600
        attack = scenario.build(world, onset, random.Random(f"{options.seed}:{scenario.name}"))
        streams += attack.streams
        truth.attacks.append((scenario, attack, onset))
    truth.benign.update(benign_actors(world, api))
    return Plan(api, world, calendar, streams, truth)


def simulate(options: Options, progress: Progress | None = None) -> Summary:
    """Write the traffic, the documented spec beside it, and the ground truth if asked."""
    began = time.perf_counter()
    played = plan(options)
    written = _write(options, played.streams, played.api, played.calendar, played.truth, progress)
    spec = options.out.parent / "telco-openapi.yaml"
    spec.write_bytes(SPEC.read_bytes())
    if options.truth is not None:
        played.truth.write(options.truth)
    return Summary(written, time.perf_counter() - began, spec, played.truth)


def _write(
    options: Options,
    streams: list[Stream],
    api: TelcoApi,
    calendar: Calendar,
    truth: Truth,
    progress: Progress | None,
) -> int:
    latency = random.Random(f"{options.seed}:latency")
    # Server-time noise, drawn once: a table walked with a prime stride costs less than a draw.
    jitter = [latency.lognormvariate(0.0, 0.35) for _ in range(_JITTER_SIZE)]
    written = 0
    with writers.exchange_writer(options.out, options.fmt) as write:
        for event in merge(streams, api.dispatch, calendar.end):
            started = round(event.started, 3)
            noise = jitter[(written * 7919) & (_JITTER_SIZE - 1)]
            duration = round(event.service_time * noise, 4)
            write(Exchange(event.request, event.response, started, duration))
            truth.count(event.label, started)
            written += 1
            if progress is not None and written % PROGRESS_EVERY == 0:
                progress(written, (started - calendar.start) / (calendar.end - calendar.start))
            if options.limit is not None and written >= options.limit:
                break
    return written


def plan_incidents(seed: int, calendar: Calendar) -> list[tuple[float, float]]:
    """Short backend outages in US daytime, about one every other day."""
    rng = random.Random(f"{seed}:incidents")
    windows = []
    for _ in range(max(1, round(calendar.days * 0.6))):
        day = rng.randrange(max(1, int(calendar.days)))
        start = calendar.start + day * DAY + rng.uniform(14, 23.5) * 3600
        windows.append((start, start + rng.uniform(60, 240)))
    return sorted(w for w in windows if calendar.contains(w[0]))


def benign_actors(world: World, api: TelcoApi) -> dict[str, Any]:
    """The benign actors that look most like attackers, for scoring false positives."""
    return {
        "partners": [
            {"name": p.name, "api_key": p.api_key, "ips": list(p.ips), "base_size": len(p.base)}
            for p in partner_plans(world)
        ],
        "billing_batch": {"ip": services.BATCH_HOST, "identity": services.BATCH_IDENTITY},
        "qa_smoke": {"ip": services.QA_HOST},
        "probes": list(services.PROBES),
        "cgnat_addresses": world.cgnat,
        "load_balancers": list(network.LOAD_BALANCERS),
        "trusted_proxies": network.TRUSTED_PROXIES,
        "incidents": [
            {"start": s, "end": e, "start_iso": iso(s), "end_iso": iso(e)} for s, e in api.incidents
        ],
        "jwt_hs256_secret_hex": world.population.jwt_key.hex(),
    }


def _options(options: Options) -> dict[str, Any]:
    return {
        "format": options.fmt,
        "days": options.days,
        "subscribers": options.subscribers,
        "scenarios": options.scenarios,
        "seed": options.seed,
        "start": options.start,
    }

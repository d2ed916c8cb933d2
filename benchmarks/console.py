"""Response times of the console's REST API over a large store (goal: under 200 ms a page).

1. A real analysis gives the shapes: the simulator plays every scenario within 72 minutes (the
   demo's onsets), the real engine analyses it with the telco spec, and `build_document` turns
   it into the document the store keeps. That document is then scaled to `--endpoints`
   endpoints (the real ones first, then new templates, methods and hosts built from them with
   their params, data classes, states and risk factors), `--actors` actors, `--incidents`
   incidents (severities, actor and campaign scopes, endpoints naming generated endpoints as
   "METHOD host template", timelines of 10 to 30 entries with the real evidence shapes), the
   finding rules remapped to generated templates and actors, and a day of per-minute traffic
   for the `--series` busiest endpoints. `Store.save_analysis` writes it as one run.
2. `ConsoleServer(read_only=True)` serves that run on 127.0.0.1 (uvicorn on its own thread, in
   this process) with `--blocks` blocks; an httpx client with keep-alive asks each request
   `--repeat` times after `--warmup` (fewer once a row has taken `--row-seconds`, but never
   fewer than `--min-repeat`) and prints p50, p95 and max in ms with the answer's size, and
   whether it meets the goal (met: p95 under it; p95 over: only p50 is; MISSED: not even
   p50). Then each dashboard page is timed as the requests its script issues
   (static/page-*.js), one after another: the browser sends them at once, so this is an upper
   bound. `GET /api/health` is the floor: the framework and the client with no store.
3. The same on PostgreSQL when `--postgres` answers, in a schema of its own (dropped after)
   whose tables autovacuum leaves alone, so the planner has no statistics, as right after a
   write, for the whole run; `--analyze` gathers them first. Skipped, with the reason, when
   the server does not answer.

The machine's load is printed first: on a shared machine the figures move with it.
`report.document` lists at most 1,000 incidents per run (`MAX_INCIDENTS`), so the default
10,000 is a run ten times fuller than `analyze` or `serve` write today, on purpose.

    python benchmarks/console.py [--endpoints 1000] [--incidents 10000] [--actors 1000]
        [--series 50] [--blocks 100] [--repeat 100] [--row-seconds 1] [--db URL]
        [--postgres URL] [--skip-postgres] [--analyze] [--seed 7]
"""

from __future__ import annotations

import argparse
import copy
import logging
import math
import os
import random
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from apishield.config import Config, IdentityConfig
from apishield.demo import DEMO_ONSETS
from apishield.ingest.openapi import load_spec
from apishield.ingest.reader import read_exchanges
from apishield.ingest.stats import IngestStats
from apishield.inventory.classify import PERSONAL, SECRETS
from apishield.inventory.series import Point
from apishield.report.document import RunInfo, build_document
from apishield.server.console import ConsoleServer
from apishield.sim.run import Options, simulate
from apishield.sim.traffic.network import TRUSTED_PROXIES
from apishield.startup import build_engine, install_compiled_cache
from apishield.store.database import Store
from apishield.store.schema import endpoint_key, endpoints, incidents, metadata

GOAL_MS = 200.0
DAY = 86_400.0
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
HOSTS = (
    "api.telco.example",
    "partner.telco.example",
    "billing.telco.example",
    "mobile.telco.example",
    "api-eu.telco.example",
    "internal.telco.example",
    "admin.telco.example",
    "legacy.telco.example",
)
RESOURCES = (
    "customers", "subscribers", "accounts", "invoices", "payments", "plans", "bundles", "sims",
    "esims", "numbers", "ports", "orders", "devices", "contracts", "tickets", "addresses",
    "roaming", "usage", "cdrs", "topups", "vouchers", "refunds", "disputes", "credit-checks",
    "identity-checks", "consents", "notifications", "messages", "partners", "resellers",
    "stores", "agents", "coverage", "outages", "network-slices", "apn-profiles", "loyalty",
    "referrals", "family-groups", "documents",
)  # fmt: skip
SUBRESOURCES = (
    "history", "balance", "status", "settings", "documents", "notes", "events", "lines",
    "limits", "owner", "activate", "suspend", "export", "audit", "contacts",
)  # fmt: skip
ITEM_PARAMS = (("id", "integer"), ("msisdn", "string"), ("uuid", "uuid"), ("ref", "string"))
METHODS = (("GET", 0.6), ("POST", 0.2), ("PUT", 0.08), ("PATCH", 0.06), ("DELETE", 0.06))
STATES = (("documented", 0.45), ("shadow", 0.3), ("undocumented", 0.15), ("zombie", 0.1))
SEVERITIES = (("critical", 0.04), ("high", 0.26), ("medium", 0.45), ("low", 0.2), ("info", 0.05))


# -- 1. A real analysis, for the shapes ------------------------------------------------------


def real_analysis(folder: Path, subscribers: int, seed: int) -> dict[str, Any]:
    """The simulator's first 72 minutes (every scenario starts in them), analysed for real."""
    traffic = folder / "traffic.jsonl"
    began = time.perf_counter()
    summary = simulate(
        Options(
            traffic,
            days=0.05,
            subscribers=subscribers,
            scenarios="all",
            seed=seed,
            onsets=DEMO_ONSETS,
        )
    )
    simulated = time.perf_counter() - began
    install_compiled_cache()
    identity = IdentityConfig.model_validate({"trusted_proxies": [TRUSTED_PROXIES]})
    engine = build_engine(
        Config(data_dir=folder / "data", identity=identity), load_spec(summary.spec)
    )
    stats = IngestStats()
    started = time.time()
    for exchange in read_exchanges(traffic, "jsonl", stats=stats):
        engine.process(exchange)
    info = RunInfo(
        "analyze",
        started,
        time.time(),
        [str(traffic)],
        stats.lines,
        stats.events,
        stats.skipped,
        dict(stats.skipped_by_reason),
        [],
    )
    document = build_document(engine.result(), info)
    print(
        f"  real sample: {stats.events:,} requests simulated in {simulated:.1f}s, analysed in "
        f"{time.time() - started:.1f}s: {len(document['endpoints'])} endpoints, "
        f"{document['incidents']['total']} incidents, {len(document['actors'])} actors, "
        f"{len(document['findings']['rules'])} finding rules"
    )
    return document


# -- 1. Scaled up from it --------------------------------------------------------------------


def weighted(rng: random.Random, choices: Sequence[tuple[str, float]]) -> str:
    return rng.choices([c for c, _ in choices], [w for _, w in choices])[0]


def scaled(counts: dict[str, int], ratio: float) -> dict[str, int]:
    return {k: max(1, round(v * ratio)) for k, v in counts.items()}


def new_templates(rng: random.Random) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """Route templates with their path parameters, in a random order, endlessly."""
    while True:
        version = rng.choice(("v1", "v2", "v2", "v3"))
        resource = rng.choice(RESOURCES)
        shape = rng.random()
        if shape < 0.3:
            yield f"/{version}/{resource}", []
            continue
        name, kind = rng.choice(ITEM_PARAMS)
        params = [{"in": "path", "name": name, "type": kind}]
        if shape < 0.75:
            yield f"/{version}/{resource}/{{{name}}}", params
        else:
            yield f"/{version}/{resource}/{{{name}}}/{rng.choice(SUBRESOURCES)}", params


@dataclass(slots=True)
class Factors:
    """Every risk factor the real analysis gave, by name, to build plausible risk scores."""

    by_name: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @classmethod
    def of(cls, sample: Sequence[dict[str, Any]]) -> Factors:
        factors = cls()
        for endpoint in sample:
            for factor in endpoint["risk"]["factors"]:
                factors.by_name.setdefault(factor["name"], []).append(factor)
        return factors

    def vary(self, rng: random.Random, base: list[dict[str, Any]]) -> list[dict[str, Any]]:
        chosen = {f["name"]: f for f in base if rng.random() < 0.8}
        for name in rng.sample(sorted(self.by_name), k=min(len(self.by_name), rng.randint(0, 3))):
            chosen.setdefault(name, rng.choice(self.by_name[name]))
        return list(chosen.values())


def make_endpoint(
    rng: random.Random,
    base: dict[str, Any],
    factors: Factors,
    where: tuple[str, str, str],
    day0: float,
) -> dict[str, Any]:
    method, host, template = where
    endpoint = copy.deepcopy(base)
    requests = min(int(rng.lognormvariate(5.5, 2.2)) + 1, 5_000_000)
    ratio = requests / max(base["requests"], 1)
    risk = factors.vary(rng, base["risk"]["factors"])
    score = min(100, sum(f["points"] for f in risk))
    state = weighted(rng, STATES)
    first = day0 + DAY * rng.random() * 0.5
    endpoint.update(
        method=method,
        host=host,
        template=template,
        requests=requests,
        statuses=scaled(base["statuses"], ratio),
        data_classes=scaled(base["data_classes"], ratio),
        latency_p50_ms=round(base["latency_p50_ms"] * rng.lognormvariate(0, 0.5), 2),
        latency_p95_ms=round(base["latency_p95_ms"] * rng.lognormvariate(0, 0.5), 2),
        first_seen=first,
        last_seen=first + DAY * 0.5 * rng.random(),
        distinct_actors=min(1024, max(1, int(requests**0.6))),
        state=state,
        deprecated=state == "zombie",
        operation_id=None if state != "documented" else f"op{rng.randrange(10**6)}",
        risk={"score": score, "level": level(score), "factors": risk},
    )
    return endpoint


def level(score: int) -> str:
    return "high" if score >= 70 else "medium" if score >= 40 else "low"


def make_endpoints(
    rng: random.Random, sample: list[dict[str, Any]], n: int, day0: float
) -> list[dict[str, Any]]:
    """The real endpoints first, then new ones: templates, methods, hosts, params, risk."""
    factors = Factors.of(sample)
    made = [copy.deepcopy(e) for e in sample[:n]]
    seen = {(e["method"], e["host"], e["template"]) for e in made}
    templates = new_templates(rng)
    while len(made) < n:
        template, path_params = next(templates)
        where = (weighted(rng, METHODS), rng.choice(HOSTS), template)
        if where in seen:
            continue
        seen.add(where)
        endpoint = make_endpoint(rng, rng.choice(sample), factors, where, day0)
        query = [p for p in endpoint["params"] if p["in"] != "path"]
        endpoint["params"] = [{**p, "seen": endpoint["requests"]} for p in path_params] + [
            {**p, "seen": max(1, int(endpoint["requests"] * rng.random()))} for p in query
        ]
        made.append(endpoint)
    return made


def name(endpoint: dict[str, Any]) -> str:
    """An endpoint as detectors, incidents and actors name it."""
    return f"{endpoint['method']} {endpoint['host']} {endpoint['template']}"


def random_ip(rng: random.Random) -> str:
    return ".".join(str(rng.randint(1, 254)) for _ in range(4))


def make_actor(
    rng: random.Random, base: dict[str, Any], names: Sequence[str], day0: float
) -> dict[str, Any]:
    kind = base["actor"].split(":", 1)[0]
    ips = sorted({random_ip(rng) for _ in range(min(16, int(rng.paretovariate(1.5))))})
    value = {
        "ip": ips[0],
        "id": str(40_000_000 + rng.randrange(10**7)),
        "key": f"{rng.getrandbits(64):016x}",
        "session": f"{rng.getrandbits(64):016x}",
    }.get(kind, ips[0])
    requests = min(int(rng.lognormvariate(5, 2)) + 1, 2_000_000)
    high = int(requests * rng.random() * 0.02) if rng.random() < 0.2 else 0
    medium = int(requests * rng.random() * 0.05) if rng.random() < 0.3 else 0
    touched = rng.sample(names, k=min(len(names), max(1, int(rng.paretovariate(1.2)))))
    spread = sorted((int(requests * rng.random()) + 1 for _ in touched), reverse=True)
    first = day0 + DAY * rng.random() * 0.8
    return {
        "actor": f"{kind}:{value}",
        "identity": value if kind == "id" else None,
        "ips": ips,
        "ip_count": len(ips) + (rng.randint(0, 40) if len(ips) == 16 else 0),
        "endpoints": dict(list(zip(touched, spread, strict=True))[:10]),
        "endpoint_count": len(touched),
        "requests": requests,
        "errors": int(requests * rng.random() * 0.3),
        "threat": {"low": requests - high - medium, "medium": medium, "high": high},
        "first_seen": first,
        "last_seen": first + (day0 + DAY - first) * rng.random(),
        "incidents": 0,
    }


@dataclass(slots=True)
class Evidence:
    """Timeline entries of the real incidents, by rule, to copy evidence shapes from."""

    by_rule: dict[str, list[dict[str, Any]]]

    @classmethod
    def of(cls, sample: Sequence[dict[str, Any]]) -> Evidence:
        by_rule: dict[str, list[dict[str, Any]]] = {}
        for incident in sample:
            for entry in incident["timeline"]:
                by_rule.setdefault(entry["rule_id"], []).append(entry)
        if not by_rule:
            raise SystemExit("the sample analysis raised no incident with a timeline to copy")
        return cls(by_rule)

    def rules_of(self, rng: random.Random, incident: dict[str, Any]) -> list[str]:
        """The incident's own rules that have entries to copy, else two others."""
        own = [r for r in incident["rules"] if r in self.by_rule]
        return own or rng.sample(sorted(self.by_rule), k=min(2, len(self.by_rule)))


def make_incident(
    rng: random.Random,
    number: int,
    base: dict[str, Any],
    evidence: Evidence,
    actors: Sequence[dict[str, Any]],
    names: Sequence[str],
    day0: float,
) -> dict[str, Any]:
    campaign = base["scope"].startswith("campaign:")
    involved = rng.sample(actors, k=min(len(actors), rng.randint(5, 50) if campaign else 1))
    spread = 1 if campaign else min(20, int(rng.paretovariate(1.0)))
    touched = rng.sample(names, k=min(len(names), spread))
    first = day0 + DAY * rng.random() * 0.9
    last = first + min(day0 + DAY - first, 60 * rng.lognormvariate(3, 1.2))
    own = evidence.rules_of(rng, base)
    timeline = []
    for moment in sorted(rng.uniform(first, last) for _ in range(rng.randint(10, 30))):
        rule = rng.choice(own)
        template = rng.choice(evidence.by_rule[rule])
        actor = rng.choice(involved)["actor"]
        shown = {**template["evidence"]}
        if "group" in shown:
            shown["group"] = actor.split(":", 1)[1]
        timeline.append(
            {
                **template,
                "time": moment,
                "actor": actor,
                "endpoint": rng.choice(touched),
                "evidence": shown,
            }
        )
    counts = Counter(entry["rule_id"] for entry in timeline)
    scope = f"campaign:{own[0]}:{touched[0]}" if campaign else f"actor:{involved[0]['actor']}"
    return {
        "id": number,
        "scope": scope,
        "title": base["title"],
        "severity": weighted(rng, SEVERITIES),
        "category": base["category"],
        "first_seen": first,
        "last_seen": last,
        "rules": {rule: n * rng.randint(1, 400) for rule, n in counts.items()},
        "detected_at": {
            rule: min(e["time"] for e in timeline if e["rule_id"] == rule) for rule in counts
        },
        "actors": dict(
            sorted(((a["actor"], rng.randint(1, 5000)) for a in involved), key=lambda p: -p[1])
        ),
        "ips": sorted({a["ips"][0] for a in involved}),
        "endpoints": dict(
            sorted(((n, rng.randint(1, 50_000)) for n in touched), key=lambda p: -p[1])
        ),
        "timeline": timeline,
    }


def make_rules(
    rng: random.Random,
    sample: Sequence[dict[str, Any]],
    made: Sequence[dict[str, Any]],
    actors: Sequence[dict[str, Any]],
) -> list[dict[str, Any]]:
    """The real finding rules, their top templates and actors swapped for generated ones."""
    rules = []
    for rule in sample:
        tops = rng.sample(made, k=min(5, len(made), len(rule["endpoints"])))
        who = rng.sample(actors, k=min(5, len(actors), len(rule["actors"])))
        rules.append(
            {
                **rule,
                "requests": rule["requests"] * rng.randint(1, 50),
                "endpoints": {e["template"]: rng.randint(1, 5000) for e in tops},
                "actors": {a["actor"]: rng.randint(1, 5000) for a in who},
            }
        )
    return rules


def make_series(
    rng: random.Random, made: Sequence[dict[str, Any]], count: int, day0: float
) -> list[Point]:
    """A day of minutes for the busiest `count` endpoints, with a daily swing."""
    points = []
    for endpoint in sorted(made, key=lambda e: -e["requests"])[:count]:
        key = (endpoint["method"], endpoint["host"], endpoint["template"])
        mean = endpoint["requests"] / 1440
        share = sum(v for k, v in endpoint["statuses"].items() if int(k) >= 400)
        errors = share / max(sum(endpoint["statuses"].values()), 1)
        p95 = endpoint["latency_p95_ms"] or 50.0
        for minute in range(1440):
            swing = 1 + 0.6 * math.sin(2 * math.pi * (minute / 1440 - 0.3))
            requests = max(0, round(rng.gauss(mean * swing, math.sqrt(mean * swing + 1))))
            points.append(
                Point(
                    key,
                    day0 + minute * 60.0,
                    60.0,
                    requests,
                    round(requests * errors * rng.uniform(0.5, 1.5)),
                    round(p95 * rng.lognormvariate(0, 0.3), 1) if requests else None,
                )
            )
    return points


def summary_of(made: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The document's summary counts over `made`, as `report.document` counts them."""
    classes: Counter[str] = Counter()
    for endpoint in made:
        classes.update(endpoint["data_classes"])
    personal = [e for e in made if set(e["data_classes"]) & PERSONAL]
    return {
        "endpoints": len(made),
        "hosts": len({e["host"] for e in made}),
        "requests": sum(e["requests"] for e in made),
        "by_state": dict(Counter(e["state"] for e in made)),
        "deprecated": sum(1 for e in made if e["deprecated"]),
        "by_risk": dict(Counter(e["risk"]["level"] for e in made)),
        "with_personal_data": len(personal),
        "with_secrets": sum(1 for e in made if set(e["data_classes"]) & SECRETS),
        "unauthenticated_with_personal_data": sum(
            1 for e in personal if e["unauthenticated_share"] >= 0.5
        ),
        "data_classes": dict(classes.most_common()),
    }


@dataclass(slots=True)
class Sizes:
    endpoints: int
    incidents: int
    actors: int
    series: int
    seed: int


def scale(real: dict[str, Any], sizes: Sizes) -> tuple[dict[str, Any], list[Point]]:
    """The sample's document at `sizes`, its times spread over the day the sample starts."""
    rng = random.Random(sizes.seed)
    day0 = math.floor(min(e["first_seen"] for e in real["endpoints"]) / DAY) * DAY
    made = make_endpoints(rng, real["endpoints"], sizes.endpoints, day0)
    names = [name(e) for e in made]
    actors = [make_actor(rng, rng.choice(real["actors"]), names, day0) for _ in range(sizes.actors)]
    evidence = Evidence.of(real["incidents"]["items"])
    bases = real["incidents"]["items"]
    items = [
        make_incident(rng, n, rng.choice(bases), evidence, actors, names, day0)
        for n in range(1, sizes.incidents + 1)
    ]
    involved = Counter(a for item in items for a in item["actors"])
    for actor in actors:
        actor["incidents"] = involved.get(actor["actor"], 0)
    requests = sum(e["requests"] for e in made)
    ratio = requests / max(real["summary"]["requests"], 1)
    by_severity = Counter(item["severity"] for item in items)
    document = {
        **real,
        "run": {**real["run"], "events": requests, "lines": requests},
        "summary": {**real["summary"], **summary_of(made)},
        "findings": {
            "threat_levels": scaled(real["findings"]["threat_levels"], ratio),
            "rules": make_rules(rng, real["findings"]["rules"], made, actors),
        },
        "incidents": {
            "by_severity": {s: by_severity.get(s, 0) for s, _ in SEVERITIES},
            "total": len(items),
            "items": items,
        },
        "endpoints": made,
        "actors": actors,
    }
    return document, make_series(rng, made, sizes.series, day0)


# -- 2. Serving it, and timing what the dashboard asks ---------------------------------------


@dataclass(slots=True)
class Picks:
    """The ids the detail pages open: the riskiest endpoint, a busy one with a day of minutes,
    an incident with the longest timeline."""

    risky: str
    busy: str
    incident: int
    deep_endpoints: int
    deep_incidents: int
    word: str


def picks(document: dict[str, Any]) -> Picks:
    made = document["endpoints"]
    risky = max(made, key=lambda e: (e["risk"]["score"], e["requests"]))
    busy = max(made, key=lambda e: e["requests"])
    items = document["incidents"]["items"]
    longest = max(items, key=lambda i: (len(i["timeline"]), len(i["endpoints"])))
    words = Counter(part for e in made for part in e["template"].split("/") if "{" not in part)
    common = [w for w, n in words.most_common() if len(w) > 3 and n < len(made) / 5]
    return Picks(
        risky=endpoint_key(risky["method"], risky["host"], risky["template"]),
        busy=endpoint_key(busy["method"], busy["host"], busy["template"]),
        incident=longest["id"],
        deep_endpoints=max(len(made) - 100, 0),
        deep_incidents=max(len(items) - 100, 0),
        word=common[0] if common else "customers",
    )


def requests_of(p: Picks) -> list[tuple[str, str]]:
    """(label, path): each request the dashboard makes, and the variants the brief asks for."""
    return [
        ("health (floor, no store)", "/api/health"),
        ("overview", "/api/v1/overview"),
        ("endpoints risk limit=50", "/api/v1/endpoints?sort=risk&limit=50"),
        ("endpoints risk limit=500 *", "/api/v1/endpoints?sort=risk&limit=500"),
        ("endpoints requests limit=50", "/api/v1/endpoints?sort=requests&limit=50"),
        ("endpoints template limit=500 *", "/api/v1/endpoints?sort=template&limit=500"),
        (f"endpoints q={p.word}", f"/api/v1/endpoints?sort=risk&q={p.word}&limit=50"),
        ("endpoints state=shadow", "/api/v1/endpoints?sort=risk&state=shadow&limit=50"),
        (
            f"endpoints offset={p.deep_endpoints}",
            f"/api/v1/endpoints?sort=risk&limit=50&offset={p.deep_endpoints}",
        ),
        ("endpoints risk limit=8 *", "/api/v1/endpoints?sort=risk&limit=8"),
        ("findings *", "/api/v1/findings"),
        ("incidents limit=50", "/api/v1/incidents?limit=50"),
        ("incidents limit=100 *", "/api/v1/incidents?limit=100"),
        ("incidents severity=high", "/api/v1/incidents?severity=high&limit=50"),
        (
            f"incidents offset={p.deep_incidents}",
            f"/api/v1/incidents?limit=50&offset={p.deep_incidents}",
        ),
        (f"incident {p.incident}", f"/api/v1/incidents/{p.incident}"),
        ("endpoint (riskiest)", f"/api/v1/endpoints/{p.risky}"),
        ("endpoint (busiest)", f"/api/v1/endpoints/{p.busy}"),
        ("endpoint series (busiest)", f"/api/v1/endpoints/{p.busy}/series"),
        ("actors limit=50", "/api/v1/actors?limit=50"),
        ("actors sort=risk", "/api/v1/actors?sort=risk&limit=50"),
        ("blocks", "/api/v1/blocks"),
    ]


def pages_of(p: Picks) -> list[tuple[str, list[str]]]:
    """Each dashboard page and the requests its script issues (static/page-*.js)."""
    return [
        (
            "overview page",
            ["/api/v1/overview", "/api/v1/endpoints?sort=risk&limit=8", "/api/v1/findings"],
        ),
        ("inventory page", ["/api/v1/endpoints?sort=risk&limit=500"]),
        ("incidents page", ["/api/v1/overview", "/api/v1/incidents?limit=100"]),
        (
            "incident page",
            [
                f"/api/v1/incidents/{p.incident}",
                "/api/v1/blocks",
                "/api/v1/endpoints?sort=template&limit=500",
            ],
        ),
        ("endpoint page", [f"/api/v1/endpoints/{p.busy}", f"/api/v1/endpoints/{p.busy}/series"]),
        ("actors page", ["/api/v1/actors?sort=requests&limit=50"]),
        ("blocks page", ["/api/v1/blocks"]),
    ]


@dataclass(slots=True)
class Timing:
    samples: list[float]
    size: int


@dataclass(slots=True)
class Budget:
    repeat: int
    min_repeat: int
    warmup: int
    row_seconds: float


def timed(call: Callable[[], int], budget: Budget) -> Timing:
    """`call` (which returns the bytes it received) after a warm-up, `budget.repeat` times or
    until `row_seconds` have gone by, whichever comes first, but `min_repeat` times at least."""
    size = 0
    for _ in range(budget.warmup):
        size = call()
    samples: list[float] = []
    began = time.perf_counter()
    while len(samples) < budget.repeat:
        start = time.perf_counter()
        size = call()
        samples.append(time.perf_counter() - start)
        if len(samples) >= budget.min_repeat and start - began > budget.row_seconds:
            break
    return Timing(samples, size)


def fetcher(client: httpx.Client, paths: Sequence[str]) -> Callable[[], int]:
    def call() -> int:
        size = 0
        for path in paths:
            answer = client.get(path)
            if answer.status_code != 200:
                raise RuntimeError(f"GET {path}: {answer.status_code} {answer.text[:200]}")
            size += len(answer.content)
        return size

    return call


def measure(
    client: httpx.Client, heading: str, rows: Sequence[tuple[str, Sequence[str]]], budget: Budget
) -> None:
    print(
        f"  {heading:<34} {'n':>4} {'KB':>7} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}  goal "
        f"{GOAL_MS:.0f} ms"
    )
    for label, paths in rows:
        try:
            timing = timed(fetcher(client, paths), budget)
        except (RuntimeError, httpx.HTTPError) as exc:
            print(f"  {label:<34} failed: {exc}")
            continue
        ms = sorted(s * 1e3 for s in timing.samples)
        p95 = ms[min(len(ms) - 1, math.ceil(0.95 * len(ms)) - 1)]
        median = statistics.median(ms)
        verdict = "met" if p95 < GOAL_MS else "p95 over" if median < GOAL_MS else "MISSED"
        print(
            f"  {label:<34} {len(ms):>4} {timing.size / 1024:>7.1f} {median:>8.1f} "
            f"{p95:>8.1f} {ms[-1]:>8.1f}  {verdict}"
        )


def add_blocks(server: ConsoleServer, document: dict[str, Any], count: int) -> None:
    """Automatic blocks on the addresses of the most severe incidents, as `serve` raises them."""
    ips = dict.fromkeys(ip for item in document["incidents"]["items"] for ip in item["ips"])
    for ip in list(ips)[:count]:
        server.blocks.add("ip", ip, 6 * 3600.0, "automatic: incident", "block")


def serve_and_measure(
    store: Store, run_id: int, document: dict[str, Any], folder: Path, args: argparse.Namespace
) -> None:
    config = Config(data_dir=folder / "serve")
    server = ConsoleServer(config, store, read_only=True, show_run=run_id, listen="127.0.0.1:0")
    add_blocks(server, document, args.blocks)
    budget = Budget(args.repeat, args.min_repeat, args.warmup, args.row_seconds)
    chosen = picks(document)
    headers = {"Authorization": f"Bearer {server.token}"}
    try:
        server.start()
        with httpx.Client(base_url=server.url, headers=headers, timeout=60.0) as client:
            print("  each request (* the ones the dashboard pages issue besides the brief's):")
            each = [(label, [path]) for label, path in requests_of(chosen)]
            measure(client, "request", each, budget)
            print("  each page, its requests one after another (the browser sends them at once):")
            measure(client, "page", pages_of(chosen), budget)
    finally:
        server.close()


# -- Stores ----------------------------------------------------------------------------------


def save(store: Store, document: dict[str, Any], points: list[Point], private: bool) -> int:
    began = time.perf_counter()
    store.create()
    if private:
        hold_autovacuum(store)
    run_id = store.save_analysis(document, points)
    with store.engine.connect() as conn:
        counted = [
            conn.execute(
                select(func.count()).select_from(t).where(t.c.run_id == run_id)
            ).scalar_one()
            for t in (endpoints, incidents)
        ]
    print(
        f"  saved run {run_id} in {time.perf_counter() - began:.1f}s: {counted[0]:,} endpoints, "
        f"{counted[1]:,} incidents, {len(document['actors']):,} actors, {len(points):,} "
        "traffic minutes"
    )
    return run_id


def hold_autovacuum(store: Store) -> None:
    """Keep PostgreSQL's autovacuum off these (private) tables, so the planner's statistics stay
    as a write leaves them for the whole measurement instead of changing halfway through."""
    with store.engine.begin() as conn:
        for table in metadata.sorted_tables:
            conn.execute(text(f'ALTER TABLE "{table.name}" SET (autovacuum_enabled = false)'))


def gather_statistics(store: Store) -> None:
    with store.engine.begin() as conn:
        for table in metadata.sorted_tables:
            conn.execute(text(f'ANALYZE "{table.name}"'))


def postgres_reason(url: str) -> str | None:
    """None when the server at `url` takes a connection, else why not."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed: pip install apishield[postgres]"
    parsed = make_url(url)
    try:
        with psycopg.connect(
            host=parsed.host or "127.0.0.1",
            port=parsed.port or 5432,
            dbname=parsed.database or "postgres",
            user=parsed.username or "postgres",
            password=parsed.password or None,
            connect_timeout=3,
        ):
            return None
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0]


@contextmanager
def private_schema(url: str) -> Iterator[str]:
    """`url` with a search path of a schema of its own, dropped with everything in it after."""
    schema = f"apishield_bench_{os.getpid()}"
    admin = Store(url)
    with admin.engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        private = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
        yield private.render_as_string(hide_password=False)
    finally:
        with admin.engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.engine.dispose()


def run_on(
    label: str,
    url: str,
    document: dict[str, Any],
    points: list[Point],
    folder: Path,
    args: argparse.Namespace,
    *,
    private: bool = False,
) -> None:
    print(f"\n== {label}: {make_url(url).render_as_string(hide_password=True)}")
    store = Store(url)
    try:
        run_id = save(store, document, points, private)
        if private and args.analyze:
            gather_statistics(store)
            print("  planner statistics gathered with ANALYZE (autovacuum's work, done now)")
        elif private:
            print(
                "  no planner statistics yet, as right after a write (autovacuum held off "
                "these tables; --analyze gathers them first)"
            )
        serve_and_measure(store, run_id, document, folder, args)
    finally:
        store.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoints", type=int, default=1_000)
    parser.add_argument("--incidents", type=int, default=10_000)
    parser.add_argument("--actors", type=int, default=1_000)
    parser.add_argument("--series", type=int, default=50, help="endpoints with a day of minutes")
    parser.add_argument("--blocks", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=100)
    parser.add_argument("--min-repeat", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--row-seconds", type=float, default=1.0)
    parser.add_argument("--subscribers", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--db", help="measure this store (a run is added to it) instead of a new SQLite file"
    )
    parser.add_argument("--postgres", default=POSTGRES)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument(
        "--analyze", action="store_true", help="ANALYZE the PostgreSQL tables before timing"
    )
    args = parser.parse_args()
    for option in ("endpoints", "incidents", "actors", "repeat", "min_repeat"):
        if getattr(args, option) < 1:
            parser.error(f"--{option.replace('_', '-')} must be 1 or more")
    logging.getLogger("uvicorn").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        load = ", ".join(f"{n:.1f}" for n in os.getloadavg())
        print(f"== Building the store ({os.cpu_count()} CPUs, load average {load})")
        sample = real_analysis(folder, args.subscribers, args.seed)
        began = time.perf_counter()
        sizes = Sizes(args.endpoints, args.incidents, args.actors, args.series, args.seed)
        document, points = scale(sample, sizes)
        print(f"  scaled in {time.perf_counter() - began:.1f}s")
        url = args.db or f"sqlite:///{folder / 'store.db'}"
        run_on(
            "SQLite" if url.startswith("sqlite") else "store", url, document, points, folder, args
        )
        if args.skip_postgres:
            return
        reason = postgres_reason(args.postgres)
        if reason is not None:
            print(f"\n== PostgreSQL skipped: {args.postgres} does not answer ({reason})")
            return
        with private_schema(args.postgres) as private:
            run_on("PostgreSQL", private, document, points, folder, args, private=True)


if __name__ == "__main__":
    main()

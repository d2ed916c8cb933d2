"""Loud attacks: (h) an injection scanner with forced browsing, and (i) a request flood.

(h) One address: first a Nikto-style sweep for admin pages, dotfiles and framework endpoints,
then three rounds of SQL injection, XSS, traversal, SSRF, Log4Shell and NoSQL payloads in the
query, the path and JSON bodies of the real endpoints, sqlmap-style, the last round with a
browser User-Agent. The injection rounds forge X-Forwarded-For: 127.0.0.1, which the load
balancer keeps left of the real address.

(i) Three addresses send about a thousand requests a minute each for four minutes.
"""

from __future__ import annotations

import random

from apishield.exchange import Request
from apishield.sim.traffic import agents
from apishield.sim.traffic.attacks import payloads
from apishield.sim.traffic.attacks.base import Actors, Attack, stream
from apishield.sim.traffic.network import Addresses, Client
from apishield.sim.traffic.timeline import Flow
from apishield.sim.traffic.world import World

SCANNER = "scanner"
FLOOD = "flood"
NIKTO = "Mozilla/5.00 (Nikto/2.5.0) (Evasions:None) (Test:Port Check)"
SQLMAP = "sqlmap/1.8.2#stable (https://sqlmap.org)"
FLOOD_AGENT = "Go-http-client/1.1"
FLOOD_SECONDS = 240.0
FLOOD_RATE = 1000 / 60
SCANNER_OCTETS = (45,)
FLOOD_OCTETS = (193, 194)
QUERY_TARGETS = ("/v2/plans", "/v2/numbers/+12025550100/lookup", "/internal/test/customers")
PATH_TARGETS = (
    "/v2/customers/{}", "/v2/numbers/{}/lookup", "/v2/accounts/{}/bills", "/v1/customers/{}",
)  # fmt: skip
BODY_TARGETS = ("/v2/auth/login", "/v2/auth/password-reset")


def build_scanner(world: World, onset: float, rng: random.Random) -> Attack:
    ip = Addresses(rng, SCANNER_OCTETS).take()
    browser = agents.BROWSERS[0]
    flow = _scan(ip, browser, onset, rng)
    actors = Actors(ips=[ip], user_agents=[NIKTO, SQLMAP, browser])
    notes = "injection rounds carry a forged X-Forwarded-For: 127.0.0.1 left of the real address"
    return Attack([stream(SCANNER, [(onset, flow)])], actors, notes)


def _scan(ip: str, browser: str, start: float, rng: random.Random) -> Flow:
    at = start
    nikto = Client(ip, NIKTO)
    for path in payloads.FORCED_BROWSING:
        for method in ("GET", "POST") if path.startswith("/admin") else ("GET",):
            yield at, nikto.request(method, path)
            at += rng.uniform(0.05, 0.4)
    for round_ in range(3):
        at += rng.uniform(30, 120)
        client = Client(ip, SQLMAP if round_ < 2 else browser, forwarded_prefix="127.0.0.1, ")
        for request in _injections(client):
            yield at, request
            at += rng.uniform(0.1, 0.8)


def _injections(client: Client) -> list[Request]:
    requests = [
        client.request("GET", target, query=query)
        for target in QUERY_TARGETS
        for query in payloads.QUERY
    ]
    requests += [
        client.request("GET", template.format(value))
        for template in PATH_TARGETS
        for value in payloads.PATH_VALUES
    ]
    requests += [
        client.request("POST", target, body=body)
        for target in BODY_TARGETS
        for body in payloads.JSON_BODIES
    ]
    return requests


def build_flood(world: World, onset: float, rng: random.Random) -> Attack:
    ips = Addresses(rng, FLOOD_OCTETS).many(3)
    flows: list[tuple[float, Flow]] = []
    for ip in ips:
        start = onset + rng.uniform(0, 5)
        flows.append((start, _flood(world, ip, start, rng.getrandbits(64))))
    actors = Actors(ips=ips, user_agents=[FLOOD_AGENT])
    return Attack([stream(FLOOD, flows)], actors)


def _flood(world: World, ip: str, start: float, seed: int) -> Flow:
    rng = random.Random(seed)
    client = Client(ip, FLOOD_AGENT)
    plans = client.request("GET", "/v2/plans")
    numbers = world.population.numbers
    at = start
    while at < start + FLOOD_SECONDS:
        roll = rng.random()
        if roll < 0.7:
            yield at, plans
        elif roll < 0.9:
            yield at, client.request("GET", f"/v2/numbers/{rng.choice(numbers)}/lookup")
        else:
            body = b'{"username":"admin@example.com","password":"admin"}'
            yield at, client.request("POST", "/v2/auth/login", body=body)
        at += rng.expovariate(FLOOD_RATE)

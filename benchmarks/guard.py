"""CPU per request of the in-line guard, in this process: `Guard.check` (actor, route, request
checks, policy) and the response phase (data classes, inventory, detectors) the worker runs.

Three typical requests, each with its answer: a customer reading their profile with a bearer
JWT, a login (JSON body) and a partner's search with an API key. IDs, identities and keys rotate
over a population, as live traffic does, and the guard first sees `--warm` exchanges of each
kind, so routes are learned and caches hold what they would hold on a running server. Each
figure is the best of `--reps` runs of CPU time (steadier than wall time on a shared machine),
printed beside the cost of building the same exchanges in the same run, so it reads as a ratio
to this machine's speed, not as a number from somewhere else.

    python benchmarks/guard.py [--requests 5000] [--warm 2000] [--reps 5] [--stages]
"""

from __future__ import annotations

import argparse
import base64
import time
from collections.abc import Callable
from typing import Any

import orjson

from apishield.config import Config
from apishield.exchange import Exchange, Request, Response
from apishield.inline.guard import Guard
from apishield.privacy import Hasher

START = 1_767_225_600.0
"""Event time of the first exchange (2026-01-01 UTC); exchanges are 50 ms apart."""
_PROFILE = orjson.dumps(
    {
        "customer_id": "40213377",
        "name": "Maria Example",
        "email": "maria@example.com",
        "phone": "+14155550100",
        "plan": "unlimited",
        "address": {"street": "1 Main St", "city": "Springfield", "postcode": "12345"},
    }
)
_SEARCH = orjson.dumps({"results": [{"plan": "unlimited", "price": 40}], "total": 1})
_JSON = {"content-type": "application/json"}


def _jwt(subject: int) -> str:
    """An unsigned-looking but well-formed JWT: the guard reads `sub` without a key."""
    header = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=").decode()
    claims = orjson.dumps({"sub": f"{subject:08d}", "exp": 1_900_000_000})
    payload = base64.urlsafe_b64encode(claims).rstrip(b"=").decode()
    return f"{header}.{payload}.c2lnbmF0dXJlLW5vdC1jaGVja2Vk"


def profile_read(i: int) -> Exchange:
    customer = 40_000_000 + i % 500
    request = Request(
        "GET",
        f"/v2/customers/{customer}/profile",
        headers={
            "host": "api.telco.example",
            "user-agent": "TelcoApp/5.2 (iOS 18.1)",
            "accept": "application/json",
            "authorization": "Bearer " + _jwt(customer),
        },
        host="api.telco.example",
        peer_ip=f"100.64.{i % 200}.{i % 250 + 1}",
    )
    return Exchange(request, Response(200, dict(_JSON), _PROFILE), START + i * 0.05, 0.012)


def login(i: int) -> Exchange:
    body = orjson.dumps({"username": f"user{i % 300}@example.com", "password": "correct horse"})
    request = Request(
        "POST",
        "/v2/auth/login",
        headers={
            "host": "api.telco.example",
            "user-agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_2) Safari/605.1.15",
            "content-type": "application/json",
            "content-length": str(len(body)),
        },
        body=body,
        host="api.telco.example",
        peer_ip=f"198.51.{i % 100}.{i % 200 + 1}",
    )
    answer = Response(200 if i % 10 else 401, dict(_JSON), b'{"token": "opaque"}')
    return Exchange(request, answer, START + i * 0.05, 0.080)


def partner_search(i: int) -> Exchange:
    request = Request(
        "GET",
        "/v2/search",
        query=f"q=plan+{i % 40}&limit=20",
        headers={
            "host": "api.telco.example",
            "user-agent": "partner-sync/3.1",
            "accept": "application/json",
            "x-api-key": f"pk_live_{i % 20:04d}abcdef0123456789",
        },
        host="api.telco.example",
        peer_ip=f"203.0.113.{i % 20 + 1}",
    )
    return Exchange(request, Response(200, dict(_JSON), _SEARCH), START + i * 0.05, 0.020)


KINDS: dict[str, Callable[[int], Exchange]] = {
    "profile read (JWT)": profile_read,
    "login (JSON body)": login,
    "partner search (key)": partner_search,
}


def cpu(run: Callable[[], Any]) -> float:
    began = time.process_time()
    run()
    return time.process_time() - began


def measure(
    guard: Guard, make: Callable[[int], Exchange], first: int, count: int
) -> dict[str, float]:
    """Best-of-one figures for `count` fresh exchanges from index `first`, in seconds."""
    exchanges: list[Exchange] = []
    build = cpu(lambda: exchanges.extend(make(first + i) for i in range(count)))
    check = guard.check
    request = cpu(lambda: [check(exchange) for exchange in exchanges])
    respond = guard.engine.pipeline.run_response
    response = cpu(lambda: [respond(exchange) for exchange in exchanges])
    return {"build": build, "request": request, "response": response}


def stage_split(guard: Guard, make: Callable[[int], Exchange], first: int, count: int) -> None:
    """Where the request phase goes, stage by stage and check by check (perf_counter)."""
    pipeline = guard.engine.pipeline
    seconds: dict[str, float] = {}
    exchanges = [make(first + i) for i in range(count)]
    clock = time.perf_counter
    for exchange in exchanges:
        for stage in pipeline.request_stages:
            began = clock()
            stage(exchange)
            seconds[stage.name] = seconds.get(stage.name, 0.0) + clock() - began
        began = clock()
        guard.policy.decide(exchange, exchange.started)
        seconds["policy"] = seconds.get("policy", 0.0) + clock() - began
    print("    " + "  ".join(f"{name} {s / count * 1e6:.1f}" for name, s in seconds.items()))
    stage = guard.engine.check_stages[0]
    times: dict[str, float] = {}
    for exchange in [make(first + count + i) for i in range(count)]:
        for check in stage.checks:
            began = clock()
            check.run(exchange, stage.context)
            times[check.name] = times.get(check.name, 0.0) + clock() - began
    top = sorted(times.items(), key=lambda item: -item[1])[:6]
    print("    checks: " + "  ".join(f"{name} {s / count * 1e6:.1f}" for name, s in top))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000, help="Timed exchanges per kind.")
    parser.add_argument("--warm", type=int, default=2000, help="Exchanges per kind seen first.")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--stages", action="store_true", help="Also split the request phase.")
    args = parser.parse_args()
    guard = Guard.from_config(Config(), Hasher(b"k" * 32), warm=True)
    try:
        index = 0
        for make in KINDS.values():
            for i in range(args.warm):
                exchange = make(index + i)
                guard.check(exchange)
                guard.engine.pipeline.run_response(exchange)
        index += args.warm
        print(f"Guard.check and the response phase, CPU µs per exchange, best of {args.reps}:")
        print(f"  {'request kind':<22} {'check':>8} {'response':>9} {'build':>7}  check/build")
        for name, make in KINDS.items():
            best: dict[str, float] = {}
            for _ in range(args.reps):
                figures = measure(guard, make, index, args.requests)
                index += args.requests
                for key, value in figures.items():
                    best[key] = min(best.get(key, value), value)
            us = {key: value / args.requests * 1e6 for key, value in best.items()}
            print(
                f"  {name:<22} {us['request']:8.1f} {us['response']:9.1f} {us['build']:7.1f}"
                f"  {us['request'] / us['build']:10.1f}x"
            )
            if args.stages:
                stage_split(guard, make, index, args.requests)
                index += 2 * args.requests
    finally:
        guard.close()


if __name__ == "__main__":
    main()

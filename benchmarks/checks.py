"""What the request-phase checks cost per request, beside a no-op measured the same way.

Two benign requests: a GET with a 200-byte query string, and a POST with a 2 KB JSON body. Each
is judged by the full request-phase check set (every built-in, as `apishield analyze` runs it),
after actor resolution and routing, as in the pipeline. A third line shows an attack, whose cost
includes building findings; a fourth, the GET with a User-Agent never seen before (a clean
one is remembered). Figures are medians of per-call times, so a GC pause or a noisy neighbour
does not move them. Each call judges its own copy of the request, made of string objects of
its own, as a server parses every request anew: a string's hash, once computed, is kept on the
object, and judging one object over and over would never pay for hashing it.

    python benchmarks/checks.py [--rounds N]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Iterator

import jwt
import orjson

from apishield.checks import BUILTIN_CHECKS, CheckContext, CheckStage, Phase
from apishield.config import Config
from apishield.exchange import Exchange
from apishield.normalise.actor import ActorResolver, JwtReader
from apishield.privacy import Hasher
from apishield.testing import make_exchange

HEADERS = {
    "host": "api.example.com",
    "user-agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15",
    "accept": "application/json",
    "accept-encoding": "gzip, br",
    "authorization": "Bearer "
    + jwt.encode(
        {"sub": "cust-40213377", "iat": 1_700_000_000, "exp": 1_700_000_900},
        "a-long-random-signing-key-nobody-guesses-0f9c2e",
        algorithm="HS256",
    ),
    "x-request-id": "7b1d2c3e-5f60-4a1b-9c8d-0e1f2a3b4c5d",
}
QUERY = (
    "status=shipped&from=2024-01-01&to=2024-02-01&page=3&per_page=50&sort=-created_at"
    "&fields=id,total,currency,items&include=payments&customer=40213377&currency=EUR"
    "&q=blue+running+shoes&lang=de-DE&tz=Europe%2FBerlin"
)


def _record(i: int) -> dict[str, object]:
    return {
        "id": 40213377 + i,
        "name": "Anna Schmidt",
        "email": "anna.schmidt@example.com",
        "phone": "+49 151 23456789",
        "address": {"street": "Hauptstraße 5", "city": "Berlin", "zip": "10115"},
        "tags": ["vip", "newsletter"],
        "note": "Please ring twice, parcel box is round the back.",
    }


BODY = orjson.dumps({"customer": _record(0), "lines": [_record(i) for i in range(1, 8)]})


def _exchanges() -> dict[str, Exchange]:
    get = make_exchange("GET", "/api/v2/customers/40213377/orders", query=QUERY, headers=HEADERS)
    post = make_exchange(
        "POST",
        "/api/v2/customers",
        headers={**HEADERS, "content-type": "application/json"},
        body=BODY,
    )
    attack = make_exchange(
        "GET",
        "/api/v2/customers/40213377/orders",
        query=QUERY.replace("shipped", "shipped%27%20UNION%20SELECT%20password%20FROM%20users--"),
        headers=HEADERS,
    )
    for exchange in (get, post, attack):
        exchange.request.scheme = "https"
    return {
        f"GET, {len(QUERY)}-byte query": get,
        f"POST, {len(BODY)}-byte JSON": post,
        "GET with SQL injection": attack,
    }


def _fresh(text: str) -> str:
    """An equal string that is a new object, with no hash computed yet."""
    return (text + " ")[:-1]


def _copy(exchange: Exchange) -> Exchange:
    request = exchange.request
    copy = make_exchange(
        request.method,
        _fresh(request.path),
        query=_fresh(request.query),
        headers={_fresh(name): _fresh(value) for name, value in request.headers.items()},
        body=None if request.body is None else bytes(bytearray(request.body)),
    )
    copy.request.scheme = request.scheme
    return copy


def _median_ns(call: Callable[[], object], rounds: int) -> float:
    timer = time.perf_counter_ns
    samples = []
    for _ in range(rounds):
        start = timer()
        call()
        samples.append(timer() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=20_000)
    parser.add_argument(
        "--copies", type=int, default=2_000, help="copies of each request judged in turn"
    )
    args = parser.parse_args()
    config = Config()
    resolver = ActorResolver(config.identity, Hasher(b"k" * 32), JwtReader())
    stage = CheckStage(Phase.REQUEST, BUILTIN_CHECKS, CheckContext())
    print(f"request-phase checks: {', '.join(c.name for c in stage.checks)}")

    def noop() -> None:
        return None

    base = _median_ns(noop, args.rounds)
    print(f"{'no-op':32} {base / 1000:8.2f} µs")
    for label, exchange in _exchanges().items():
        copies = [_copy(exchange) for _ in range(args.copies)]
        for copy in copies:
            resolver(copy)
            copy.route = copy.request.path
        turn = iter(copies * (args.rounds // args.copies + 2))

        def judge(turn: Iterator[Exchange] = turn) -> None:
            copy = next(turn)
            copy.findings.clear()
            stage(copy)

        judge()
        found = ", ".join(sorted({f.rule_id for f in copies[0].findings})) or "none"
        cost = _median_ns(judge, args.rounds)
        print(
            f"{label:32} {cost / 1000:8.2f} µs   (minus no-op {(cost - base) / 1000:.2f} µs)"
            f"   findings: {found}"
        )
    get = next(iter(_exchanges().values()))
    resolver(get)
    get.route = get.request.path
    agents = iter([f"{HEADERS['user-agent']} build/{n}" for n in range(args.rounds + 1)])
    headers = get.request.headers

    def judge_new_agent() -> None:
        headers["user-agent"] = next(agents)
        get.findings.clear()
        stage(get)

    cost = _median_ns(judge_new_agent, args.rounds)
    label = "GET, never-seen User-Agent"
    print(f"{label:32} {cost / 1000:8.2f} µs   (minus no-op {(cost - base) / 1000:.2f} µs)")
    print("goal: at most 10 µs for the 200-byte query and 100 µs for the 2 KB JSON body")
    print(
        "(a User-Agent judged clean is remembered, as most requests repeat their client's;"
        " the last line is the cost for a new one)"
    )


if __name__ == "__main__":
    main()

"""What shared state costs: MemoryState against RedisState, per operation and per batch.

Each operation runs N times on both backends over a spread of keys; Redis figures include the
round trip to the server named by --url (loopback by default), so they are what one process
pays, not what the server can do. Records are the ones detectors keep: an identity's Profile
and an endpoint's Baseline (24 hourly slots; the minute's distinct actors are a distinct set
beside it). Then the same calls in batches (one pipeline, one round trip each), and the built-in
detectors over the same observations on both backends. Then enforcement: token buckets and
blocks in memory and on Redis, the failover wrapper's own cost (healthy, and answering locally
during an outage), and one whole policy decision, its blocks and buckets read call by call and
in one combined check (one round trip). Keys go under a fresh prefix, deleted at the end.

    python benchmarks/state.py [--n 20000] [--url redis://127.0.0.1:6379/0] [--batch 100]
"""

from __future__ import annotations

import argparse
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

import orjson
from redis import Redis

from apishield.config import Config
from apishield.detect import builtin_detectors
from apishield.detect.anomaly import Baseline, TrafficAnomaly
from apishield.detect.observation import Observation
from apishield.detect.profile import Profile
from apishield.detect.roles import EndpointRoles
from apishield.detect.testing import ENDPOINT, make_observation
from apishield.enforce import Policy
from apishield.limits import Blocks, Buckets, CallByCall
from apishield.normalise.actor import ActorResolver, JwtReader
from apishield.privacy import Hasher
from apishield.state.codec import decode, encode
from apishield.state.failover import Failover, FailoverBlocks, FailoverBuckets
from apishield.state.memory import MemoryState
from apishield.state.memory_limits import MemoryBlocks, MemoryBuckets
from apishield.state.redis import RedisState
from apishield.state.redis_limits import RedisBlocks, RedisBuckets
from apishield.stateful import State
from apishield.testing import make_exchange

T = 1_767_225_600.0
KEYS = 1_000


def profile() -> Profile:
    record = Profile(first_seen=T, hour=490_000, hour_peak=12, max_hourly=40, last_sequence=7)
    for n in range(6):
        record.remember(f"198.51.{n}.0/24", f"client-{n}", f"GET /v2/things/{n}", T + n)
    return record


def baseline(actors: int) -> Baseline:
    record = Baseline(minute=29_453_760, requests=actors * 3, actors=actors)
    for hour, slot in enumerate(record.slots):
        for minute in range(5):
            slot.add(float(hour + minute))
    return record


def operations(n: int) -> dict[str, Callable[[State, int], object]]:
    small, large = profile(), baseline(200)

    def load_save(kind: type[Any], value: object) -> Callable[[State, int], object]:
        def run(state: State, i: int) -> object:
            key = f"record:{i % KEYS}"
            state.load(key, kind, T + i)
            state.save(key, value, T + i, 3600.0)
            return None

        return run

    return {
        "count": lambda state, i: state.count(f"ip:{i % KEYS}", T + i * 0.01, 60.0),
        "distinct (cap 4096)": lambda state, i: state.distinct(
            f"objects:{i % 100}", f"object-{i}", T + i * 0.01, 3600.0, 4096
        ),
        "load+save float": load_save(float, 1.5),
        "load+save Profile": load_save(Profile, small),
        "load+save Baseline": load_save(Baseline, large),
    }


def per_op(run: Callable[[State, int], object], state: State, n: int) -> float:
    start = time.perf_counter()
    for i in range(n):
        run(state, i)
    return (time.perf_counter() - start) / n * 1e6


def codec_cost(value: object, n: int) -> float:
    """µs to write and read one record as JSON, without any I/O."""
    start = time.perf_counter()
    for _ in range(n):
        decode(type(value), orjson.loads(orjson.dumps(encode(value))))
    return (time.perf_counter() - start) / n * 1e6


def batched(state: RedisState, n: int, size: int) -> float:
    """Counts per second, `size` calls per round trip."""
    start = time.perf_counter()
    for first in range(0, n, size):
        with state.batch() as batch:
            for i in range(first, min(n, first + size)):
                batch.count(f"ip:{i % KEYS}", T + i * 0.01, 60.0)
    return n / (time.perf_counter() - start)


def traffic(n: int) -> list[Observation]:
    personal = EndpointRoles(ENDPOINT, personal=True, object_params=("id",))
    return [
        make_observation(
            actor=f"id:user{i % 300}",
            ip=f"198.51.100.{i % 200}",
            roles=personal,
            objects=[f"object-{i % 5000}"],
            time=T + i * 0.5,
        )
        for i in range(n)
    ]


def busy_endpoint(n: int) -> list[Observation]:
    """A new actor every 5 ms on one endpoint: the minute's distinct actors reach their cap."""
    return [make_observation(actor=f"id:user{i}", time=T + 30 + i * 0.005) for i in range(n)]


def anomaly_rate(state: State, observations: list[Observation]) -> float:
    detector = TrafficAnomaly()
    start = time.perf_counter()
    for observation in observations:
        list(detector.observe(observation, state))
    return len(observations) / (time.perf_counter() - start)


def detect_rate(state: State, observations: list[Observation]) -> float:
    detectors = builtin_detectors()
    start = time.perf_counter()
    for observation in observations:
        for detector in detectors:
            list(detector.observe(observation, state))
    return len(observations) / (time.perf_counter() - start)


# Enforcement: buckets, blocks, failover and one policy decision


def limit_operations() -> dict[str, Callable[[Buckets, Blocks, int], object]]:
    """Calls as the policy makes them: keys spread over KEYS actors, event time moving on."""
    return {
        "bucket take (allowed)": lambda b, _, i: b.take(f"rl:a:{i % KEYS}", T + i, 1.0, 1e9),
        "bucket take (refused)": lambda b, _, i: b.take("rl:a:hammer", T, 0.0, 1.0),
        "is_blocked (not blocked)": lambda _, k, i: k.is_blocked("ip", f"10.0.{i % KEYS}", T),
        "is_blocked (blocked)": lambda _, k, i: k.is_blocked("ip", f"10.1.{i % 100}", T),
        "block": lambda _, k, i: k.block("identity", f"user{i % KEYS}", T + 600 + i, "bench"),
    }


def per_limit_op(run: Callable[[Buckets, Blocks, int], object], pair: Pair, n: int) -> float:
    buckets, blocks = pair
    start = time.perf_counter()
    for i in range(n):
        run(buckets, blocks, i)
    return (time.perf_counter() - start) / n * 1e6


Pair = tuple[Buckets, Blocks]


def seeded(pair: Pair) -> Pair:
    """The blocks `is_blocked (blocked)` finds, raised beforehand."""
    for n in range(100):
        pair[1].block("ip", f"10.1.{n}", T + 3600, "bench")
    pair[0].take("rl:a:hammer", T, 0.0, 1.0)
    return pair


def list_cost(blocks: Blocks, size: int, n: int) -> float:
    """ms to list `size` blocks in force."""
    for i in range(size):
        blocks.block("session", f"{i:016x}", T + 3600 + i, "bench")
    start = time.perf_counter()
    for _ in range(n):
        blocks.list(T)
    return (time.perf_counter() - start) / n * 1e3


def decision_cost(buckets: Buckets, blocks: Blocks, n: int, *, combined: bool = True) -> float:
    """µs per `Policy.decide` for a client with an API key and a session: three block lookups
    (IP, key, session) and three bucket takes (actor on endpoint, actor, endpoint), in the
    backend's one combined check or, with `combined` false, one call each."""
    generous = {"requests": 1e9, "per_seconds": 1.0}
    config = Config.model_validate(
        {"enforce": {"rate_limits": {k: generous for k in ("actor", "endpoint", "actor_endpoint")}}}
    )
    policy = Policy(config.enforce, buckets, blocks)
    if not combined:
        policy.limits = CallByCall(buckets, blocks)
    exchange = make_exchange(
        path="/customers/{id}", headers={"x-api-key": "sk_live_0123456789", "cookie": "sid=abc"}
    )
    ActorResolver(config.identity, Hasher(b"b" * 32), JwtReader())(exchange)
    exchange.route = "/customers/{id}"
    start = time.perf_counter()
    for i in range(n):
        policy.decide(exchange, T + i * 0.001)
    return (time.perf_counter() - start) / n * 1e6


def degraded(client: Redis, prefix: str) -> Pair:
    """Failover wrappers whose shared side is a Redis that refuses every call."""
    dead = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.1)
    health = Failover("redis 127.0.0.1:1", probe_seconds=3600.0)
    pair: Pair = (
        FailoverBuckets(RedisBuckets(dead, prefix), MemoryBuckets(), health),
        FailoverBlocks(RedisBlocks(dead, prefix), MemoryBlocks(), health),
    )
    pair[0].take("start-the-outage", T, 1.0, 1.0)
    return pair


def limits_report(client: Redis, prefix: str, n: int) -> None:
    logging.getLogger("apishield.state").setLevel(logging.ERROR)
    health = Failover("redis", probe_seconds=3600.0)
    redis_pair: Pair = (RedisBuckets(client, prefix), RedisBlocks(client, prefix))
    pairs: dict[str, Callable[[], Pair]] = {
        "memory": lambda: (MemoryBuckets(), MemoryBlocks()),
        "redis": lambda: redis_pair,
        "failover": lambda: (
            FailoverBuckets(redis_pair[0], MemoryBuckets(), health),
            FailoverBlocks(redis_pair[1], MemoryBlocks(), health),
        ),
        "degraded": lambda: degraded(client, prefix),
    }
    print(
        "enforcement, µs per call: failover = Redis behind the failover wrapper, degraded = the "
        "wrapper answering from memory during an outage"
    )
    print(f"{'operation':28}" + "".join(f"{name:>11}" for name in pairs) + f"{'redis/memory':>14}")
    for name, run in limit_operations().items():
        costs = [per_limit_op(run, seeded(make()), n) for make in pairs.values()]
        cells = "".join(f"{cost:11.2f}" for cost in costs)
        print(f"{name:28}{cells}{costs[1] / costs[0]:13.0f}x")
    for size in (100, 10_000):
        memory = list_cost(MemoryBlocks(), size, 20)
        redis = list_cost(RedisBlocks(client, f"{prefix}list{size}:"), size, 20)
        print(
            f"list {size:,} blocks: {memory:.2f} ms in memory, {redis:.2f} ms on Redis "
            f"({redis / memory:.0f}x)"
        )
    print("one policy decision (3 block lookups, 3 takes), µs:")
    print(f"{'':28}" + "".join(f"{name:>11}" for name in pairs))
    rows: dict[str, list[float]] = {}
    for label, combined in (("call by call", False), ("one combined check", True)):
        rows[label] = [
            decision_cost(*make(), min(n, 5_000), combined=combined) for make in pairs.values()
        ]
        print(f"  {label:26}" + "".join(f"{cost:11.1f}" for cost in rows[label]))
    ratios = [one / both for one, both in zip(*rows.values(), strict=True)]
    print(f"  {'speed-up':26}" + "".join(f"{ratio:10.1f}x" for ratio in ratios))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--batch", type=int, default=100)
    args = parser.parse_args()
    n: int = args.n
    client = Redis.from_url(args.url)
    version = client.info("server")["redis_version"]
    prefix = f"apishield-bench:{uuid.uuid4().hex}:"
    shared = RedisState(client, prefix)
    try:
        print(f"state backends: {n:,} calls per operation, Redis {version} at {args.url}")
        ping = per_op(lambda state, i: client.ping(), shared, n)
        print(f"one round trip (PING) to this Redis: {ping:.1f} µs")
        print(f"{'operation':34}{'memory µs':>11}{'redis µs':>11}{'redis/memory':>14}")
        for name, run in operations(n).items():
            memory, redis = per_op(run, MemoryState(), n), per_op(run, shared, n)
            print(f"{name:34}{memory:11.2f}{redis:11.1f}{redis / memory:13.0f}x")
        print("JSON codec alone (encode, dumps, loads, decode), µs per record:")
        for name, value in (("Profile", profile()), ("Baseline", baseline(200))):
            print(f"  {name:32}{codec_cost(value, min(n, 5_000)):11.1f}")
        one = 1e6 / per_op(operations(n)["count"], shared, n)
        print(f"count, one call per round trip: {one:,.0f} ops/s")
        for size in (10, args.batch, 1_000):
            many = batched(shared, n, size)
            print(f"count in batches of {size:>5,}: {many:,.0f} ops/s ({many / one:.1f}x)")
        observations = traffic(min(n, 5_000))
        local, remote = detect_rate(MemoryState(), observations), detect_rate(shared, observations)
        print(
            f"built-in detectors, {len(observations):,} observations: {local:,.0f}/s in memory, "
            f"{remote:,.0f}/s on Redis ({local / remote:.0f}x slower)"
        )
        print(f"Baseline record as JSON: {len(orjson.dumps(encode(baseline(200))))} bytes")
        crowd = busy_endpoint(min(n, 5_000))
        local, remote = anomaly_rate(MemoryState(), crowd), anomaly_rate(shared, crowd)
        print(
            f"traffic anomaly at a busy endpoint ({len(crowd):,} distinct actors in "
            f"{len(crowd) * 0.005:.0f} s): {local:,.0f}/s in memory, {remote:,.0f}/s on Redis"
        )
        limits_report(client, prefix, n)
    finally:
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        for first in range(0, len(keys), 1000):
            client.delete(*keys[first : first + 1000])
        client.close()


if __name__ == "__main__":
    main()

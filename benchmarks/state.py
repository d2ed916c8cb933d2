"""What shared state costs: MemoryState against RedisState, per operation and per batch.

Each operation runs N times on both backends over a spread of keys; Redis figures include the
round trip to the server named by --url (loopback by default), so they are what one process
pays, not what the server can do. Records are the ones detectors keep: an identity's Profile
and an endpoint's Baseline (24 hourly slots and the minute's distinct actors). Then the same
calls in batches (one pipeline, one round trip each), and the built-in detectors over the same
observations on both backends. Keys go under a fresh prefix, deleted at the end.

    python benchmarks/state.py [--n 20000] [--url redis://127.0.0.1:6379/0] [--batch 100]
"""

from __future__ import annotations

import argparse
import time
import uuid
from collections.abc import Callable
from typing import Any

import orjson
from redis import Redis

from apishield.detect import builtin_detectors
from apishield.detect.anomaly import Baseline
from apishield.detect.observation import Observation
from apishield.detect.profile import Profile
from apishield.detect.roles import EndpointRoles
from apishield.detect.testing import ENDPOINT, make_observation
from apishield.state.codec import decode, encode
from apishield.state.memory import MemoryState
from apishield.state.redis import RedisState
from apishield.stateful import State

T = 1_767_225_600.0
KEYS = 1_000


def profile() -> Profile:
    record = Profile(first_seen=T, hour=490_000, hour_peak=12, max_hourly=40, last_sequence=7)
    for n in range(6):
        record.remember(f"198.51.{n}.0/24", f"client-{n}", f"GET /v2/things/{n}", T + n)
    return record


def baseline(actors: int) -> Baseline:
    record = Baseline(minute=29_453_760, requests=actors * 3)
    record.actors = {f"ip:203.0.113.{n % 250}.{n // 250}" for n in range(actors)}
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
        "load+save Baseline (200 actors)": load_save(Baseline, large),
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


def detect_rate(state: State, observations: list[Observation]) -> float:
    detectors = builtin_detectors()
    start = time.perf_counter()
    for observation in observations:
        for detector in detectors:
            list(detector.observe(observation, state))
    return len(observations) / (time.perf_counter() - start)


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
        for name, value in (("Profile", profile()), ("Baseline (200 actors)", baseline(200))):
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
    finally:
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        for first in range(0, len(keys), 1000):
            client.delete(*keys[first : first + 1000])
        client.close()


if __name__ == "__main__":
    main()

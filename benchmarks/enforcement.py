"""Enforcement correctness under load: two `apishield proxy` processes sharing state on Redis.

Everything runs on 127.0.0.1, each server a process of its own started from the real CLI:
two proxies (`state.backend: redis`, one key prefix fresh for the run, one data_dir and so one
install secret) in front of one upstream that counts the requests reaching it per client
(benchmarks/counting_upstream.py). Clients are told apart by X-Forwarded-For, which the
proxies believe from 127.0.0.1 (`identity.trusted_proxies`), so each test speaks as a client
IP of its own. Automatic blocks are off, so only what a test sets up refuses.

1. Shared rate limit. One client sends 10N requests, alternating between the proxies, as
   fast as it can; the actor limit is N per minute with a bucket of `burst`. At most
   burst + N/60 x (seconds the run took) may reach the upstream, and at least `burst`.
2. Shared block. A client blocked with `apishield blocks add ip ...` before its run sends M
   requests to both proxies: none may reach the upstream, every answer is 403.
3. Upstream killed. A load runs through one proxy (from an allow-listed client, so no limit
   refuses it) while the upstream is killed with SIGKILL: every request must end with 200,
   502 or 504 within the proxy's timeouts (the client waits far longer), the proxies must
   still answer 502 afterwards and 200 again once the upstream is back.
4. Throughput with analysis off the proxy. `apishield proxy` with `analysis.mode: stream` (one
   `apishield worker` reading the stream) and with analysis local, each against the bare
   pass-through of benchmarks/proxy.py on the same stack and upstream, with state in Redis and
   in memory; rounds alternate and each row keeps its best. The worker runs at nice 19, so on
   a small machine it takes only the CPU the proxy and the load leave idle, as a worker on
   another machine would; how far it fell behind is printed. Figures only: they do not fail
   the run.

The script exits 1 when a correctness check (1-3) fails. Every process it started and every
Redis key under the run's prefix are removed at the end, on failure too.

    python -m benchmarks.enforcement [--limit 200] [--burst 20] [--blocked-requests 1000]
        [--seconds 6] [--rounds 3] [--connections 32] [--redis redis://127.0.0.1:6379/0]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from redis import Redis

from benchmarks import counting_upstream, modsec
from benchmarks import proxy as proxy_bench

ROOT = Path(__file__).resolve().parent.parent
PATH = "/customers/40213377/profile?fields=name,email"
LIMITED_CLIENT = "203.0.113.10"
BLOCKED_CLIENT = "203.0.113.66"
LOAD_CLIENT = "198.51.100.7"
"""On the allow list: the load of test 3 must reach the upstream, not a rate limit."""
CLIENT_TIMEOUT = 60.0
"""Seconds a client request may take before it counts as hung: far above the proxy's own."""
CONNECT_TIMEOUT, READ_TIMEOUT = 2.0, 5.0
"""The proxies' timeouts towards the upstream in tests 1-3."""
STOP_SECONDS = 60.0


# -- configuration ------------------------------------------------------------------------------


def enforcement_config(home: Path, redis_url: str, prefix: str, limit: int, burst: int) -> str:
    return f"""
data_dir: "{home}"
identity:
  trusted_proxies: ["127.0.0.1/32"]
enforce:
  mode: enforce
  allow:
    ips: ["{LOAD_CLIENT}/32"]
  rate_limits:
    actor: {{requests: {limit}, per_seconds: 60, burst: {burst}}}
  auto_block: {{enabled: false}}
state: {{backend: redis, url: "{redis_url}", prefix: "{prefix}"}}
store: {{url: "sqlite:///{home}/store.db"}}
"""


def throughput_config(home: Path, redis_url: str, prefix: str, analysis: str, state: str) -> str:
    """benchmarks/proxy.py's guard (every check, limits that never refuse), with the state
    backend and analysis mode of one row."""
    return (
        proxy_bench.CONFIG
        + f"""
data_dir: "{home}"
state: {{backend: {state}, url: "{redis_url}", prefix: "{prefix}"}}
analysis: {{mode: {analysis}, stream: "{prefix}exchanges", group: bench-workers}}
store: {{url: "sqlite:///{home}/worker.db"}}
"""
    )


# -- processes ----------------------------------------------------------------------------------


class Processes:
    """Every child this run starts, each with its stderr in a log file; all stopped at the end."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.running: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, command: list[str], port: int | None = None) -> None:
        log = (self.logs / f"{name}.log").open("ab")
        process = subprocess.Popen(
            command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log, start_new_session=True
        )
        log.close()
        self.running[name] = process
        if port is not None:
            self.wait(name, port)

    def wait(self, name: str, port: int) -> None:
        """Until `name` answers on `port`; its log's tail in the error when it exits instead."""
        try:
            proxy_bench.wait_listening(self.running[name], port)
        except RuntimeError as exc:
            raise RuntimeError(f"{name}: {exc}\n{self.log_tail(name)}") from None

    def kill(self, name: str) -> None:
        process = self.running.pop(name)
        process.kill()
        process.wait()

    def stop(self, name: str) -> None:
        process = self.running.pop(name)
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def stop_all(self) -> None:
        for name in list(self.running):
            self.stop(name)

    def alive(self, name: str) -> bool:
        return self.running[name].poll() is None

    def log_tail(self, name: str, lines: int = 15) -> str:
        path = self.logs / f"{name}.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def log_lines(self, name: str, needle: str) -> list[str]:
        path = self.logs / f"{name}.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return [line.strip() for line in text.splitlines() if needle in line]

    def log_from(self, name: str, needle: str) -> str:
        """The log from the last line holding `needle` to its end, on one line: exit summaries
        are wrapped at 80 columns when stderr is a file."""
        path = self.logs / f"{name}.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        found = text.rfind(needle)
        return " ".join(text[found:].split()) if found >= 0 else f"no {needle!r} line"


def apishield(*arguments: str) -> list[str]:
    return [sys.executable, "-m", "apishield.cli", *arguments]


def proxy_command(upstream_port: int, port: int, config: Path) -> list[str]:
    command = apishield("proxy", "--upstream", f"http://127.0.0.1:{upstream_port}")
    command += ["--listen", f"127.0.0.1:{port}", "--config", str(config)]
    command += ["--connect-timeout", f"{CONNECT_TIMEOUT:g}", "--read-timeout", f"{READ_TIMEOUT:g}"]
    return [*command, "--grace", "5"]


def counting_command(port: int) -> list[str]:
    return [sys.executable, "-m", "benchmarks.counting_upstream", str(port)]


# -- the client ---------------------------------------------------------------------------------


@dataclass(slots=True)
class Tally:
    """What a client saw: answers by status, failures by kind, every latency (seconds)."""

    statuses: Counter[int] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    elapsed: float = 0.0

    @property
    def sent(self) -> int:
        return len(self.latencies)

    def others(self, *expected: int) -> dict[str, int]:
        """Every outcome but the expected statuses, failures included."""
        found = {str(s): n for s, n in self.statuses.items() if s not in expected}
        return {**found, **self.failures}


async def fire(
    ports: list[int],
    client: str,
    *,
    count: int | None = None,
    seconds: float | None = None,
    concurrency: int = 32,
) -> Tally:
    """`count` requests, or as many as fit in `seconds`, from `concurrency` keep-alive
    connections at once, alternating between `ports`; each may take up to CLIENT_TIMEOUT."""
    tally = Tally()
    headers = {"X-Forwarded-For": client, "User-Agent": "apishield-bench/1.0"}
    headers["Accept"] = "application/json"
    stop = math.inf if seconds is None else time.perf_counter() + seconds
    issued = 0
    timeout = aiohttp.ClientTimeout(total=CLIENT_TIMEOUT)
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0), timeout=timeout
    ) as session:

        async def one_connection() -> None:
            nonlocal issued
            while (count is None or issued < count) and time.perf_counter() < stop:
                url = f"http://127.0.0.1:{ports[issued % len(ports)]}{PATH}"
                issued += 1
                started = time.perf_counter()
                try:
                    async with session.get(url, headers=headers) as answer:
                        await answer.read()
                    tally.statuses[answer.status] += 1
                except TimeoutError:
                    tally.failures["client timeout (hung)"] += 1
                except aiohttp.ClientError as exc:
                    tally.failures[f"connection: {type(exc).__name__}"] += 1
                tally.latencies.append(time.perf_counter() - started)

        began = time.perf_counter()
        await asyncio.gather(*(one_connection() for _ in range(concurrency)))
        tally.elapsed = time.perf_counter() - began
    return tally


def statuses(tally: Tally) -> str:
    parts = [f"{status}: {n}" for status, n in sorted(tally.statuses.items())]
    parts += [f"{kind}: {n}" for kind, n in sorted(tally.failures.items())]
    return ", ".join(parts) or "none"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


# -- the correctness tests ----------------------------------------------------------------------


@dataclass(slots=True)
class Stack:
    """Two proxies in front of one counting upstream, and how to reach them."""

    processes: Processes
    upstream: int
    proxies: list[int]
    config: Path


def shared_rate_limit(stack: Stack, limit: int, burst: int) -> bool:
    before = asyncio.run(counting_upstream.fetch_counts(stack.upstream))[LIMITED_CLIENT]
    tally = asyncio.run(fire(stack.proxies, LIMITED_CLIENT, count=10 * limit, concurrency=64))
    hits = asyncio.run(counting_upstream.fetch_counts(stack.upstream))[LIMITED_CLIENT] - before
    rate = limit / 60
    bound = math.floor(burst + rate * tally.elapsed)
    others = tally.others(200, 429)
    ok = burst <= hits <= bound and not others and tally.statuses[200] == hits
    print(f"\n1. shared rate limit: {limit}/min, burst {burst}, one client over both proxies")
    print(f"   sent {tally.sent:,} in {tally.elapsed:.2f}s ({tally.sent / tally.elapsed:,.0f}/s)")
    print(f"   upstream hits {hits}, 200s {tally.statuses[200]}, 429s {tally.statuses[429]}")
    print(f"   other statuses: {others or 'none'}")
    print(
        f"   bound: burst {burst} + {rate:.2f}/s x {tally.elapsed:.2f}s refilled = {bound} "
        f"(and at least {burst}); a bucket per process would let up to "
        f"{math.floor(2 * (burst + rate * tally.elapsed))} through"
    )
    print(f"   {verdict(ok)}")
    return ok


def shared_block(stack: Stack, requests: int) -> bool:
    added = subprocess.run(
        [
            *apishield("blocks", "add", "ip", BLOCKED_CLIENT, "--config", str(stack.config)),
            *("--seconds", "600", "--reason", "benchmark: blocked actor"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    print(f"\n2. shared block: `apishield blocks add ip {BLOCKED_CLIENT}` before the run")
    print(f"   {(added.stdout.strip() or added.stderr.strip())[:200]}")
    if added.returncode != 0:
        print(f"   blocks add exited {added.returncode}\n   FAIL")
        return False
    before = asyncio.run(counting_upstream.fetch_counts(stack.upstream))[BLOCKED_CLIENT]
    tally = asyncio.run(fire(stack.proxies, BLOCKED_CLIENT, count=requests, concurrency=64))
    hits = asyncio.run(counting_upstream.fetch_counts(stack.upstream))[BLOCKED_CLIENT] - before
    others = tally.others(403)
    ok = hits == 0 and not others
    print(f"   sent {tally.sent:,} over both proxies in {tally.elapsed:.2f}s")
    print(f"   upstream hits {hits}, 403s {tally.statuses[403]}, other: {others or 'none'}")
    print(f"   {verdict(ok)}")
    return ok


async def _load_with_kill(stack: Stack, seconds: float, kill_after: float) -> Tally:
    async def kill() -> None:
        await asyncio.sleep(kill_after)
        stack.processes.kill("upstream")

    load = fire(stack.proxies[:1], LOAD_CLIENT, seconds=seconds, concurrency=32)
    tally, _ = await asyncio.gather(load, kill())
    return tally


async def _until_status(port: int, wanted: int, within: float) -> tuple[int | None, float]:
    """Ask `port` until it answers `wanted` (or `within` seconds pass): last status, seconds."""
    began = time.perf_counter()
    status: int | None = None
    while True:
        tally = await fire([port], LOAD_CLIENT, count=1, concurrency=1)
        status = next(iter(tally.statuses), None)
        waited = time.perf_counter() - began
        if status == wanted or waited > within:
            return status, waited
        await asyncio.sleep(0.1)


def upstream_killed(stack: Stack) -> bool:
    bound = CONNECT_TIMEOUT + READ_TIMEOUT + 1.0
    tally = asyncio.run(_load_with_kill(stack, seconds=5.0, kill_after=1.5))
    latency = max(tally.latencies, default=0.0)
    others = tally.others(200, 502, 504)
    hung = tally.failures["client timeout (hung)"]
    failed_over = tally.statuses[502] + tally.statuses[504]
    load_ok = not others and latency <= bound and tally.statuses[200] > 0 and failed_over > 0
    print("\n3. upstream killed (SIGKILL) 1.5s into a 5s load through one proxy")
    print(
        f"   proxy timeouts: connect {CONNECT_TIMEOUT:g}s, read {READ_TIMEOUT:g}s; "
        f"client timeout {CLIENT_TIMEOUT:g}s"
    )
    print(f"   sent {tally.sent:,}: {statuses(tally)}")
    print(f"   max latency {latency * 1000:.1f} ms (bound {bound:g}s); hung requests: {hung}")
    after = [asyncio.run(_until_status(port, 502, 0.0))[0] for port in stack.proxies]
    print(f"   after the kill, each proxy answers: {after}")
    stack.processes.start("upstream", counting_command(stack.upstream), stack.upstream)
    recovered = [asyncio.run(_until_status(port, 200, 15.0)) for port in stack.proxies]
    for port, (status, waited) in zip(stack.proxies, recovered, strict=True):
        print(f"   upstream restarted: proxy :{port} answers {status} after {waited:.2f}s")
    steady = asyncio.run(fire(stack.proxies, LOAD_CLIENT, count=200, concurrency=8))
    print(f"   then 200 requests over both: {statuses(steady)}")
    ok = (
        load_ok
        and all(status in (502, 504) for status in after)
        and all(status == 200 for status, _ in recovered)
        and not steady.others(200)
    )
    print(f"   {verdict(ok)}")
    return ok


def correctness(args: argparse.Namespace, home: Path, prefix: str, processes: Processes) -> bool:
    config = home / "enforcement.yaml"
    config.write_text(enforcement_config(home, args.redis, prefix, args.limit, args.burst))
    upstream, first, second = (modsec.free_port() for _ in range(3))
    processes.start("upstream", counting_command(upstream), upstream)
    processes.start("proxy-a", proxy_command(upstream, first, config), first)
    processes.start("proxy-b", proxy_command(upstream, second, config), second)
    stack = Stack(processes, upstream, [first, second], config)
    results = [
        shared_rate_limit(stack, args.limit, args.burst),
        shared_block(stack, args.blocked_requests),
        upstream_killed(stack),
    ]
    for name in ("proxy-a", "proxy-b"):
        processes.stop(name)
        degraded = processes.log_lines(name, "degrad")
        print(f"   {name} {processes.log_from(name, 'stopped:')}")
        if degraded:
            print(f"   {name} lost Redis during the run: {degraded[:3]}")
    processes.stop("upstream")
    return all(results)


# -- throughput: analysis on the proxy or on a worker ---------------------------------------------

BARE = "bare pass-through"
GUARDED = (("local", "redis"), ("stream", "redis"), ("local", "memory"), ("stream", "memory"))
"""(analysis mode, state backend) of each `apishield proxy` row."""


def row_name(analysis: str, state: str) -> str:
    return f"analysis {analysis}, state {state}"


def throughput(args: argparse.Namespace, home: Path, prefix: str, processes: Processes) -> None:
    upstream = modsec.free_port()
    me = [sys.executable, "-m", "benchmarks.proxy"]
    target = f"http://127.0.0.1:{upstream}"
    processes.start("fast-upstream", [*me, "--serve-upstream", str(upstream)], upstream)
    ports = {BARE: modsec.free_port()}
    processes.start(BARE, [*me, "--serve-proxy", target, str(ports[BARE]), "bare"])
    for analysis, state in GUARDED:
        config = home / f"throughput-{analysis}-{state}.yaml"
        config.write_text(throughput_config(home, args.redis, prefix, analysis, state))
        name = row_name(analysis, state)
        ports[name] = modsec.free_port()
        command = apishield("proxy", "--upstream", target, "--config", str(config))
        processes.start(name, [*command, "--listen", f"127.0.0.1:{ports[name]}"])
    worker_config = home / "throughput-stream-redis.yaml"
    worker = apishield("worker", "--config", str(worker_config), "--name", "w1")
    processes.start("worker", ["nice", "-n", "19", *worker] if shutil.which("nice") else worker)
    for name, port in ports.items():  # started together, so their start-ups overlap
        processes.wait(name, port)
    best: dict[str, proxy_bench.Result] = {}
    for _ in range(args.rounds):
        for name, port in ports.items():
            url = f"http://127.0.0.1:{port}{proxy_bench.PATH}"
            result = proxy_bench.measure(url, args.seconds, args.connections)
            if name not in best or result.rps > best[name].rps:
                best[name] = result
            print(f"  measured {name}: {result.rps:,.0f}/s", file=sys.stderr, flush=True)
    worker_alive = processes.alive("worker")
    backlog = _stream_backlog(args.redis, f"{prefix}exchanges")
    for analysis, state in GUARDED:
        processes.stop(row_name(analysis, state))
    processes.stop("worker")
    _report_throughput(args, best)
    print(f"\n   stream after the runs: {backlog}; worker alive throughout: {worker_alive}")
    for name in [*(row_name(a, s) for a, s in GUARDED), "worker"]:
        print(f"   {name} {processes.log_from(name, 'stopped:')}")
    processes.stop(BARE)
    processes.stop("fast-upstream")


def _stream_backlog(url: str, key: str) -> str:
    client = Redis.from_url(url, socket_timeout=5, decode_responses=True)
    try:
        length = client.xlen(key)
        groups = client.xinfo_groups(key) if length or client.exists(key) else []
        lag = ", ".join(
            f"group {g['name']}: {g['pending']} pending, lag {g.get('lag')}" for g in groups
        )
        return f"{length:,} entries ({lag or 'no group'})"
    finally:
        client.close()


def _report_throughput(args: argparse.Namespace, best: dict[str, proxy_bench.Result]) -> None:
    print(
        f"\n4. throughput, GET {proxy_bench.PATH} -> 2 KB JSON; {args.connections} connections, "
        f"{args.seconds:g}s per row, best of {args.rounds} alternated rounds"
    )
    print(f"   CPUs: {os.cpu_count()}; every server one process, not pinned")
    print(f"   load: {'wrk -t1' if shutil.which('wrk') else 'asyncio client (wrk not installed)'}")
    print(f"\n   {'':32} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for name, row in best.items():
        print(f"   {name:32} {row.rps:9,.0f} {row.p50_ms:8.2f} {row.p99_ms:8.2f} {row.errors:7}")
    bare = best[BARE].rps
    print()
    for state in ("redis", "memory"):
        stream = best[f"analysis stream, state {state}"].rps / bare
        local = best[f"analysis local, state {state}"].rps / bare
        met = "met" if stream >= 0.8 else "not met"
        print(
            f"   state {state:6}: stream / bare {stream:.2f} (goal >= 0.8: {met}); "
            f"local / bare {local:.2f}; stream / local {stream / local:.2f}"
        )


# -- the run ------------------------------------------------------------------------------------


def delete_keys(url: str, prefix: str) -> int:
    client = Redis.from_url(url, socket_timeout=5)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start : start + 500])
        return len(keys)
    finally:
        client.close()


@contextmanager
def workspace(redis_url: str) -> Iterator[tuple[Path, str, Processes]]:
    """A private home (data_dir, configs, logs), a key prefix of its own, the children; all
    removed on the way out, however it is left."""
    home = Path(tempfile.mkdtemp(prefix="apishield-enforcement-"))
    prefix = f"apishield:bench-enforcement:{uuid.uuid4().hex[:12]}:"
    processes = Processes(home)
    try:
        yield home, prefix, processes
    finally:
        processes.stop_all()
        with suppress(Exception):
            print(f"\ncleaned up: {delete_keys(redis_url, prefix)} Redis keys under {prefix}")
        shutil.rmtree(home, ignore_errors=True)


def check_redis(url: str) -> None:
    client = Redis.from_url(url, socket_timeout=2)
    try:
        client.ping()
    except Exception as exc:
        sys.exit(f"Redis at {url} does not answer ({exc}); start it, or pass --redis URL")
    finally:
        client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=200, help="N: actor requests per minute")
    parser.add_argument("--burst", type=int, default=20)
    parser.add_argument("--blocked-requests", type=int, default=1000, help="M")
    parser.add_argument("--seconds", type=float, default=6.0, help="per throughput row")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--skip-throughput", action="store_true")
    args = parser.parse_args()
    if not args.redis.startswith("redis://127.0.0.1"):
        sys.exit("--redis must be on 127.0.0.1: this benchmark stays on the loopback")
    check_redis(args.redis)
    # SIGTERM unwinds like Ctrl+C, so the children and the keys are cleaned up either way.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with workspace(args.redis) as (home, prefix, processes):
        print(f"Redis {args.redis}, key prefix {prefix}; proxies from `apishield proxy`")
        passed = correctness(args, home, prefix, processes)
        if not args.skip_throughput:
            throughput(args, home, prefix, processes)
    print(f"\ncorrectness: {verdict(passed)}")
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()

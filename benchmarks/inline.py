"""What apishield's in-line middleware costs a real server: throughput, latency and CPU per request.

Each app of benchmarks/inline_apps.py (FastAPI under uvicorn with one worker; Flask under
waitress) runs twice on 127.0.0.1, without and with apishield (default configuration: every
check and detector on, enforce mode), and wrk drives both over loopback. The server is pinned
to one CPU and wrk to the other, when there are two. Both servers are warmed up first (the
guard has its signature databases before the server listens; the warm-up load then fills the
route learner, the inventory and the detector state), and the analysis backlog is drained
before anything is measured.

Per route, two phases, each repeated and alternated (without, with, without, with, ...) so that
machine noise shows; the medians decide, and the best of each figure over the repetitions is
printed beside them:

* saturated: `--connections` keep-alive connections as fast as the server answers, for
  requests/s and the server's CPU time per request (utime + stime of the process, all threads,
  from /proc, from the start of the load until the guard's worker has analysed every exchange);
* paced: `--paced-connections` connections with exponential think times, offering `--load`
  times the lowest median saturated rate (the one with apishield), so that no variant is
  saturated: the latency apishield adds to a server with headroom (at saturation, closed-loop
  latency is mostly queueing: connections / rate).

The traffic is benign on purpose, so that every request takes the pass-through path: 200 API
keys each read their own 4 customers (wrk sends Host, User-Agent, Accept and X-Api-Key).
Refusals are counted (non-2xx), as are the guard's non-allow decisions ("flagged"), the
exchanges still queued for analysis when the load stopped ("backlog"), how long the worker took
to catch up ("drain") and the exchanges the full queue dropped.

Then, in this process, with no server: the CPU per request of the middleware around a trivial
ASGI app, split by phase, stage and check, and cProfile's top entries for both phases.

    python benchmarks/inline.py [--quick] [--seconds 5] [--reps 3] [--apps fastapi,flask]
        [--load 0.5] [--compiled] [--stream [REDIS_URL]] [--switch-interval MS]
        [--profile-requests 3000]

`--stream` adds a variant with `analysis.mode: stream`: the app's process keeps the request
phase and enforcement and hands each exchange to a Redis stream, where an `apishield worker`
(pinned to wrk's CPU, at idle priority) runs the response phase: every check and detector
still runs, outside the process in front of the API.

On a shared machine, server CPU per request is the steadiest figure; requests/s and latency
move with whatever else runs. Each run says how busy the server was ("busy": its CPU time over
the wall time; a saturated server that is not near 100% was held back, usually by wrk losing
its CPU) and how much CPU other programs took on the two CPUs in use ("others", where 100% is
one whole CPU).

Needs wrk (Debian: `apt-get install wrk`) and, for the Flask rows, waitress.
"""

from __future__ import annotations

import argparse
import http.client
import importlib.metadata
import json
import os
import platform
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inline_apps import BASE, KEYS, PER_KEY, USER_AGENT, api_key
from inline_profile import in_process

HERE = Path(__file__).resolve().parent
APPS = HERE / "inline_apps.py"
ROUTES = {"customer": "/customers/{id}", "hello": "/hello"}
TITLES = {"fastapi": "FastAPI under uvicorn", "flask": "Flask under waitress"}

LUA = """
local keys, per_key, base = %(keys)d, %(per_key)d, %(base)d
local route, mean_delay = "%(route)s", %(mean_delay)f
local headers = {["Host"] = "api.example.com", ["User-Agent"] = "%(user_agent)s",
                 ["Accept"] = "application/json"}
function init(args) math.randomseed(%(seed)d) end
function request()
  local k = math.random(keys)
  headers["X-Api-Key"] = string.format("sk_live_%%08dQm4Zr7Tf2Wx9", k)
  local path = "/hello"
  if route == "customer" then
    path = "/customers/" .. (base + k * 16 + math.random(0, per_key - 1))
  end
  return wrk.format("GET", path, headers)
end
function delay()
  if mean_delay <= 0 then return 0 end
  return math.floor(-math.log(1 - math.random()) * mean_delay + 0.5)
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%%d,"us":%%d,"socket_errors":%%d,"non_2xx":%%d,"p50":%%d,"p99":%%d}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99)))
end
"""


# -- servers ----------------------------------------------------------------------------------


class Server:
    """One app in its own process on a free loopback port, optionally pinned to one CPU."""

    def __init__(
        self,
        app: str,
        variant: str,
        cpu: int | None,
        logs: Path,
        env: dict[str, str],
        options: list[str],
    ):
        self.app, self.variant, self.cpu = app, variant, cpu
        self.shielded = variant != "without"
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        command = [sys.executable, str(APPS), "--app", app, "--port", str(self.port), *options]
        if self.shielded:
            command.append("--shielded")
        if cpu is not None:
            command = ["taskset", "-c", str(cpu), *command]
        self.log = logs / f"{app}-{variant.replace(' ', '-')}.log"
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
        self.launched = time.monotonic()

    def get(self, path: str) -> Any:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request("GET", path, headers={"X-Api-Key": api_key(0)})
            return json.loads(connection.getresponse().read())
        finally:
            connection.close()

    def stats(self) -> dict[str, Any]:
        answer: dict[str, Any] = self.get("/bench/stats")
        return answer

    def wait_ready(self, timeout: float = 300.0) -> float:
        """Seconds from launch until the server answered."""
        while time.monotonic() - self.launched < timeout:
            if self.process.poll() is not None:
                break
            try:
                self.stats()
                return time.monotonic() - self.launched
            except OSError:
                time.sleep(0.2)
        tail = self.log.read_text(errors="replace")[-2000:]
        raise SystemExit(f"{self.app} ({self.variant}) did not start; its log ends:\n{tail}")

    def cpu_seconds(self) -> float:
        """utime + stime of every thread of the server process."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def wait_analysed(self, target: int, timeout: float = 120.0) -> dict[str, Any]:
        """Poll until the guard's worker has analysed (or dropped) `target` exchanges in all."""
        deadline = time.monotonic() + timeout
        while True:
            stats = self.stats()
            done = handled(stats)
            if (done >= target and stats["queued"] == 0) or time.monotonic() > deadline:
                return stats
            time.sleep(0.02)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def cpu_busy(cpus: set[int] | None) -> float:
    """Seconds these CPUs (all of them when None) have been busy since boot, whoever ran."""
    total = 0.0
    for line in Path("/proc/stat").read_text().splitlines():
        name = line.split(" ", 1)[0]
        if name == "cpu" if cpus is None else name.removeprefix("cpu") in map(str, cpus):
            ticks = [int(field) for field in line.split()[1:9]]
            total += sum(ticks) - ticks[3] - ticks[4]
    return total / os.sysconf("SC_CLK_TCK")


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# -- load -------------------------------------------------------------------------------------


@dataclass
class Run:
    variant: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    cpu_us: float
    """Server CPU per request, analysis of the run's exchanges included."""
    non_2xx: int
    socket_errors: int
    backlog: int = 0
    """Exchanges still queued for analysis when the load stopped."""
    drain_s: float = 0.0
    dropped: int = 0
    decisions: int = 0
    """Requests the policy did not simply allow (refused, throttled, or flagged in monitor mode)."""
    busy: float = 0.0
    """The server's CPU time over the load's wall time: near 1 when the server was the limit."""
    others: float = 0.0
    """CPU time of other programs on the server's and wrk's CPUs over the load's wall time."""

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


@dataclass
class Bench:
    seconds: int
    warmup: int
    reps: int
    connections: int
    paced_connections: int
    load: float
    wrk_cpu: int | None
    scripts: Path
    cpus: set[int] | None
    """The CPUs the server and wrk are pinned to, where interference is counted."""
    seed: int = 0

    def wrk(self, server: Server, route: str, seconds: int, connections: int, rate: float) -> Any:
        """One wrk run; `rate` > 0 paces the connections to offer about that many requests/s."""
        self.seed += 1
        mean_delay = connections / rate * 1000 if rate > 0 else 0.0
        script = self.scripts / f"load-{self.seed}.lua"
        script.write_text(
            LUA
            % {
                "keys": KEYS,
                "per_key": PER_KEY,
                "base": BASE,
                "route": route,
                "mean_delay": mean_delay,
                "user_agent": USER_AGENT,
                "seed": self.seed,
            }
        )
        command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s"]
        command += ["-s", str(script), f"http://127.0.0.1:{server.port}"]
        if self.wrk_cpu is not None:
            command = ["taskset", "-c", str(self.wrk_cpu), *command]
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        return json.loads(next(line for line in out.splitlines() if line.startswith("{")))

    def measure(self, server: Server, route: str, connections: int, rate: float = 0.0) -> Run:
        before = server.stats() if server.shielded else {}
        cpu, busy, wrk = server.cpu_seconds(), cpu_busy(self.cpus), children_cpu()
        result = self.wrk(server, route, self.seconds, connections, rate)
        served = server.cpu_seconds() - cpu
        others = cpu_busy(self.cpus) - busy - served - (children_cpu() - wrk)
        run = Run(
            server.variant,
            result["requests"],
            result["us"] / 1e6,
            result["p50"] / 1e3,
            result["p99"] / 1e3,
            0.0,
            result["non_2xx"],
            result["socket_errors"],
        )
        run.busy, run.others = served / run.seconds, max(others, 0.0) / run.seconds
        if server.shielded:
            run.backlog = server.stats()["queued"]
            start = time.monotonic()
            target = handled(before) + run.requests
            after = server.wait_analysed(target)
            run.drain_s = time.monotonic() - start
            run.dropped = after["dropped"] - before["dropped"]
            run.decisions = sum(after["decisions"].values()) - sum(before["decisions"].values())
        run.cpu_us = (server.cpu_seconds() - cpu) / max(run.requests, 1) * 1e6
        return run

    def warm_up(self, servers: list[Server]) -> None:
        for server in servers:
            for route in ROUTES:
                before = server.stats() if server.shielded else {}
                result = self.wrk(server, route, self.warmup, self.connections, 0.0)
                if server.shielded:
                    server.wait_analysed(
                        before["processed"] + before["dropped"] + result["requests"]
                    )

    def alternate(
        self, servers: list[Server], route: str, connections: int, rate: float
    ) -> dict[str, list[Run]]:
        runs: dict[str, list[Run]] = defaultdict(list)
        for rep in range(1, self.reps + 1):
            for server in servers:
                run = self.measure(server, route, connections, rate)
                runs[server.variant].append(run)
                print_run(f"{rep}", run)
        return runs


# -- report -----------------------------------------------------------------------------------

HEADER = (
    f"{'rep':<5}{'variant':<16}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'CPU µs/req':>12}{'busy':>6}"
    f"{'others':>8}{'non-2xx':>9}{'backlog':>9}{'drain s':>9}{'dropped':>9}{'flagged':>9}"
)


def print_run(rep: str, run: Run) -> None:
    extra = (
        f"{run.backlog:>9,}{run.drain_s:>9.2f}{run.dropped:>9,}{run.decisions:>9,}"
        if run.variant != "without"
        else ""
    )
    errors = f"  socket errors: {run.socket_errors}" if run.socket_errors else ""
    print(
        f"{rep:<5}{run.variant:<16}{run.rate:>9,.0f}{run.p50_ms:>9.2f}{run.p99_ms:>9.2f}"
        f"{run.cpu_us:>12.0f}{run.busy:>6.0%}{run.others:>8.0%}{run.non_2xx:>9,}{extra}{errors}",
        flush=True,
    )


def combine(runs: list[Run], best: bool) -> Run:
    """The median of each figure over the repetitions, or the best of each (most requests/s,
    least latency, CPU and interference): what the machine gives with the least disturbance."""

    def pick(get: Callable[[Run], float], more_is_better: bool = False) -> float:
        values = [get(run) for run in runs]
        if not best:
            return statistics.median(values)
        return max(values) if more_is_better else min(values)

    return Run(
        runs[0].variant,
        round(pick(lambda r: r.rate, more_is_better=True) * 1000),
        1000.0,
        pick(lambda r: r.p50_ms),
        pick(lambda r: r.p99_ms),
        pick(lambda r: r.cpu_us),
        sum(r.non_2xx for r in runs),
        sum(r.socket_errors for r in runs),
        round(pick(lambda r: r.backlog)),
        pick(lambda r: r.drain_s),
        sum(r.dropped for r in runs),
        sum(r.decisions for r in runs),
        pick(lambda r: r.busy, more_is_better=True),
        pick(lambda r: r.others),
    )


@dataclass
class Row:
    title: str
    short: str
    saturated: dict[str, Run] = field(default_factory=dict)
    paced: dict[str, Run] = field(default_factory=dict)
    paced_best: dict[str, Run] = field(default_factory=dict)
    offered: float = 0.0


def print_combined(runs: dict[str, list[Run]]) -> tuple[dict[str, Run], dict[str, Run]]:
    """Print and return the medians and, with more than one repetition, the best runs."""
    medians = {variant: combine(group, best=False) for variant, group in runs.items()}
    bests = {variant: combine(group, best=True) for variant, group in runs.items()}
    for run in medians.values():
        print_run("med", run)
    if len(next(iter(runs.values()))) > 1:
        for run in bests.values():
            print_run("best", run)
    return medians, bests


def verdicts(row: Row) -> None:
    bare, bare_paced = row.saturated["without"], row.paced["without"]
    for variant, run in row.saturated.items():
        if variant == "without":
            continue
        paced = row.paced[variant]
        ratio, by_cpu = run.rate / bare.rate, bare.cpu_us / run.cpu_us
        p99 = paced.p99_ms - bare_paced.p99_ms
        best = row.paced_best[variant].p99_ms - row.paced_best["without"].p99_ms
        print(
            f"  {variant}: throughput ratio {ratio:.3f} (goal >= 0.90: "
            f"{'met' if ratio >= 0.90 else 'NOT met'}); from CPU per request {by_cpu:.3f}\n"
            f"  {variant}: p99 added at {row.offered:,.0f} req/s offered {p99:+.2f} ms "
            f"(goal < 1 ms: {'met' if p99 < 1.0 else 'NOT met'}; {best:+.2f} ms best against "
            f"best), p50 "
            f"{paced.p50_ms - bare_paced.p50_ms:+.2f} ms; at saturation p99 "
            f"{run.p99_ms - bare.p99_ms:+.2f} ms\n"
            f"  {variant}: CPU added {run.cpu_us - bare.cpu_us:.0f} µs/request saturated, "
            f"{paced.cpu_us - bare_paced.cpu_us:.0f} paced"
        )
    if bare.busy < 0.9:
        print(
            f"  (without apishield the server was busy {bare.busy:.0%} at saturation: something "
            "else, most likely wrk losing its CPU to other programs, set the pace, so the "
            "requests/s ratio flatters apishield and the CPU ratio is the better estimate)"
        )


def handled(stats: dict[str, Any]) -> int:
    """Exchanges the guard is done with: analysed here, dropped, or sent to the stream (in
    stream mode, the worker's; exchanges it could not send are analysed here and counted so)."""
    offload = stats.get("offload") or {}
    return int(stats["processed"]) + int(stats["dropped"]) + int(offload.get("sent", 0))


def stream_worker(settings: dict[str, Any], tmp: Path, cpu: int | None) -> subprocess.Popen[bytes]:
    """An `apishield worker` draining the stream variant's exchanges, pinned to `cpu` (wrk's)
    at idle priority, so the app's CPU measures what the app's process pays and wrk is never
    held up by the worker. Exits when the Redis is absent."""
    from redis import Redis
    from redis.exceptions import RedisError

    try:
        Redis.from_url(settings["state"]["url"], socket_timeout=2).ping()
    except RedisError as exc:
        raise SystemExit(f"--stream: no Redis at {settings['state']['url']}: {exc}") from exc
    config = tmp / "worker.yaml"
    config.write_text(json.dumps({"data_dir": str(tmp / "worker"), **settings}))
    command = [sys.executable, "-m", "apishield.cli", "worker", "-c", str(config)]
    if cpu is not None:
        command = ["taskset", "-c", str(cpu), *command]
    if shutil.which("chrt"):
        # Idle priority: on the load generator's CPU the worker runs only while wrk waits, so
        # it never delays wrk's reading of an answer (the latency wrk reports).
        command = ["chrt", "--idle", "0", *command]
    with (tmp / "worker.log").open("wb") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)


def stop_stream_worker(worker: subprocess.Popen[bytes], settings: dict[str, Any]) -> None:
    """Stops the worker (SIGTERM: it finishes what it holds) and deletes the run's keys."""
    from redis import Redis

    worker.terminate()
    try:
        worker.wait(timeout=60)
    except subprocess.TimeoutExpired:
        worker.kill()
    client = Redis.from_url(settings["state"]["url"])
    prefix = settings["state"]["prefix"]
    keys = [*client.scan_iter(f"{prefix}*"), settings["analysis"]["stream"]]
    client.delete(*keys)
    client.close()


def bench_app(
    bench: Bench,
    app: str,
    variants: list[str],
    envs: dict[str, dict[str, str]],
    server_cpu: int | None,
    logs: Path,
    options: list[str],
) -> list[Row]:
    servers = [
        Server(app, variant, server_cpu, logs, envs[variant], options) for variant in variants
    ]
    rows = []
    try:
        started = [server.wait_ready() for server in servers]
        print(
            f"\n== {TITLES[app]}: ready in "
            + ", ".join(f"{s.variant} {t:.1f} s" for s, t in zip(servers, started, strict=True))
            + f"; warming up {bench.warmup} s per route and server ...",
            flush=True,
        )
        bench.warm_up(servers)
        for route, path in ROUTES.items():
            row = Row(f"{TITLES[app]} GET {path}", f"{TITLES[app].split()[0]} {path}")
            print(f"\n{row.title}: saturated, {bench.connections} connections, {bench.seconds} s")
            print(HEADER)
            row.saturated, _ = print_combined(bench.alternate(servers, route, bench.connections, 0))
            row.offered = min(run.rate for run in row.saturated.values()) * bench.load
            print(
                f"{row.title}: paced, {bench.paced_connections} connections offering "
                f"{row.offered:,.0f} req/s ({bench.load:.0%} of the slowest saturated rate)"
            )
            print(HEADER)
            row.paced, row.paced_best = print_combined(
                bench.alternate(servers, route, bench.paced_connections, row.offered)
            )
            verdicts(row)
            rows.append(row)
        print(
            "server memory after the runs: "
            + ", ".join(f"{s.variant} {s.rss_mb():,.0f} MB RSS" for s in servers)
        )
    finally:
        for server in servers:
            server.stop()
    return rows


def summary(rows: list[Row]) -> None:
    print("\n== summary (medians) ==")
    print(
        f"{'':<24}{'variant':<16}{'req/s':>8}{'ratio':>7}{'busy':>6}{'CPU µs':>8}{'ratio':>7}"
        f"{'+CPU µs':>9}"
        f"{'p99 sat':>9}{'p99 paced':>11}{'+p99 paced':>11}{'dropped':>9}"
    )
    for row in rows:
        bare, bare_paced = row.saturated["without"], row.paced["without"]
        for variant, run in row.saturated.items():
            paced, shielded = row.paced[variant], variant != "without"
            added = f"{paced.p99_ms - bare_paced.p99_ms:>+11.2f}" if shielded else ""
            cpu = f"{run.cpu_us - bare.cpu_us:>9.0f}" if shielded else ""
            print(
                f"{row.short if not shielded else '':<24}{variant:<16}{run.rate:>8,.0f}"
                f"{run.rate / bare.rate:>7.3f}{run.busy:>6.0%}{run.cpu_us:>8.0f}"
                f"{bare.cpu_us / run.cpu_us:>7.3f}"
                f"{cpu:>9}{run.p99_ms:>9.2f}{paced.p99_ms:>11.2f}{added:>11}"
                f"{run.dropped + paced.dropped:>9,}"
            )
    print(
        "req/s ratio: against without; busy: the server's CPU over wall time at saturation; "
        "CPU µs: server CPU per request,\nanalysis included, and its ratio (without / with); "
        "p99 sat: at saturation (mostly queueing); +p99 paced: added at the\npaced load; "
        "dropped: exchanges the guard's queue had no room for"
    )


# -- main -------------------------------------------------------------------------------------


def versions() -> str:
    names = ("uvicorn", "fastapi", "starlette", "flask", "waitress", "h11")
    found = []
    for name in names:
        try:
            found.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            found.append(f"{name} missing")
    fast = [name for name in ("uvloop", "httptools") if _installed(name)]
    loop = "uvloop" if "uvloop" in fast else "asyncio"
    parser = "httptools" if "httptools" in fast else "h11"
    wrk = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False).stdout
    wrk = wrk.split(" [")[0]
    return (
        f"Python {platform.python_version()}, {', '.join(found)}; uvicorn runs {loop} + "
        f"{parser}; {wrk}, 1 thread"
    )


def _installed(name: str) -> bool:
    try:
        importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def header(args: argparse.Namespace, server_cpu: int | None, wrk_cpu: int | None) -> None:
    pinning = (
        f"server pinned to CPU {server_cpu}, wrk to CPU {wrk_cpu}"
        if server_cpu is not None
        else "one CPU: server and wrk share it"
    )
    print(f"apishield in-line middleware overhead ({os.cpu_count()} CPUs; {pinning}; {load()})")
    print(versions())
    switch = f"{args.switch_interval} ms" if args.switch_interval else "Python's 5 ms"
    print(
        f"{args.reps} repetition(s) of {args.seconds} s per variant and phase, alternated; "
        f"warm-up {args.warmup} s per route and server; switch interval {switch}; "
        "default config (every check and detector on, enforce mode); apishield as pure Python"
        + (" and compiled" if args.compiled else "")
    )
    print(
        f"traffic: {KEYS} API keys x {PER_KEY} own customers each, GET with Host (a name), "
        "User-Agent, Accept, X-Api-Key; the customer record is 2,048 bytes of JSON"
    )


def load() -> str:
    """Other programs on the machine show in every figure; say how busy it was."""
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="A short smoke run: 1 s runs, 1 rep.")
    parser.add_argument("--seconds", type=int, default=5, help="Length of each measured run.")
    parser.add_argument("--warmup", type=int, default=3, help="Warm-up per route and server, s.")
    parser.add_argument("--reps", type=int, default=3, help="Repetitions of each variant.")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--paced-connections", type=int, default=32)
    parser.add_argument(
        "--load", type=float, default=0.5, help="Paced load, share of the slowest saturated rate."
    )
    parser.add_argument("--apps", default="fastapi,flask", help="fastapi, flask or both.")
    parser.add_argument(
        "--compiled",
        action="store_true",
        help="Add a variant with the hot path compiled by mypyc (as benchmarks/ingest.py does).",
    )
    parser.add_argument("--profile-requests", type=int, default=3000)
    parser.add_argument(
        "--switch-interval",
        type=float,
        help="Set every server's sys.setswitchinterval, in ms (Python's default is 5).",
    )
    parser.add_argument(
        "--stream",
        metavar="REDIS_URL",
        nargs="?",
        const="redis://127.0.0.1:6379/0",
        help="Add a variant with `analysis.mode: stream`: the app's process runs the request "
        "phase and hands exchanges to a Redis stream, and an `apishield worker` process (on "
        "wrk's CPU, at idle priority) analyses them.",
    )
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.warmup, args.reps = 1, 1, 1
        args.profile_requests = min(args.profile_requests, 1000)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    apps = [app.strip() for app in args.apps.split(",") if app.strip()]
    if "flask" in apps and not _installed("waitress"):
        raise SystemExit("the Flask rows need waitress: pip install waitress (or --apps fastapi)")
    cpus = sorted(os.sched_getaffinity(0))
    server_cpu, wrk_cpu = (cpus[1], cpus[0]) if len(cpus) >= 2 else (None, None)
    variants = ["without", "with"]
    options = [] if not args.switch_interval else ["--switch-interval", str(args.switch_interval)]
    envs = {
        variant: dict(os.environ)
        for variant in ("without", "with", "with, compiled", "with, stream")
    }
    stream_settings: dict[str, Any] = {}
    if args.stream:
        key = f"apishield-bench:{os.getpid()}-{time.time_ns()}"
        stream_settings = {
            "analysis": {"mode": "stream", "stream": f"{key}:exchanges"},
            "state": {"url": args.stream, "prefix": f"{key}:"},
        }
        envs["with, stream"]["APISHIELD_BENCH_CONFIG"] = json.dumps(stream_settings)
        variants.append("with, stream")
    if args.compiled:
        from ingest import build_compiled

        source = build_compiled()
        envs["with, compiled"]["PYTHONPATH"] = str(source)
        variants.append("with, compiled")
    header(args, server_cpu, wrk_cpu)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="apishield-inline-") as tmp:
        bench = Bench(
            args.seconds,
            args.warmup,
            args.reps,
            args.connections,
            args.paced_connections,
            args.load,
            wrk_cpu,
            Path(tmp),
            {server_cpu, wrk_cpu} if server_cpu is not None and wrk_cpu is not None else None,
        )
        worker = stream_worker(stream_settings, Path(tmp), wrk_cpu) if stream_settings else None
        try:
            for app in apps:
                rows += bench_app(bench, app, variants, envs, server_cpu, Path(tmp), options)
        finally:
            if worker is not None:
                stop_stream_worker(worker, stream_settings)
    summary(rows)
    print(f"machine: {load()}")
    if args.profile_requests > 0:
        in_process(args.profile_requests)


if __name__ == "__main__":
    main()

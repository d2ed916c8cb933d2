"""Reverse-proxy throughput: apishield proxy against the bare pass-through and nginx, one run.

Every row sends the same request to the same upstream (a tiny HTTP server answering 2 KB of
JSON from memory) for the same time with the same number of connections:

  direct                  the upstream itself, the ceiling
  bare pass-through       apishield's proxy app on the same stack (uvicorn, uvloop, httptools,
                          a pooled aiohttp client) with no guard: the cost of proxying in Python
  apishield proxy         `apishield proxy` with every check on, deny lists, rate limits (set
                          high enough never to refuse) and block_on_threat
  apishield, no analysis  the same guard with its response phase switched off: request checks
                          and policy only, to show what the background analysis costs
  nginx                   plain nginx as a reverse proxy with upstream keep-alive
  nginx + ModSecurity     the same nginx with ModSecurity v3 and the OWASP CRS at PL1
  Redis state             `apishield proxy` with its state on the Redis at 127.0.0.1:6379, as
                          one process and as `--workers 2` (skipped without that Redis)
  stream analysis         `apishield proxy` with `analysis.mode: stream`: request checks and
                          policy in the proxy, each finished exchange added to a Redis stream
                          that an `apishield worker` process drains and analyses on the same
                          machine, at idle priority so it takes only CPU the rest leave (skipped
                          without that Redis)
  stream, no worker       the same proxy with nobody reading its stream (trimmed at 50,000
                          entries): what the proxy's process pays when the workers run on other
                          hosts, though Redis itself still shares this machine

Servers run in processes of their own; every Python one is a single process but the 2-worker
row, and nginx runs one worker process to match. Load comes from wrk (Debian package) when it is
installed, otherwise from a small asyncio client here, which is slower and saturates less. nginx
rows are skipped with the reason when the Debian packages are missing (`make bench-detection`
installs them).

    python -m benchmarks.proxy [--seconds 8] [--connections 32]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from benchmarks import modsec

PATH = "/customers/40213377/profile?fields=name,email"
HEADERS = {
    "Host": "api.example.com",  # the name an API is published under, not the loopback address
    "User-Agent": "apishield-bench/1.0",
    "Accept": "application/json",
    "Authorization": "Bearer 0123456789abcdef0123456789abcdef",
}
BODY = (
    b'{"id":40213377,"name":"Ada Lovelace","email":"ada@example.org","plan":"unlimited",'
    + b'"history":['
    + b",".join(
        b'{"month":"2026-%02d","calls":%d,"data_mb":%d}' % (m, m * 7, m * 311) for m in range(1, 13)
    )
    + b'],"note":"'
)
BODY += b"x" * (2048 - len(BODY) - 2) + b'"}'
CONFIG = """
enforce:
  mode: enforce
  block_on_threat: true
  deny:
    ips: ["192.0.2.0/24", "198.51.100.0/24"]
    user_agents: ["sqlmap", "nikto"]
  rate_limits:
    actor: {requests: 100000000, per_seconds: 60}
    endpoint: {requests: 100000000, per_seconds: 60}
    actor_endpoint: {requests: 100000000, per_seconds: 60}
"""
START_SECONDS = 180.0


# -- the upstream and the bare proxy, run as child processes of this script -------------------


def serve_upstream(port: int) -> None:
    """A keep-alive HTTP/1.1 server answering every request with BODY, as fast as asyncio can."""
    import uvloop

    answer = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
        % len(BODY)
        + BODY
    )

    class Answer(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport: asyncio.Transport = transport  # type: ignore[assignment]
            self.pending = b""

        def data_received(self, data: bytes) -> None:
            self.pending += data
            while True:
                head, sep, rest = self.pending.partition(b"\r\n\r\n")
                if not sep:
                    return
                match = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
                size = int(match.group(1)) if match else 0
                if len(rest) < size:
                    return
                self.pending = rest[size:]
                self.transport.write(answer)

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(Answer, "127.0.0.1", port)
        await server.serve_forever()

    uvloop.run(main())


def serve_proxy(upstream: str, port: int, guard_mode: str) -> None:
    """apishield's proxy app on its server: bare, or guarded without the response phase."""
    from apishield.config import parse_config
    from apishield.exchange import Exchange
    from apishield.inline.asgi import ApishieldMiddleware
    from apishield.inline.guard import Guard
    from apishield.inline.proxy import ReverseProxy, Upstream
    from apishield.inline.server import Server
    from apishield.privacy import Hasher

    app: object = ReverseProxy(Upstream.parse(upstream))
    guard = None
    if guard_mode == "request-only":

        class RequestOnly(Guard):
            def submit(self, exchange: Exchange) -> None:
                self.dropped += 1

        config = parse_config(CONFIG)
        guard = RequestOnly.from_config(config, Hasher(b"b" * 32))
        app = ApishieldMiddleware(app, guard)  # type: ignore[arg-type]
    server = Server(app, "127.0.0.1", port)
    server.serve_until_signal()
    if guard is not None:
        guard.close()


# -- load ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class Result:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


SETTLE_BUSY = 0.10
"""Share of the machine's CPUs in use under which a row may start."""
SETTLE_SECONDS = 120.0


def settle() -> float:
    """Wait until the machine is nearly idle, at most SETTLE_SECONDS; the seconds waited. A
    guarded proxy goes on analysing its queued exchanges after its row, and on Redis state that
    takes a while: measured meanwhile, the next row would share the CPUs with that backlog."""
    started = time.monotonic()
    if not Path("/proc/stat").exists():
        return 0.0
    before = _cpu_times()
    while time.monotonic() - started < SETTLE_SECONDS:
        time.sleep(0.5)
        after = _cpu_times()
        busy, total = after[0] - before[0], after[1] - before[1]
        if total > 0 and busy / total < SETTLE_BUSY:
            break
        before = after
    return time.monotonic() - started


def _cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot, from /proc/stat."""
    fields = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields) - idle, sum(fields)


def measure(url: str, seconds: float, connections: int) -> Result:
    if shutil.which("wrk"):
        _wrk(url, 1.0, connections)  # warm the pools and caches first
        return _wrk(url, seconds, connections)
    asyncio.run(_load(url, 1.0, connections))
    return asyncio.run(_load(url, seconds, connections))


def _wrk(url: str, seconds: float, connections: int) -> Result:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency", "--timeout", "5s"]
    for name, value in HEADERS.items():
        command += ["-H", f"{name}: {value}"]
    out = subprocess.run(
        [*command, url], capture_output=True, text=True, check=True, timeout=seconds + 30
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses:\s+(\d+)", out))
    errors += sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    return Result(rps, _wrk_latency(out, "50%"), _wrk_latency(out, "99%"), errors)


def _wrk_latency(out: str, label: str) -> float:
    value, unit = re.search(rf"{label}\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


async def _load(url: str, seconds: float, connections: int) -> Result:
    """Keep-alive GETs on `connections` sockets for `seconds`; latencies of every request."""
    host_port = url.split("/")[2]
    host, _, port = host_port.partition(":")
    headers = "".join(f"{k}: {v}\r\n" for k, v in HEADERS.items())
    wire = f"GET {PATH} HTTP/1.1\r\n{headers}\r\n".encode()
    latencies: list[float] = []
    errors = 0
    stop = time.perf_counter() + seconds

    async def one_connection() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while time.perf_counter() < stop:
                sent = time.perf_counter()
                writer.write(wire)
                head = await reader.readuntil(b"\r\n\r\n")
                size = re.search(rb"(?i)content-length:\s*(\d+)", head)
                await reader.readexactly(int(size.group(1)) if size else 0)
                latencies.append(time.perf_counter() - sent)
                if not head.startswith(b"HTTP/1.1 2"):
                    errors += 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(one_connection() for _ in range(connections)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000  # noqa: E731
    return Result(len(latencies) / elapsed, pick(0.5), pick(0.99), errors)


# -- servers ------------------------------------------------------------------------------------


@contextmanager
def children(*specs: tuple[list[str], int, dict[str, str] | None]) -> Iterator[None]:
    """Start every (command, port, env) at once, so their start-ups overlap; wait for all.
    Each child's stderr goes to a file, never to a pipe nobody reads while the load runs (a
    full pipe would stall a child that logs); when they have stopped, the last line of each
    apishield process (where its exchanges went) is shown."""
    logs = Path(tempfile.mkdtemp(prefix="apishield-proxybench-logs-"))
    processes = []
    for index, (command, port, env) in enumerate(specs):
        with (logs / f"{index}.log").open("wb") as err:
            child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=err)
        processes.append((child, port, logs / f"{index}.log"))
    try:
        for process, port, log in processes:
            wait_listening(process, port, log)
        yield
    finally:
        for process, _, _ in processes:
            process.send_signal(signal.SIGTERM)
        for process, port, log in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if "apishield" in " ".join(map(str, process.args)):
                show_stopped(f"port {port}", log)
        shutil.rmtree(logs, ignore_errors=True)


def show_stopped(who: str, log: Path) -> None:
    """Print the last "stopped" message of an apishield process's log, which says where its
    exchanges went (analysed, sent to a stream, dropped); the message may wrap lines."""
    text = log.read_text(errors="replace")
    end = text.rfind("stopped")
    if end >= 0:
        message = " ".join(text[text.rfind("\n", 0, end) + 1 :].split())
        print(f"  {who}: {message}", file=sys.stderr)


def wait_listening(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            stderr = log.read_text(errors="replace")
            raise RuntimeError(f"{process.args} exited {process.returncode}: {stderr[-1500:]}")
        with suppress(OSError):
            asyncio.run(_probe(port))
            return
        time.sleep(0.2)
    raise RuntimeError(f"{process.args} did not listen on {port} within {START_SECONDS:.0f}s")


async def _probe(port: int) -> None:
    """Raises OSError until something on `port` answers a request with a status line."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(b"GET / HTTP/1.1\r\nHost: probe\r\n\r\n")
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), 10)
    except TimeoutError as exc:
        raise OSError("no answer") from exc
    finally:
        writer.close()
    if not line.startswith(b"HTTP/"):
        raise OSError("no status line")


def nginx_conf(workdir: Path, plain: int, guarded: int, upstream: int) -> str:
    temps = "\n".join(
        f"    {kind}_temp_path {workdir / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    location = """location / {
            proxy_pass http://up;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        }"""
    return f"""daemon off;
master_process on;
worker_processes 1;
pid {workdir / "nginx.pid"};
error_log {workdir / "error.log"} error;
load_module {modsec.MODULE};
events {{ worker_connections 4096; }}
http {{
    access_log off;
{temps}
    upstream up {{ server 127.0.0.1:{upstream}; keepalive 64; }}
    server {{
        listen 127.0.0.1:{plain};
        {location}
    }}
    server {{
        listen 127.0.0.1:{guarded};
        modsecurity on;
        modsecurity_rules_file {workdir / "main.conf"};
        {location}
    }}
}}
"""


@contextmanager
def nginx(upstream: int) -> Iterator[tuple[int, int] | str]:
    """(plain port, ModSecurity port), or why nginx cannot run here."""
    found = modsec.find_installation()
    if isinstance(found, str):
        yield found
        return
    workdir = Path(tempfile.mkdtemp(prefix="apishield-proxybench-"))
    workdir.chmod(0o755)
    plain, guarded = modsec.free_port(), modsec.free_port()
    try:
        (workdir / "modsecurity.conf").write_text(
            modsec.modsecurity_conf(found.modsecurity_conf, workdir)
        )
        shutil.copyfile(found.crs_setup, workdir / "crs-setup.conf")
        (workdir / "main.conf").write_text(modsec.main_conf(found, workdir, 1))
        (workdir / "nginx.conf").write_text(nginx_conf(workdir, plain, guarded, upstream))
        command = [str(found.nginx), "-p", str(workdir), "-c", "nginx.conf"]
        command += ["-e", str(workdir / "error.log")]
        with children((command, guarded, None)):
            yield plain, guarded
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


# -- the run ------------------------------------------------------------------------------------


def run(seconds: float, connections: int) -> None:
    python = sys.executable
    me = [python, "-m", "benchmarks.proxy"]
    up, bare, full, request_only = (modsec.free_port() for _ in range(4))
    upstream = f"http://127.0.0.1:{up}"
    home = Path(tempfile.mkdtemp(prefix="apishield-proxybench-home-"))
    (home / "apishield.yaml").write_text(CONFIG)
    env = {**os.environ, "APISHIELD_HOME": str(home)}
    apishield = [python, "-m", "apishield.cli", "proxy", "--upstream", upstream]
    apishield += ["--listen", f"127.0.0.1:{full}", "--config", str(home / "apishield.yaml")]
    prefix = f"apishield-proxybench:{os.getpid()}:"
    shared = [*apishield[:6], "--config", str(home / "redis.yaml")]
    (home / "redis.yaml").write_text(CONFIG + REDIS_STATE.format(url=REDIS_URL, prefix=prefix))
    (home / "stream.yaml").write_text(CONFIG + STREAM.format(url=REDIS_URL, prefix=prefix))
    unread = STREAM.format(url=REDIS_URL, prefix=prefix + "unread:") + "  maxlen: 50000\n"
    (home / "unread.yaml").write_text(CONFIG + unread)
    streamed = [*apishield[:6], "--config", str(home / "stream.yaml")]
    unread_stream = [*apishield[:6], "--config", str(home / "unread.yaml")]
    redis_ports: tuple[int, ...] | None = None
    if redis_answers():
        redis_ports = tuple(modsec.free_port() for _ in range(4))
    loader = "wrk -t1" if shutil.which("wrk") else "asyncio client (wrk not installed)"
    print(f"GET {PATH} -> {len(BODY)} B JSON; {connections} connections, {seconds:g}s per row")
    print(f"load: {loader}; CPUs: {os.cpu_count()}")
    rows: dict[str, Result | str] = {}
    specs = [
        ([*me, "--serve-upstream", str(up)], up, None),
        ([*me, "--serve-proxy", upstream, str(bare), "bare"], bare, None),
        (apishield, full, env),
        ([*me, "--serve-proxy", upstream, str(request_only), "request-only"], request_only, env),
    ]
    if redis_ports is not None:
        one, two, stream, no_worker = redis_ports
        specs.append(([*shared, "--listen", f"127.0.0.1:{one}"], one, env))
        specs.append(([*shared, "--listen", f"127.0.0.1:{two}", "--workers", "2"], two, env))
        specs.append(([*streamed, "--listen", f"127.0.0.1:{stream}"], stream, env))
        specs.append(([*unread_stream, "--listen", f"127.0.0.1:{no_worker}"], no_worker, env))
    try:
        with children(*specs), stream_worker(home, env, redis_ports), nginx(up) as ports:
            targets = {
                "direct": up,
                "bare pass-through": bare,
                "apishield proxy": full,
                "apishield, no analysis": request_only,
            }
            if redis_ports is None:
                rows["apishield, Redis state"] = "skipped: no Redis on 127.0.0.1:6379"
                rows["apishield, stream, no worker"] = "skipped: no Redis on 127.0.0.1:6379"
                rows["apishield, stream analysis"] = "skipped: no Redis on 127.0.0.1:6379"
            else:
                targets["apishield, Redis state"] = redis_ports[0]
                targets["apishield, Redis, 2 workers"] = redis_ports[1]
                # Before the worker's row, whose backlog keeps the worker busy for a while
                targets["apishield, stream, no worker"] = redis_ports[3]
                targets["apishield, stream analysis"] = redis_ports[2]
            if isinstance(ports, str):
                rows["nginx"] = rows["nginx + ModSecurity CRS PL1"] = f"skipped: {ports}"
            else:
                targets["nginx"] = ports[0]
                targets["nginx + ModSecurity CRS PL1"] = ports[1]
            for name, port in targets.items():
                waited = settle()
                rows[name] = measure(f"http://127.0.0.1:{port}{PATH}", seconds, connections)
                print(f"  measured {name} (after {waited:.1f}s to settle)", file=sys.stderr)
    finally:
        shutil.rmtree(home, ignore_errors=True)
        if redis_ports is not None:
            forget(prefix)
    report(rows)


REDIS_URL = "redis://127.0.0.1:6379/0"
REDIS_STATE = """state:
  backend: redis
  url: {url}
  prefix: "{prefix}"
"""
STREAM = """state:
  url: {url}
  prefix: "{prefix}"
analysis:
  mode: stream
  stream: "{prefix}exchanges"
"""


@contextmanager
def stream_worker(home: Path, env: dict[str, str], ports: tuple[int, ...] | None) -> Iterator[None]:
    """The `apishield worker` that analyses what the stream row's proxy adds to its stream, at
    idle priority where `chrt` exists; nothing without Redis. Stopped with SIGTERM after the
    run, which lets it finish the batch it holds."""
    if ports is None:
        yield
        return
    command = [sys.executable, "-m", "apishield.cli", "worker", "-c", str(home / "stream.yaml")]
    if shutil.which("chrt"):
        command = ["chrt", "--idle", "0", *command]
    with (home / "worker.log").open("wb") as out:
        worker = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        show_stopped("stream worker", home / "worker.log")


def redis_answers() -> bool:
    from redis import Redis
    from redis.exceptions import RedisError

    try:
        with Redis.from_url(REDIS_URL, socket_connect_timeout=1.0, socket_timeout=1.0) as client:
            return bool(client.ping())
    except RedisError:
        return False


def forget(prefix: str) -> None:
    """Delete the benchmark's keys from the shared Redis."""
    from redis import Redis

    with Redis.from_url(REDIS_URL, socket_connect_timeout=1.0, socket_timeout=5.0) as client:
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        if keys:
            client.delete(*keys)


def report(rows: dict[str, Result | str]) -> None:
    print(f"\n{'':28} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for name, row in rows.items():
        if isinstance(row, str):
            print(f"{name:28} {row}")
        else:
            print(f"{name:28} {row.rps:9,.0f} {row.p50_ms:8.2f} {row.p99_ms:8.2f} {row.errors:7}")
    full, bare = rows.get("apishield proxy"), rows.get("bare pass-through")
    lite = rows.get("apishield, no analysis")
    waf = rows.get("nginx + ModSecurity CRS PL1")
    if isinstance(full, Result) and isinstance(bare, Result):
        print(f"\napishield / bare pass-through: {full.rps / bare.rps:.2f} (goal >= 0.8)")
        if isinstance(lite, Result):
            print(f"apishield without analysis / bare: {lite.rps / bare.rps:.2f}")
    if isinstance(full, Result) and isinstance(waf, Result):
        print(f"apishield / nginx + ModSecurity: {full.rps / waf.rps:.2f} (goal > 1)")
    streamed = rows.get("apishield, stream analysis")
    unread = rows.get("apishield, stream, no worker")
    if isinstance(streamed, Result) and isinstance(bare, Result):
        print(f"apishield with stream analysis / bare: {streamed.rps / bare.rps:.2f}")
    if isinstance(unread, Result) and isinstance(bare, Result):
        print(
            f"apishield with stream analysis, worker elsewhere / bare: {unread.rps / bare.rps:.2f}"
        )
    one, two = rows.get("apishield, Redis state"), rows.get("apishield, Redis, 2 workers")
    if isinstance(one, Result) and isinstance(two, Result):
        print(f"2 workers / 1 (both on Redis state): {two.rps / one.rps:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--serve-upstream", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--serve-proxy", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_upstream:
        serve_upstream(args.serve_upstream)
    elif args.serve_proxy:
        upstream, port, mode = args.serve_proxy
        serve_proxy(upstream, int(port), mode)
    else:
        run(args.seconds, args.connections)


if __name__ == "__main__":
    main()

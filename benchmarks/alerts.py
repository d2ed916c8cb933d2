"""Alert delivery latency, and what a dead receiver costs ingest.

1. Latency from `alerter.incident(...)` to receipt at real local receivers (an HTTP webhook, syslog
   over UDP and TCP, aiosmtpd for email), as p50/p99/max over `--alerts` alerts each: paced (one
   every `--pace-ms`, as incidents come) and as one burst (all queued at once; the last one
   waits for every one before it). Goal: under 2 s.
2. The real engine over simulated telco traffic, calling `alerter.finding(exchange)` for every
   exchange and `alerter.incident(summary)` for each incident an exchange touched, with: no
   sinks; one alerter with two dead webhooks (a port that accepts TCP and never answers, and a
   closed port); a live webhook receiver (in this process, so its own CPU counts against the
   run). The runs are interleaved over `--rounds` rounds and each configuration's best is shown,
   so a busy moment of a shared machine does not read as a cost; CPU time per event (the
   analysis thread's, and the whole process's with the sink threads) is shown beside it, as is
   the time spent inside the alerter calls.

    python benchmarks/alerts.py [--alerts 200] [--pace-ms 5] [--events 20000] [--rounds 3]
        [--subscribers 100] [--skip-latency] [--skip-ingest]
"""

from __future__ import annotations

import argparse
import itertools
import logging
import re
import socket
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from apishield.alert import Alerter
from apishield.config import AlertsConfig, Config, IdentityConfig
from apishield.exchange import Severity
from apishield.ingest.reader import read_exchanges
from apishield.ingest.stats import IngestStats
from apishield.sim.run import Options, simulate
from apishield.startup import build_engine, install_compiled_cache

TITLE = re.compile(rb"bench-(\d+)")
"""Every format carries the title, so one pattern finds the alert's number in any of them."""


class Arrivals:
    """perf_counter() at which each numbered alert arrived."""

    def __init__(self) -> None:
        self.times: dict[int, float] = {}
        self._lock = threading.Condition()

    def saw(self, payload: bytes) -> None:
        now = time.perf_counter()
        match = TITLE.search(payload)
        if match is not None:
            with self._lock:
                self.times.setdefault(int(match.group(1)), now)
                self._lock.notify_all()

    def wait(self, count: int, timeout: float = 60.0) -> None:
        with self._lock:
            self._lock.wait_for(lambda: len(self.times) >= count, timeout)


def http_receiver(arrivals: Arrivals) -> tuple[str, Callable[[], None]]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            arrivals.saw(self.rfile.read(int(self.headers["content-length"])))
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()

    def stop() -> None:
        server.shutdown()
        server.server_close()

    return f"http://127.0.0.1:{server.server_address[1]}/hook", stop


def udp_receiver(arrivals: Arrivals) -> tuple[int, Callable[[], None]]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                arrivals.saw(sock.recv(65_535))
            except OSError:
                return

    threading.Thread(target=serve, daemon=True).start()
    return sock.getsockname()[1], sock.close


def tcp_receiver(arrivals: Arrivals) -> tuple[int, Callable[[], None]]:
    """Reads octet-counted frames and notes each one as soon as it is complete."""
    listener = socket.create_server(("127.0.0.1", 0))
    connections: list[socket.socket] = []

    def serve() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            connections.append(connection)
            threading.Thread(target=read, args=(connection,), daemon=True).start()

    def read(connection: socket.socket) -> None:
        buffer = b""
        try:
            while chunk := connection.recv(65_536):
                buffer += chunk
                while b" " in buffer:
                    length, _, rest = buffer.partition(b" ")
                    if len(rest) < int(length):
                        break
                    arrivals.saw(rest[: int(length)])
                    buffer = rest[int(length) :]
        except OSError:
            return

    def stop() -> None:
        listener.shutdown(socket.SHUT_RDWR)
        listener.close()
        for connection in connections:
            connection.close()

    threading.Thread(target=serve, daemon=True).start()
    return listener.getsockname()[1], stop


def smtp_receiver(arrivals: Arrivals) -> tuple[int, Callable[[], None]]:
    class Handler:
        async def handle_DATA(  # noqa: N802 (aiosmtpd's hook name)
            self, server: SMTP, session: Session, envelope: Envelope
        ) -> str:
            content = envelope.content
            arrivals.saw(content if isinstance(content, bytes) else str(content).encode())
            return "250 OK"

    port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    return port, controller.stop


class SilentServer:
    """Accepts TCP connections and never answers."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/"
        self.held: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                self.held.append(self.listener.accept()[0])
            except OSError:
                return

    def release(self) -> None:
        while self.held:
            self.held.pop().close()

    def stop(self) -> None:
        self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        self.release()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def summary(n: int) -> dict[str, Any]:
    """An incident summary of the shape `Incident.summary()` gives."""
    return {
        "id": n,
        "scope": f"actor:ip:198.51.100.{n % 250}",
        "title": f"bench-{n} bulk access to customer records",
        "severity": "high",
        "category": "API1:2023",
        "first_seen": 1_767_600_000.0,
        "last_seen": 1_767_600_060.0,
        "rules": {"enum.sequential-walk": 3},
        "detected_at": {"enum.sequential-walk": 1_767_600_000.0},
        "actors": {f"ip:198.51.100.{n % 250}": 3},
        "ips": [f"198.51.100.{n % 250}"],
        "endpoints": {"GET api.telco.example /v2/customers/{id}": 3},
        "timeline": [
            {
                "time": 1_767_600_000.0,
                "rule_id": "enum.sequential-walk",
                "title": "Sequential walk",
                "severity": "high",
                "actor": f"ip:198.51.100.{n % 250}",
                "endpoint": "GET api.telco.example /v2/customers/{id}",
                "evidence": {"objects": "120", "step": "1"},
            }
        ],
    }


def latencies(sink: dict[str, Any], arrivals: Arrivals, count: int, pace: float) -> list[float]:
    alerter = Alerter.from_config(AlertsConfig.model_validate({"sinks": [sink]}))
    raised: dict[int, float] = {}
    base = len(arrivals.times)
    offset = max(arrivals.times, default=0) + 1
    for n in range(offset, offset + count):
        raised[n] = time.perf_counter()
        alerter.incident(summary(n))
        if pace:
            time.sleep(pace)
    arrivals.wait(base + count)
    alerter.close(timeout=10)
    return [arrivals.times[n] - raised[n] for n in raised if n in arrivals.times]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def latency_part(count: int, pace_ms: float) -> None:
    print(f"\n== 1. Delivery latency, {count} alerts per sink (goal: under 2 s)")
    arrivals = Arrivals()
    url, stop_http = http_receiver(arrivals)
    udp_port, stop_udp = udp_receiver(arrivals)
    tcp_port, stop_tcp = tcp_receiver(arrivals)
    smtp_port, stop_smtp = smtp_receiver(arrivals)
    sinks = {
        "webhook": {"type": "webhook", "url": url},
        "syslog UDP": {"type": "syslog", "port": udp_port, "protocol": "udp"},
        "syslog TCP": {"type": "syslog", "port": tcp_port, "protocol": "tcp", "format": "cef"},
        "email SMTP": {
            "type": "email",
            "port": smtp_port,
            "sender": "apishield@example.org",
            "to": ["soc@example.org"],
        },
    }
    print(f"  {'sink':<12} {'mode':<16} {'got':>5} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    try:
        for name, sink in sinks.items():
            for mode, pace in ((f"paced {pace_ms:g} ms", pace_ms / 1000), ("burst", 0.0)):
                got = latencies(sink, arrivals, count, pace)
                if not got:
                    print(f"  {name:<12} {mode:<16} {0:>5}   nothing arrived")
                    continue
                print(
                    f"  {name:<12} {mode:<16} {len(got):>5} {statistics.median(got) * 1e3:>8.2f} "
                    f"{percentile(got, 0.99) * 1e3:>8.2f} {max(got) * 1e3:>8.2f}"
                )
    finally:
        stop_http()
        stop_udp()
        stop_tcp()
        stop_smtp()


def ingest_run(
    traffic: Path, data_dir: Path, events: int, alerts: dict[str, Any]
) -> dict[str, Any]:
    config = Config(
        data_dir=data_dir,
        identity=IdentityConfig.model_validate({"trusted_proxies": ["10.0.0.0/8"]}),
    )
    engine = build_engine(config)
    alerter = Alerter.from_config(AlertsConfig.model_validate(alerts))
    calls: list[float] = []
    clock = time.perf_counter
    findings = incidents = processed = 0
    began, cpu, thread_cpu = clock(), time.process_time(), time.thread_time()
    for exchange in itertools.islice(read_exchanges(traffic, "jsonl", stats=IngestStats()), events):
        mark = engine.detection_mark()
        engine.process(exchange)
        processed += 1
        touched = engine.touched_incidents(exchange, mark)
        summary = touched[0].summary() if touched else None
        start = clock()
        alerter.finding(exchange)
        if summary is not None:
            alerter.incident(summary)
        calls.append(clock() - start)
        findings += bool(exchange.findings) and exchange.threat_level >= Severity.HIGH
        incidents += summary is not None
    elapsed = clock() - began
    cpu, thread_cpu = time.process_time() - cpu, time.thread_time() - thread_cpu
    stats = alerter.stats()
    return {
        "alerter": alerter,
        "events": processed,
        "rate": processed / elapsed,
        "cpu_us": (thread_cpu / processed * 1e6, cpu / processed * 1e6),
        "calls_us": (
            statistics.fmean(calls) * 1e6,
            percentile(calls, 0.999) * 1e6,
            max(calls) * 1e6,
        ),
        "with_findings": findings,
        "incident_calls": incidents,
        "stats": stats,
    }


def ingest_part(events: int, subscribers: int, rounds: int, folder: Path) -> None:
    print(f"\n== 2. Ingest with dead receivers: {events:,} events per run, {rounds} rounds")
    traffic = folder / "traffic.jsonl"
    began = time.perf_counter()
    simulate(Options(out=traffic, days=0.5, subscribers=subscribers, seed=7))
    print(f"  simulated in {time.perf_counter() - began:.1f}s")
    install_compiled_cache()
    hung = SilentServer()
    live_url, stop_live = http_receiver(Arrivals())
    closed = f"http://127.0.0.1:{free_port()}/"
    dead = {"type": "webhook", "timeout": 2.0}  # retries 5, backoff 0.5 s, queue 1000: defaults
    configs: dict[str, dict[str, Any]] = {
        "no sinks": {},
        "dead sinks": {"sinks": [{**dead, "url": hung.url}, {**dead, "url": closed}]},
        "live webhook": {"sinks": [{"type": "webhook", "url": live_url}]},
    }
    ingest_run(traffic, folder / "data", max(events // 5, 1), {})  # warm-up, not shown
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in configs}
    for _ in range(rounds):  # interleaved, so a busy moment of the machine hits every config
        for name, alerts in configs.items():
            result = ingest_run(traffic, folder / "data", events, alerts)
            hung.release()  # its connections closed, so the hung sink's thread ends
            result["alerter"].close(timeout=5)
            results[name].append(result)
    hung.stop()
    stop_live()
    base = max(r["rate"] for r in results["no sinks"])
    print(
        f"  {'run':<12} {'best ev/s':>9} {'median':>7} {'ratio':>6} {'CPU µs/ev main/all':>19}"
        f" {'call µs mean/p99.9/max':>23}"
    )
    for name, runs in results.items():
        rates = [r["rate"] for r in runs]
        main_cpu, all_cpu = (min(r["cpu_us"][i] for r in runs) for i in range(2))
        mean, p999, top = (min(r["calls_us"][i] for r in runs) for i in range(3))
        print(
            f"  {name:<12} {max(rates):>9,.0f} {statistics.median(rates):>7,.0f} "
            f"{max(rates) / base:>6.3f} {main_cpu:>9.0f}/{all_cpu:>9.0f}"
            f" {mean:>7.1f}/{p999:>6.1f}/{top:>8.0f}"
        )
        for sink, counts in runs[-1]["stats"]["sinks"].items():
            print(f"      {sink}: " + " ".join(f"{k}={v}" for k, v in counts.items()))
    last = results["no sinks"][-1]
    print(
        f"  per run: {last['with_findings']:,} exchanges with high or critical findings, "
        f"{last['incident_calls']:,} incident() calls. ratio: best events/s over the best "
        "without sinks; CPU: the analysis thread's and the whole process's, per event; call "
        "times: inside finding() + incident(); best of the rounds for each"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=200)
    parser.add_argument("--pace-ms", type=float, default=5.0)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--subscribers", type=int, default=100)
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--skip-ingest", action="store_true")
    args = parser.parse_args()
    logging.getLogger("apishield.alert").setLevel(logging.ERROR)  # dead sinks are the point here
    if not args.skip_latency:
        latency_part(args.alerts, args.pace_ms)
    if not args.skip_ingest:
        with tempfile.TemporaryDirectory() as folder:
            ingest_part(args.events, args.subscribers, args.rounds, Path(folder))


if __name__ == "__main__":
    main()

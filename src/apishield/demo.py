"""`apishield demo`: the whole product on one machine, live, in accelerated time.

Four parts run in this process, each on its own server on 127.0.0.1, talking over real HTTP:
the simulator's demo telco API (a real Starlette app); `apishield proxy` in front of it (the
ASGI middleware around the reverse proxy, enforcing); `apishield serve` (the REST API, the
dashboard, /metrics and the live analysis, which the proxy sends its exchanges to, as
`analysis.mode: remote` does between machines); and a driver that plays the simulator's benign
subscribers, partners, batch jobs and attack scenarios through the proxy.

Time: the driver plays a simulated day `speed` times faster than real time and stamps each
request with its simulated moment on a shared `SimClock` that the telco API, the proxy's guard
and the server read, so detectors, blocks and rate limits all work in the simulated day while
durations stay real. The proxy and the server share one in-memory state, so a block the
server's detectors raise stops the attacker at the proxy, as Redis does between machines.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
from starlette.applications import Starlette
from starlette.requests import Request as StarletteRequest
from starlette.responses import JSONResponse
from starlette.routing import Route

from apishield.config import Config, parse_config
from apishield.exchange import Exchange, Request, Response
from apishield.ingest.openapi import load_spec
from apishield.inline.asgi import ApishieldMiddleware
from apishield.inline.guard import Guard
from apishield.inline.proxy import ReverseProxy, Upstream
from apishield.inline.remote import RemoteOffload
from apishield.inline.server import SWITCH_INTERVAL, Server
from apishield.server.analysis import LiveAnalysis
from apishield.server.console import ConsoleServer
from apishield.sim.run import SPEC, Options, plan
from apishield.sim.telco.app import create_app
from apishield.sim.traffic.network import TRUSTED_PROXIES
from apishield.sim.traffic.timeline import merge
from apishield.startup import build_engine
from apishield.state.factory import open_backends
from apishield.store.database import Store
from apishield.store.views import Views

log = logging.getLogger("apishield.demo")

DAY = 86_400.0
HISTORY_BATCH = 500
DEMO_ONSETS = {
    "enumeration": 0.15,
    "exfiltration": 0.2,
    "scanner": 0.3,
    "bola": 0.35,
    "exposed-test-api": 0.45,
    "zombie": 0.5,
    "credential-stuffing": 0.55,
    "password-reset": 0.65,
    "flood": 0.8,
}
"""Hours after the start at which each scenario begins: every breach pattern within the first
fifty simulated minutes, after nine of benign traffic; the flood, the loudest, comes last."""
HOP_BY_HOP = frozenset({"connection", "content-length", "transfer-encoding", "keep-alive"})


class SimClock:
    """The simulated moment: set by the driver per request, running at real speed between."""

    def __init__(self, start: float) -> None:
        self._at = start
        self._set = time.perf_counter()
        self._lock = threading.Lock()

    def set(self, moment: float) -> None:
        with self._lock:
            self._at, self._set = moment, time.perf_counter()

    def now(self) -> float:
        with self._lock:
            return self._at + (time.perf_counter() - self._set)


@dataclass(slots=True)
class DemoOptions:
    out: Path
    seed: int = 7
    subscribers: int = 1_000
    hours: float = 1.5
    """The simulated window: every scenario starts within its first fifty minutes."""
    speed: float = 60.0
    """At most this many simulated seconds per real second; slower when the machine is."""
    duration: float | None = None
    """Stop the traffic after this many real seconds (a bounded smoke run)."""
    port: int = 8750
    """The dashboard's port on 127.0.0.1 (0: any free one)."""
    scenarios: str = "all"
    onsets: Mapping[str, float] = field(default_factory=lambda: dict(DEMO_ONSETS))
    """Hours after the start at which scenarios begin."""
    history: bool = True
    """Analyse the simulated day before first (benign, without health checks), so detectors
    that judge an identity against its own history have one."""


@dataclass(slots=True)
class Progress:
    """What the driver has done so far, for the live status line and the summary."""

    sent: int = 0
    failed: int = 0
    """Requests that got no answer at all (counted, never fatal)."""
    simulated: float = 0.0
    """The simulated moment reached."""
    started: float = field(default_factory=time.monotonic)
    done: bool = False
    error: str | None = None
    """Why the traffic stopped before its end, when something in the driver failed."""


DEMO_CONFIG = """
identity:
  trusted_proxies: ["{proxies}", "127.0.0.1/32"]
enforce:
  mode: enforce
  auto_block: {{enabled: true, min_severity: high, block_seconds: 21600, campaign_members: true}}
  bots: {{action: decoy}}
  rate_limits:
    actor: {{requests: 600, per_seconds: 60, burst: 200}}
serve:
  save_seconds: 2
alerts:
  sinks:
    - {{type: webhook, url: "{alerts_url}", min_severity: high, kinds: [incident], timeout: 2}}
"""


def demo_config(out: Path, alerts_url: str = "http://127.0.0.1:9/alerts") -> Config:
    text = DEMO_CONFIG.format(proxies=TRUSTED_PROXIES, alerts_url=alerts_url)
    config = parse_config(text, "apishield demo")
    return config.model_copy(
        update={
            "data_dir": out / "home",
            "store": config.store.model_copy(update={"url": f"sqlite:///{out / 'apishield.db'}"}),
        }
    )


class AlertInbox:
    """A webhook receiver standing in for the team's chat or SIEM: it keeps the alerts that
    reach it (the last 200) and how long each took from being raised to arriving."""

    def __init__(self, on_alert: Callable[[dict[str, Any], float], None] | None = None) -> None:
        self.alerts: collections.deque[dict[str, Any]] = collections.deque(maxlen=200)
        self.latencies: list[float] = []
        self.on_alert = on_alert
        self.server = Server(
            Starlette(routes=[Route("/alerts", self._receive, methods=["POST"])]), "127.0.0.1", 0
        )

    @property
    def url(self) -> str:
        return f"{self.server.url}/alerts"

    async def _receive(self, request: StarletteRequest) -> JSONResponse:
        body = orjson.loads(await request.body())
        raised = dt.datetime.fromisoformat(body["raised_at"].replace("Z", "+00:00")).timestamp()
        latency = max(0.0, time.time() - raised)
        self.alerts.append(body)
        self.latencies.append(latency)
        if self.on_alert is not None:
            self.on_alert(body, latency)
        return JSONResponse({"ok": True})


class Demo:
    """Builds and runs the parts; `run` plays the traffic, `close` stops everything."""

    def __init__(
        self,
        options: DemoOptions,
        on_alert: Callable[[dict[str, Any], float], None] | None = None,
    ) -> None:
        self.options = options
        out = options.out
        out.mkdir(parents=True, exist_ok=True)
        (out / "apishield.db").unlink(missing_ok=True)  # each demo starts from nothing
        spec_path = out / "telco-openapi.yaml"
        spec_path.write_bytes(SPEC.read_bytes())
        self.plan = plan(
            Options(
                out / "traffic",
                days=options.hours / 24,
                seed=options.seed,
                subscribers=options.subscribers,
                scenarios=options.scenarios,
                onsets=options.onsets,
            )
        )
        self.clock = SimClock(self.plan.calendar.start)
        self.progress = Progress()
        self.inbox = AlertInbox(on_alert)
        config = demo_config(out, self.inbox.url)
        spec = load_spec(spec_path)
        self.backends = open_backends(config)
        self.store = store = Store(config.store.url)
        store.create()
        self.console = ConsoleServer(
            config,
            store,
            spec,
            listen=f"127.0.0.1:{options.port}",
            backends=self.backends,
            clock=self.clock.now,
        )
        self.api = Server(create_app(self.plan.api, clock=self.clock.now), "127.0.0.1", 0)
        proxy_config = config.model_copy(
            update={
                "analysis": config.analysis.model_copy(
                    update={"mode": "remote", "server_url": self.console.url}
                )
            }
        )
        engine = build_engine(proxy_config, spec, state=self.backends.state)
        self.guard = Guard.around(engine, proxy_config, self.backends)
        self.guard.clock = self.clock.now
        upstream = Upstream.parse(self.api.url, read_timeout=10.0)
        proxy = ReverseProxy(upstream, config.identity.trusted_proxies)
        self.proxy = Server(ApishieldMiddleware(proxy, self.guard), "127.0.0.1", 0)
        self.spec_path = spec_path
        self._interval = sys.getswitchinterval()
        self.history_events = 0
        """Exchanges of the day before analysed at start (`DemoOptions.history`)."""

    def start(self) -> None:
        # Six threads share one interpreter lock, and the driver waits on each answer: at the
        # default 5 ms switch interval every hop can wait that long for the lock.
        self._interval = sys.getswitchinterval()
        sys.setswitchinterval(SWITCH_INTERVAL)
        self.inbox.server.start()
        self.api.start()
        self.console.start()
        self.proxy.start()
        if self.options.history:
            self.history_events = self._analyse_history()

    def _analyse_history(self) -> int:
        """Yesterday's benign traffic, straight into the server's analysis (no proxy, no HTTP):
        what a server that had been running a day would know. Returns the exchanges analysed."""
        options = self.options
        start = dt.datetime.fromtimestamp(self.plan.calendar.start - DAY, dt.UTC)
        yesterday = plan(
            Options(
                options.out / "history",
                days=1.0,
                seed=options.seed,
                subscribers=options.subscribers,
                scenarios="none",
                start=start.date().isoformat(),
            )
        )
        streams = [s for s in yesterday.streams if s.label != "benign:probe"]
        analysis = self.console.analysis
        assert analysis is not None  # the demo's server always analyses
        batch: list[Exchange] = []
        count = 0
        for event in merge(streams, yesterday.api.dispatch, yesterday.calendar.end):
            batch.append(Exchange(event.request, event.response, event.started, event.service_time))
            if len(batch) == HISTORY_BATCH:
                count += self._offer(analysis, batch)
                batch = []
        count += self._offer(analysis, batch)
        analysis.flush(300.0)
        return count

    @staticmethod
    def _offer(analysis: LiveAnalysis, batch: list[Exchange]) -> int:
        """Queue the batch, waiting while the analysis is busy (five minutes at most)."""
        for _ in range(6_000):
            if not batch or analysis.offer(batch):
                return len(batch)
            time.sleep(0.05)
        return 0

    def run(self, stop: threading.Event) -> Progress:
        """Play the simulated traffic through the proxy until it ends, `duration` passes or
        `stop` is set."""
        options, progress = self.options, self.progress
        start = self.plan.calendar.start
        began = time.perf_counter()
        deadline = began + options.duration if options.duration is not None else None
        with httpx.Client(base_url=self.proxy.url, timeout=15.0) as client:

            def send(request: Request, moment: float) -> tuple[Response, float]:
                wait = began + (moment - start) / options.speed - time.perf_counter()
                if wait > 0:
                    stop.wait(wait)
                self.clock.set(moment)
                progress.simulated = moment
                return self._send(client, request), 0.0

            try:
                for _ in merge(self.plan.streams, send, self.plan.calendar.end):
                    if stop.is_set() or (deadline is not None and time.perf_counter() > deadline):
                        break
            except Exception as error:  # said in the summary and the exit status, not lost
                log.exception("the simulated traffic stopped early")
                progress.error = f"{type(error).__name__}: {error}"
        progress.done = True
        return progress

    def settle(self) -> None:
        """Let what the proxy saw reach the server and the server's snapshot reach the store."""
        self.guard.flush()
        offload = self.guard.offload
        if isinstance(offload, RemoteOffload):
            offload.flush(30.0)
        analysis = self.console.analysis
        if analysis is not None:
            analysis.flush(60.0)

    def close(self) -> None:
        self.proxy.stop(5.0)
        self.guard.close()
        self.console.close()
        self.api.stop(5.0)
        self.inbox.server.stop(5.0)
        sys.setswitchinterval(self._interval)

    def summary(self) -> dict[str, Any]:
        """What the run found, as the store (and so the dashboard) has it after `settle`."""
        analysis = self.console.analysis
        assert analysis is not None  # the demo's server always analyses
        overview = Views(self.store).overview(analysis.run_id)
        severities = overview["incidents"]["by_severity"]
        return {
            "requests": self.progress.sent,
            "refused": self.refused(),
            "failed": self.progress.failed,
            "endpoints": overview["summary"]["endpoints"],
            "incidents": overview["incidents"]["total"],
            "by_severity": {level: n for level, n in severities.items() if n},
            "first_incident_seconds": analysis.first_incident_seconds,
            "blocks": len(self.console.blocks.list()),
            "alerts": len(self.inbox.latencies),
            "alert_latency_ms": _latency_ms(self.inbox.latencies),
        }

    def refused(self) -> int:
        """Requests the proxy answered itself (blocks, denies, rate limits), enforced."""
        return sum(self.guard.decisions.values())

    def _send(self, client: httpx.Client, request: Request) -> Response:
        headers = {k: v for k, v in request.headers.items() if k not in HOP_BY_HOP}
        forwarded = headers.get("x-forwarded-for")
        peer = request.peer_ip or "127.0.0.1"
        headers["x-forwarded-for"] = f"{forwarded}, {peer}" if forwarded else peer
        target = request.path + (f"?{request.query}" if request.query else "")
        try:
            answer = client.request(
                request.method, target, headers=headers, content=request.body or None
            )
        except httpx.HTTPError:
            self.progress.failed += 1
            return Response(502, {}, b"", 0)
        self.progress.sent += 1
        body = answer.content
        return Response(answer.status_code, dict(answer.headers), body, len(body))


def _latency_ms(latencies: list[float]) -> dict[str, float] | None:
    if not latencies:
        return None
    ordered = sorted(latencies)
    return {
        "p50": round(ordered[len(ordered) // 2] * 1000, 1),
        "max": round(ordered[-1] * 1000, 1),
    }


@contextlib.contextmanager
def running(options: DemoOptions) -> Iterator[Demo]:
    demo = Demo(options)
    try:
        demo.start()
        yield demo
    finally:
        demo.close()


__all__ = ["Demo", "DemoOptions", "SimClock", "demo_config", "running"]

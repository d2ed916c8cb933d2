"""In-process figures for benchmarks/inline.py: what the middleware costs with no server around it.

A trivial ASGI app answers the prepared customer records, driven by hand-made ASGI scopes on one
event loop, with and without ApishieldMiddleware; the guard's request phase and the pipeline's
response phase are then timed alone, part by part, and profiled. Times are CPU times (of this
thread, or of the whole process where the worker's share belongs in the figure).
"""

from __future__ import annotations

import asyncio
import cProfile
import pstats
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import inline_apps
from inline_apps import BASE, KEYS, PER_KEY, USER_AGENT, traffic


def asgi_scope(path: str, key: str, n: int) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [
            (b"host", b"api.example.com"),
            (b"user-agent", USER_AGENT.encode()),
            (b"accept", b"application/json"),
            (b"x-api-key", key.encode()),
        ],
        "client": ("127.0.0.1", 40_000 + n % 20_000),
        "server": ("127.0.0.1", 8000),
    }


def record_app(bodies: dict[str, bytes]) -> Callable[..., Any]:
    """The least an ASGI app can do: answer the prepared customer record."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = bodies[scope["path"]]
        headers = [(b"content-type", b"application/json"), (b"content-length", b"2048")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


def drive(app: Callable[..., Any], scopes: list[dict[str, Any]]) -> None:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        return None

    async def run() -> None:
        for scope in scopes:
            await app(scope, receive, send)

    asyncio.run(run())


SEEDS = (21, 22, 23)
"""Every in-process figure is the least of three runs over different requests: a pause of the
process, or a busy sibling CPU, lands in one run and not in all."""


def least_of(measure: Callable[[int], float]) -> float:
    return min(measure(seed) for seed in SEEDS)


def least_pair(measure: Callable[[int], tuple[float, float]]) -> tuple[float, float]:
    runs = [measure(seed) for seed in SEEDS]
    return min(run[0] for run in runs), min(run[1] for run in runs)


def per_item(work: Callable[[Any], object], batch: list[Any]) -> float:
    """CPU µs of this thread per item."""
    start = time.thread_time()
    for item in batch:
        work(item)
    return (time.thread_time() - start) / len(batch) * 1e6


def exchanges(count: int, seed: int) -> list[Any]:
    from apishield.exchange import Exchange, Request

    made = []
    for path, key in traffic(count, "customer", seed):
        headers = {
            "host": "api.example.com",
            "user-agent": USER_AGENT,
            "accept": "application/json",
            "x-api-key": key,
        }
        request = Request("GET", path, "", headers, b"", 0, "http", headers["host"], "127.0.0.1")
        request.http_version = "1.1"
        made.append(Exchange(request, None, started=time.time(), source="asgi"))
    return made


def answer(exchange: Any, bodies: dict[str, bytes]) -> None:
    from apishield.exchange import Response

    body = bodies[exchange.request.path]
    headers = {"content-type": "application/json", "content-length": str(len(body))}
    exchange.response = Response(200, headers, body, len(body))
    exchange.duration = 0.0004


def by_part(guard: Any, batch: list[Any], bodies: dict[str, bytes]) -> dict[str, float]:
    """CPU µs per request of each request stage (checks one by one), the policy and each
    response stage (checks one by one): each part runs over the whole batch before the next."""
    from apishield.checks import CheckStage

    spent: dict[str, float] = {}

    def timed(name: str, part: Callable[[Any], object]) -> None:
        start = time.thread_time()
        for exchange in batch:
            part(exchange)
        spent[name] = (time.thread_time() - start) / len(batch) * 1e6

    def run(stages: Any, phase: str) -> None:
        for stage in stages:
            if not isinstance(stage, CheckStage):
                timed(f"{phase}  {stage.name}", stage)
                continue
            for check in stage.checks:

                def one(exchange: Any, check: Any = check, context: Any = stage.context) -> None:
                    exchange.findings.extend(check.run(exchange, context))

                timed(f"{phase}  check {check.name}", one)

    pipeline = guard.engine.pipeline
    run(pipeline.request_stages, "request ")
    timed(
        "request   policy.decide", lambda exchange: guard.policy.decide(exchange, exchange.started)
    )
    for exchange in batch:
        answer(exchange, bodies)
    run(pipeline.response_stages, "response")
    return spent


Table = dict[tuple[str, int, str], tuple[int, float, float]]
"""(file, line, function) -> (calls, own seconds, cumulative seconds)."""


def profiled(work: Callable[[Any], object], batch: list[Any]) -> Table:
    profile = cProfile.Profile()
    profile.runcall(lambda: [work(exchange) for exchange in batch])
    raw: dict[Any, Any] = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    return {key: (calls, own, cumulative) for key, (_, calls, own, cumulative, _) in raw.items()}


def least(tables: list[Table]) -> Table:
    """Per function, the least time over repeated profiles: a pause of the process (another
    program on the CPU, a garbage collection) lands on one function in one run, not in all."""
    keys = set.intersection(*(set(table) for table in tables))
    return {
        key: (
            tables[0][key][0],
            min(table[key][1] for table in tables),
            min(table[key][2] for table in tables),
        )
        for key in keys
    }


def print_profile(
    title: str,
    table: Table,
    count: int,
    top: int,
    own: bool,
    keep: Callable[[str], bool] = lambda filename: True,
) -> None:
    """The top entries by own time, or by cumulative time (the call tree's heavy branches),
    of the functions whose file `keep` accepts."""
    column = 1 if own else 2
    total = sum(entry[1] for entry in table.values())
    entries = sorted(table.items(), key=lambda item: item[1][column], reverse=True)
    skip = ("/pipeline.py", "/inline_profile.py", "/asyncio/events.py", "/asyncio/base_events.py")
    entries = [e for e in entries if keep(e[0][0]) and not e[0][0].endswith(skip)]
    print(
        f"\n{title}: cProfile top {top} by {'own' if own else 'cumulative'} time, least of 3 "
        f"runs; {total / count * 1e6:.0f} µs/request under the profiler, which inflates calls"
    )
    print(f"{'own µs/req':>11}{'share':>7}{'cum µs/req':>11}{'calls/req':>10}  function")
    for (filename, line, name), (calls, spent, cumulative) in entries[:top]:
        where = filename.split("/src/")[-1] if "/src/" in filename else Path(filename).name
        where = f"{where}:{line}({name})" if line else name
        print(
            f"{spent / count * 1e6:>11.2f}{spent / total:>7.1%}{cumulative / count * 1e6:>11.1f}"
            f"{calls / count:>10.1f}  {where}"
        )


def in_process(count: int) -> None:
    """CPU per request of the middleware with nothing else around it, and where it goes."""
    from apishield.inline import ApishieldMiddleware

    print(
        f"\n== in-process, no server: {count:,} GET /customers/{{id}} requests per figure, "
        "the least of 3 runs =="
    )
    start = time.monotonic()
    guard = inline_apps.make_guard()
    print(f"guard built in {time.monotonic() - start:.1f} s")
    ids = [BASE + k * 16 + j for k in range(1, KEYS + 1) for j in range(PER_KEY)]
    bodies = {f"/customers/{n}": inline_apps.dumps(inline_apps.customer(n)) for n in ids}
    plain = record_app(bodies)
    shielded = ApishieldMiddleware(plain, guard)
    drive(shielded, scopes(count, seed=3))
    guard.flush()

    def this_thread(app: Callable[..., Any], seed: int) -> float:
        batch = scopes(count, seed)
        start = time.thread_time()
        drive(app, batch)
        return (time.thread_time() - start) / count * 1e6

    def shielded_run(seed: int) -> tuple[float, float]:
        """(this thread, all threads once the worker has caught up), µs per request."""
        start = time.process_time()
        request_path = this_thread(shielded, seed)
        guard.flush()
        return request_path, (time.process_time() - start) / count * 1e6

    def phases(seed: int) -> tuple[float, float]:
        batch = exchanges(count, seed)
        check = per_item(guard.check, batch)
        for exchange in batch:
            answer(exchange, bodies)
        return check, per_item(guard.engine.pipeline.run_response, batch)

    bare = least_of(lambda seed: this_thread(plain, seed))
    request_path, total = least_pair(shielded_run)
    check, response = least_pair(phases)
    parts = by_part(guard, exchanges(count, seed=12), bodies)
    requests: list[Table] = []
    responses: list[Table] = []
    for seed in (13, 14, 15):
        batch = exchanges(count, seed)
        requests.append(profiled(guard.check, batch))
        for exchange in batch:
            answer(exchange, bodies)
        responses.append(profiled(guard.engine.pipeline.run_response, batch))
    guard.close()  # the worker stops; what is submitted from now on waits in the queue
    alone = least_of(lambda seed: this_thread(shielded, seed))
    glue = least([profiled(partial(drive, shielded), [scopes(count, seed)]) for seed in SEEDS])

    print(f"trivial ASGI app alone                           {bare:7.1f} µs/request")
    print(
        f"with ApishieldMiddleware, this thread            {request_path:7.1f} µs/request "
        f"(+{request_path - bare:.1f}: request phase, glue, hand-off, sharing the GIL)"
    )
    print(
        f"with ApishieldMiddleware, all threads            {total:7.1f} µs/request "
        f"(+{total - bare:.1f}: the above plus the worker's response phase)"
    )
    print(
        f"with ApishieldMiddleware, worker stopped         {alone:7.1f} µs/request "
        f"(+{alone - bare:.1f}: request phase, glue, hand-off, nobody to share with)"
    )
    print(f"guard.check alone (request phase + policy)       {check:7.1f} µs/request")
    print(f"pipeline.run_response alone (the worker's share) {response:7.1f} µs/request")
    print(
        "\nCPU µs/request per part, each part over the whole batch in turn (warm caches, so the"
        " parts add up to less than the phases; parts under 0.5 µs left out):"
    )
    for name, spent in sorted(parts.items(), key=lambda item: -item[1]):
        if spent >= 0.5:
            print(f"  {name:<44}{spent:7.1f}")
    print_profile("request phase (guard.check)", least(requests), count, 20, own=True)
    title = "response phase (pipeline.run_response, on the worker)"
    response_table = least(responses)
    print_profile(title, response_table, count, 22, own=False)
    print_detectors(response_table, count)
    print_profile(title, response_table, count, 15, own=True)
    print_profile(
        "the middleware path, worker stopped: functions of apishield/inline/ and built-ins only",
        glue,
        count,
        12,
        own=True,
        keep=lambda filename: "/apishield/" not in filename or "/apishield/inline/" in filename,
    )


def print_detectors(table: Table, count: int) -> None:
    """Each detector's `observe`, from the same profile: which of them the detect stage's
    time goes to."""
    spent = {
        Path(filename).stem: cumulative
        for (filename, _, name), (_, _, cumulative) in table.items()
        if name == "observe" and "/apishield/detect/" in filename
    }
    ranked = sorted(spent.items(), key=lambda item: -item[1])
    print(
        "detectors, cumulative µs/request under the profiler: "
        + ", ".join(f"{name} {seconds / count * 1e6:.1f}" for name, seconds in ranked)
    )


def scopes(count: int, seed: int) -> list[dict[str, Any]]:
    return [
        asgi_scope(path, key, n) for n, (path, key) in enumerate(traffic(count, "customer", seed))
    ]

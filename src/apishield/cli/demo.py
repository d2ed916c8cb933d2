"""`apishield demo`: the demo telco API, the proxy in front of it, the server and dashboard
behind it, and a simulated day of benign and attack traffic played through them live."""

from __future__ import annotations

import signal
import sys
import threading
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from apishield.cli.root import app, console, err, fail
from apishield.report.plain import plain

STATUS_SECONDS = 1.0


@app.command()
def demo(
    out: Annotated[
        Path, typer.Option(help="Folder for the store, the spec and the install secret.")
    ] = Path("demo-output"),
    duration: Annotated[
        float | None,
        typer.Option(help="Stop the traffic after this many seconds, print the summary, exit."),
    ] = None,
    speed: Annotated[
        float, typer.Option(min=1.0, help="At most this many simulated seconds per real second.")
    ] = 60.0,
    hours: Annotated[
        float, typer.Option(min=0.5, max=24.0, help="Simulated hours to play (attacks: first 0.8).")
    ] = 1.5,
    subscribers: Annotated[
        int, typer.Option(min=50, help="Size of the simulated customer base.")
    ] = 1000,
    seed: Annotated[int, typer.Option(help="Seed of the simulated world.")] = 7,
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Dashboard port on 127.0.0.1 (0: any free).")
    ] = 8750,
    keep_serving: Annotated[
        bool | None,
        typer.Option(
            help="Keep the dashboard up after the traffic until Ctrl+C (default: when run in a "
            "terminal and without --duration)."
        ),
    ] = None,
) -> None:
    """Watch apishield discover an API, catch the 2023 breach patterns and block the attackers,
    live: prints the dashboard's URL and token, then a status line; Ctrl+C stops everything."""
    from apishield.demo import Demo, DemoOptions
    from apishield.inline.server import ListenError

    began = time.monotonic()
    options = DemoOptions(out, seed, subscribers, hours, speed, duration, port)
    err.print(
        "apishield demo: starting the telco API, the proxy and the server, and analysing the "
        "simulated day before (what a server running since yesterday would know) ..."
    )
    try:
        runner = Demo(options, _alerted)
        runner.start()
    except (ListenError, OSError) as exc:
        fail(f"{exc}; is another apishield demo running? Try --port 0")
    stop = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        err.print(f"[bold]apishield demo[/]: telco API {runner.api.url}, proxy {runner.proxy.url}")
        err.print(f"Dashboard: [bold underline]{runner.console.login_url}[/]")
        err.print(f"API token: {runner.console.token}")
        err.print(
            f"Playing {hours:g} simulated hours ({subscribers:,} subscribers, every attack "
            f"scenario) at up to {speed:g}x through the proxy; Ctrl+C stops."
        )
        shown = _watch(runner, stop, began)
        runner.settle()
        _summary(runner.summary(), shown, began)
        if runner.progress.error is not None:
            fail(f"the simulated traffic stopped early: {runner.progress.error}", 1)
        hold = keep_serving if keep_serving is not None else sys.stdin.isatty() and not duration
        if hold and not stop.is_set():
            err.print(
                f"Traffic done. The dashboard stays at {runner.console.login_url}; Ctrl+C stops."
            )
            stop.wait()
    finally:
        signal.signal(signal.SIGINT, previous)
        err.print("stopping...")
        runner.close()


def _watch(runner: Any, stop: threading.Event, began: float) -> float | None:
    """Play the traffic on a thread; print a status line from the API each second. Returns the
    seconds from the command to the first incident the API (and so the dashboard) showed."""
    import httpx

    driver = threading.Thread(target=runner.run, args=(stop,), name="apishield-demo", daemon=True)
    driver.start()
    first: float | None = None
    headers = {"authorization": f"Bearer {runner.console.token}"}
    with httpx.Client(base_url=runner.console.url, headers=headers, timeout=5.0) as api:
        while driver.is_alive():
            driver.join(STATUS_SECONDS)
            try:
                overview = api.get("/api/v1/overview").json()
            except (httpx.HTTPError, ValueError):
                continue
            total = overview.get("incidents", {}).get("total", 0)
            if total and first is None:
                first = time.monotonic() - began
            _status(runner, overview)
    return first


def _alerted(alert: dict[str, Any], latency: float) -> None:
    actors = ", ".join(alert.get("actors", [])[:2]) or alert.get("scope", "")
    err.print(
        f"  [bold red]ALERT[/] {plain(alert['severity'])}: {plain(alert['title'])} "
        f"({plain(actors)}); "
        f"webhook delivered in {latency * 1000:.0f} ms",
        highlight=False,
        soft_wrap=True,
    )


def _status(runner: Any, overview: dict[str, Any]) -> None:
    progress = runner.progress
    moment = time.strftime("%H:%M", time.gmtime(progress.simulated or 0))
    severities = overview.get("incidents", {}).get("by_severity", {})
    worst = " ".join(f"{n} {s}" for s, n in severities.items() if n) or "none yet"
    err.print(
        f"  {moment} sim | {progress.sent:,} req | "
        f"{overview.get('summary', {}).get('endpoints', 0)} endpoints | incidents: {worst} | "
        f"{overview.get('blocks', 0)} blocked | {runner.refused():,} refused",
        highlight=False,
        soft_wrap=True,
    )


def _summary(summary: dict[str, Any], shown: float | None, began: float) -> None:
    from rich.table import Table

    table = Table(title="apishield demo", show_header=False)
    table.add_row("requests played", f"{summary['requests']:,}")
    table.add_row("refused at the proxy", f"{summary['refused']:,}")
    table.add_row("endpoints discovered", str(summary["endpoints"]))
    severities = ", ".join(f"{n} {s}" for s, n in summary["by_severity"].items())
    table.add_row("incidents", f"{summary['incidents']} ({severities or 'none'})")
    table.add_row("active blocks", str(summary["blocks"]))
    latency = summary["alert_latency_ms"]
    delivered = (
        f" (raised to received: p50 {latency['p50']} ms, max {latency['max']} ms)"
        if latency
        else ""
    )
    table.add_row("alerts delivered", f"{summary['alerts']}{delivered}")
    table.add_row(
        "first incident on the dashboard",
        f"{shown:.1f} s after the command" if shown is not None else "none",
    )
    table.add_row("run time", f"{time.monotonic() - began:.0f} s")
    console.print(table)

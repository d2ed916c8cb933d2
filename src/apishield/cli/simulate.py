"""`apishield simulate`: the demo telecom API's traffic, with its ground truth."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress, TextColumn, TimeElapsedColumn

from apishield.cli.root import (
    app,
    console,
    err,
    fail,
)


@app.command()
def simulate(
    out: Annotated[Path, typer.Option("--out", "-o", help="Output file (.gz compresses).")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="jsonl, nginx-json or har.")] = "jsonl",
    days: Annotated[float, typer.Option(help="Days of traffic (fractions allowed).")] = 7.0,
    subscribers: Annotated[int, typer.Option(help="Customers of the demo operator.")] = 5000,
    scenarios: Annotated[
        str, typer.Option(help="all, none, or a comma list of attack scenarios (a-i or names).")
    ] = "all",
    seed: Annotated[int, typer.Option(help="Same seed and options, same bytes.")] = 7,
    truth: Annotated[
        Path | None, typer.Option(help="Write the ground truth (attackers, windows) here.")
    ] = None,
    start: Annotated[str, typer.Option(help="First day, UTC (YYYY-MM-DD).")] = "2026-01-05",
    requests: Annotated[
        int | None, typer.Option(help="Stop after this many requests (a quick sample).")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Generate traffic of the demo telco API, benign and attacks, with its spec beside it."""
    from rich.progress import BarColumn

    from apishield.sim import FORMATS as SIM_FORMATS
    from apishield.sim import Options
    from apishield.sim import simulate as run_simulation

    if fmt not in SIM_FORMATS:
        fail(f"--format {fmt!r} is not known; use one of: {', '.join(SIM_FORMATS)}")
    options = Options(out, fmt, days, subscribers, scenarios, seed, start, truth, requests)
    columns = (TextColumn("simulating"), BarColumn(), TextColumn("{task.fields[count]:,} requests"))
    with Progress(*columns, TimeElapsedColumn(), console=err, disable=quiet, transient=True) as bar:
        task = bar.add_task("simulate", total=1.0, count=0)

        def progress(count: int, share: float) -> None:
            bar.update(task, completed=share, count=count)

        try:
            summary = run_simulation(options, progress)
        except ValueError as exc:
            fail(str(exc))
    rate = summary.requests / max(summary.seconds, 1e-9)
    console.print(
        f"Wrote {summary.requests:,} requests to {out} in {summary.seconds:.1f}s "
        f"({rate:,.0f} requests/s); the documented spec is {summary.spec}"
    )
    if truth is not None:
        console.print(f"Ground truth: {truth}")

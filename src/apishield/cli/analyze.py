"""`apishield analyze`: logs in, inventory, findings and incidents out."""

from __future__ import annotations

import ipaddress
import math
import time
from pathlib import Path
from typing import Annotated, Any, BinaryIO

import orjson
import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from apishield.cli.root import (
    ConfigOption,
    DbOption,
    app,
    console,
    engine_for,
    err,
    fail,
    open_store,
    optional_spec,
    read_config,
    warn,
    write_spec,
)
from apishield.config import FORMATS, Config
from apishield.engine import Engine
from apishield.ingest import IngestError, IngestStats, read_exchanges
from apishield.inventory.endpoint import endpoint_from_summary
from apishield.inventory.export import export_openapi
from apishield.report.document import RunInfo, build_document
from apishield.report.html import render_html
from apishield.report.siem import findings_line
from apishield.report.terminal import render
from apishield.startup import analysis_collector
from apishield.store.database import StoreError

_PROGRESS_EVERY = 16_384
# How long a finished analysis waits for a locked or restarting store before giving up.
_SAVE_SECONDS = 30.0


@app.command()
def analyze(
    logs: Annotated[
        list[Path], typer.Argument(help="Access logs, HAR or JSONL files (gzip ok); - for stdin.")
    ],
    spec: Annotated[
        Path | None, typer.Option(help="OpenAPI/Swagger file: documented paths win.")
    ] = None,
    fmt: Annotated[
        str | None, typer.Option("--format", "-f", help=f"One of: {', '.join(FORMATS)}.")
    ] = None,
    trusted_proxy: Annotated[
        list[str] | None,
        typer.Option(help="IP or CIDR of a proxy whose X-Forwarded-For is believed."),
    ] = None,
    html: Annotated[Path | None, typer.Option(help="Write the HTML report here.")] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the JSON report here.")
    ] = None,
    openapi: Annotated[
        Path | None, typer.Option(help="Export the learned API as OpenAPI 3.1.")
    ] = None,
    findings: Annotated[
        Path | None,
        typer.Option(help="Write one JSON line per request with findings here (for a SIEM)."),
    ] = None,
    db: DbOption = None,
    config_file: ConfigOption = None,
    top: Annotated[int, typer.Option(help="Endpoints to list in the terminal.")] = 25,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Learn the API inventory from recorded traffic, score its risk and persist the results."""
    config = read_config(config_file)
    updates: dict[str, Any] = {}
    if fmt is not None:
        if fmt not in FORMATS:
            fail(f"--format {fmt!r} is not known; use one of: {', '.join(FORMATS)}")
        updates["ingest"] = config.ingest.model_copy(update={"format": fmt})
    if trusted_proxy:
        updates["identity"] = config.identity.model_copy(
            update={"trusted_proxies": [_network(p) for p in trusted_proxy]}
        )
    config = config.model_copy(update=updates)
    api_spec = optional_spec(spec or config.inventory.spec)
    store = open_store(db or config.store.url)
    engine = engine_for(config, api_spec)

    logs = _oldest_first(logs, config)
    started = time.time()
    stats = IngestStats()
    sink = _open_findings(findings)
    try:
        with analysis_collector():
            _replay(engine, logs, config, stats, quiet, sink)
    finally:
        if sink is not None:
            sink.close()
    document = build_document(
        engine.result(),
        RunInfo(
            kind="analyze",
            started_at=started,
            finished_at=time.time(),
            sources=[str(p) for p in logs],
            lines=stats.lines,
            events=stats.events,
            skipped=stats.skipped,
            skipped_by_reason=dict(stats.skipped_by_reason),
            errors=[{"source": e.source, "line": e.line, "reason": e.reason} for e in stats.errors],
            partial=stats.partial,
            partial_by_reason=dict(stats.partial_by_reason),
        ),
    )
    render(document, console, top=top)
    _write_outputs(document, html, json_out, openapi, engine)
    try:
        run_id = store.save_analysis(
            document, engine.series_points(), retry_seconds=_SAVE_SECONDS, on_retry=_saving_again
        )
    except StoreError as exc:
        fail(f"{exc}. The reports above were written; this run was not saved in the store.", 1)
    console.print(f"Saved as run {run_id} in {store.url}")


def _saving_again(reason: str, wait: float) -> None:
    warn(f"the store is not available ({reason}); saving the run again in {wait:.1f} s")


def _open_findings(path: Path | None) -> BinaryIO | None:
    if path is None:
        return None
    try:
        return path.open("wb")
    except OSError as exc:
        fail(f"cannot write findings to {path}: {exc.strerror}")


def _oldest_first(logs: list[Path], config: Config) -> list[Path]:
    """The logs in the order of their first events. Analysis runs on event time, and a shell
    lists `access.log*` newest first (access.log, access.log.1, access.log.2.gz): read in that
    order, a day of traffic would land in the windows of the day after. Each file is opened and
    its first event read, so a missing or unreadable file fails here, before the analysis."""
    if len(logs) < 2 or any(str(log) == "-" for log in logs):
        return logs
    firsts: list[tuple[float, int, Path]] = []
    for index, log in enumerate(logs):
        try:
            events = read_exchanges(
                log,
                config.ingest.format,
                field_map=config.ingest.field_map,
                max_body_bytes=config.ingest.max_body_bytes,
                stats=IngestStats(),
            )
            try:
                first = next(events, None)
            finally:
                events.close()  # the file, now: only its first event was wanted
        except IngestError as exc:
            fail(str(exc))
        firsts.append((first.started if first is not None else math.inf, index, log))
    ordered = [log for _, _, log in sorted(firsts)]
    if ordered != logs:
        names = ", ".join(str(log) for log in ordered)
        warn(f"reading the logs oldest first, by their first events: {names}")
    return ordered


def _replay(
    engine: Engine,
    logs: list[Path],
    config: Config,
    stats: IngestStats,
    quiet: bool,
    sink: BinaryIO | None = None,
) -> None:
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=err, disable=quiet, transient=True) as progress:
        for log in logs:
            task = progress.add_task(f"{log}", total=None)
            first = time.perf_counter()
            count = 0
            try:
                for exchange in read_exchanges(
                    log,
                    config.ingest.format,
                    field_map=config.ingest.field_map,
                    max_body_bytes=config.ingest.max_body_bytes,
                    stats=stats,
                ):
                    engine.process(exchange)
                    if sink is not None and exchange.findings:
                        sink.write(findings_line(exchange))
                    count += 1
                    if count % _PROGRESS_EVERY == 0:
                        rate = count / max(time.perf_counter() - first, 1e-9)
                        progress.update(task, description=f"{log}: {count:,} events, {rate:,.0f}/s")
            except IngestError as exc:
                fail(str(exc))
            progress.remove_task(task)


def _write_outputs(
    document: dict[str, Any],
    html: Path | None,
    json_out: Path | None,
    openapi: Path | None,
    engine: Engine,
) -> None:
    if html is not None:
        html.write_text(render_html(document), encoding="utf-8")
        console.print(f"HTML report: {html}")
    if json_out is not None:
        json_out.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2))
        console.print(f"JSON report: {json_out}")
    if openapi is not None:
        endpoints = [endpoint_from_summary(e) for e in document["endpoints"]]
        write_spec(openapi, export_openapi(endpoints, title="Learned API", version="observed"))


def _network(value: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        return ipaddress.ip_network(value, strict=False)
    except ValueError:
        fail(f"--trusted-proxy {value!r} is not an IP address or CIDR such as 10.0.0.0/8")

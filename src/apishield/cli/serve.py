"""`apishield serve`: the REST API, the dashboard, /metrics and live analysis in one process."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from apishield.cli.root import (
    ConfigOption,
    DbOption,
    app,
    err,
    fail,
    open_store,
    optional_spec,
    read_config,
)
from apishield.config import FORMATS, ConfigError


@app.command()
def serve(
    config_file: ConfigOption = None,
    db: DbOption = None,
    listen: Annotated[
        str | None,
        typer.Option(help="HOST:PORT (default serve.listen, 127.0.0.1:8750); keep it local."),
    ] = None,
    spec: Annotated[
        Path | None, typer.Option(help="OpenAPI/Swagger file: documented paths win.")
    ] = None,
    follow: Annotated[
        list[Path] | None,
        typer.Option(
            help="A log file to follow like tail -F (repeat for more); survives rotation."
        ),
    ] = None,
    log_format: Annotated[
        str, typer.Option("--format", help=f"Format of followed logs: {', '.join(FORMATS)}.")
    ] = "auto",
    from_start: Annotated[
        bool, typer.Option(help="Read followed files from their start, not their end.")
    ] = False,
    run: Annotated[
        str | None,
        typer.Option(help="Show a stored run (an id, or 'latest') instead of analysing live."),
    ] = None,
) -> None:
    """Serve the dashboard and REST API; analyse what guards send (analysis.mode: remote) and
    what followed logs gain. Prints the dashboard's URL with its token; Ctrl+C stops."""
    from apishield.config import StoreConfig
    from apishield.inline.server import ListenError
    from apishield.server.console import ConsoleServer
    from apishield.store.database import StoreError

    config = read_config(config_file)
    if db is not None:
        config = config.model_copy(update={"store": StoreConfig(url=db)})
    if log_format not in FORMATS:
        fail(f"--format {log_format!r} is not one of {', '.join(FORMATS)}")
    shown: int | None = None
    if run is not None and run != "latest":
        if not run.isdigit():
            fail(f"--run {run!r} is not a run id or 'latest'")
        shown = int(run)
    if run is not None and follow:
        fail("--run shows a stored run and analyses nothing: drop --follow, or drop --run")
    store = open_store(config.store.url)
    try:
        server = ConsoleServer(
            config,
            store,
            optional_spec(spec or config.inventory.spec),
            listen=listen,
            show_run=shown,
            read_only=run is not None,
            follow=follow or (),
            fmt=log_format,
            from_start=from_start,
        )
    except (ConfigError, ListenError, ValueError) as exc:
        fail(str(exc))
    except StoreError as exc:
        fail(str(exc), 1)
    if server.http.host not in ("127.0.0.1", "::1", "localhost"):
        err.print(
            f"[yellow]warning:[/] listening on {server.http.host}: the API, the dashboard and "
            "the ingest endpoint are reachable from other machines, in plain HTTP; put a "
            "TLS-terminating proxy in front, or listen on 127.0.0.1"
        )
    what = f"run {run}" if run is not None else "live analysis"
    err.print(f"apishield serve: {what}, store {store.url}")
    err.print(f"Dashboard: [bold]{server.login_url}[/]")
    err.print(f"API token: {server.token}  (Authorization: Bearer …); Ctrl+C stops")
    server.serve_until_signal()
    if server.analysis is not None:
        stats = server.analysis.stats()
        err.print(
            f"stopped: {stats['processed']:,} exchanges analysed, saved as run "
            f"{server.analysis.run_id}"
        )
        alerts = stats["alerts"] or {}
        for sink, counts in alerts.get("sinks", {}).items():
            told = ", ".join(f"{n:,} {what}" for what, n in counts.items() if n)
            err.print(f"alerts to {sink}: {told or 'none'}")

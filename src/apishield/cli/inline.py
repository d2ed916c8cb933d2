"""`apishield proxy` and `apishield worker`: in-line defense and the analysis behind it."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from apishield.cli.root import (
    ConfigOption,
    DbOption,
    app,
    engine_for,
    err,
    fail,
    optional_spec,
    read_config,
)
from apishield.config import Config, ConfigError
from apishield.inventory.spec import ApiSpec
from apishield.store.database import StoreError

if TYPE_CHECKING:
    from apishield.inline.proxy import Upstream


@app.command()
def proxy(
    upstream: Annotated[
        str, typer.Option(help="The API to protect, such as http://127.0.0.1:8000 (or /prefix).")
    ],
    listen: Annotated[
        str, typer.Option(help="HOST:PORT to accept clients on (0.0.0.0:PORT for all).")
    ] = "127.0.0.1:8080",
    spec: Annotated[
        Path | None, typer.Option(help="OpenAPI/Swagger file: documented paths win.")
    ] = None,
    config_file: ConfigOption = None,
    connect_timeout: Annotated[
        float, typer.Option(help="Seconds to connect to the upstream before answering 504.")
    ] = 5.0,
    read_timeout: Annotated[
        float, typer.Option(help="Seconds the upstream may stay silent before answering 504.")
    ] = 30.0,
    rewrite_host: Annotated[
        bool, typer.Option(help="Send the upstream its own host as Host, not the client's.")
    ] = False,
    grace: Annotated[
        float, typer.Option(help="Seconds in-flight requests get to finish on SIGINT/SIGTERM.")
    ] = 30.0,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Processes accepting on the one port, one per core; more than one needs "
            "state.backend: redis so that they enforce one rate limit and one block list.",
        ),
    ] = 1,
) -> None:
    """Guard any HTTP API as a reverse proxy: refuse before the upstream answers, learn after."""
    from apishield.inline.proxy import Upstream, UpstreamError
    from apishield.inline.server import ListenError, bind, parse_listen
    from apishield.inline.workers import Workers

    config = read_config(config_file)
    try:
        target = Upstream.parse(
            upstream,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            rewrite_host=rewrite_host,
        )
        host, port = parse_listen(listen)
    except (UpstreamError, ListenError) as exc:
        fail(str(exc))
    api_spec = optional_spec(spec or config.inventory.spec)
    if workers == 1:
        raise typer.Exit(_serve_proxy(config, api_spec, target, host, port, grace))
    if config.state.backend != "redis":
        fail(
            f"--workers {workers} needs state.backend: redis in the config, so that every worker "
            "enforces one rate limit and one block list (each would keep its own in memory)"
        )
    try:
        sock = bind(host, port)
    except ListenError as exc:
        fail(str(exc))
    err.print(f"apishield proxy: {workers} workers on {host}:{sock.getsockname()[1]}")
    group = Workers(
        workers,
        sock,
        lambda shared: _serve_proxy(config, api_spec, target, host, port, grace, shared),
    )
    raise typer.Exit(group.run())


def _serve_proxy(
    config: Config,
    api_spec: ApiSpec | None,
    target: Upstream,
    host: str,
    port: int,
    grace: float,
    sock: socket.socket | None = None,
) -> int:
    """One proxy process: its guard, its server (on `sock` when workers share one), until a
    signal; then the guard drained and a summary. The exit status."""
    from apishield.inline.asgi import ApishieldMiddleware
    from apishield.inline.guard import Guard
    from apishield.inline.proxy import ReverseProxy
    from apishield.inline.server import ListenError, Server
    from apishield.state.factory import open_backends

    backends = open_backends(config)
    engine = engine_for(config, api_spec, backends.state)
    guard = Guard.around(engine, config, backends)
    try:
        app = ApishieldMiddleware(ReverseProxy(target, config.identity.trusted_proxies), guard)
        server = Server(app, host, port, grace=grace, sock=sock)
    except ListenError as exc:
        guard.close()
        fail(str(exc))
    who = f"worker {os.getpid()}" if sock is not None else "apishield proxy"
    err.print(
        f"{who}: {server.url} -> {target.base} (enforce: {config.enforce.mode}); "
        "Ctrl+C or SIGTERM stops"
    )
    try:
        server.serve_until_signal()
    finally:
        guard.close()
    stats = guard.stats()
    offload = guard.offload.stats() if guard.offload is not None else None
    where = offload.get("stream") or offload.get("server") if offload else None
    sent = f", {offload['sent']:,} sent to {where}" if offload else ""
    err.print(
        f"{who} stopped: {stats['processed']:,} exchanges analysed here{sent}, "
        f"{stats['dropped']:,} dropped, decisions {stats['decisions']}"
    )
    return 0


@app.command()
def worker(
    config_file: ConfigOption = None,
    spec: Annotated[
        Path | None, typer.Option(help="OpenAPI/Swagger file: documented paths win.")
    ] = None,
    name: Annotated[
        str | None,
        typer.Option(
            help="Consumer name in the group; a restarted worker of the same name "
            "resumes what it left (default: host-pid)."
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Analyse the exchanges guards put on the Redis stream (analysis.mode: stream), as one of
    a consumer group; SIGINT or SIGTERM finishes the batch, saves, acknowledges and exits."""
    import os
    import signal
    import socket
    import threading

    from apishield.config import StoreConfig
    from apishield.worker import run_worker

    config = read_config(config_file)
    if db is not None:
        config = config.model_copy(update={"store": StoreConfig(url=db)})
    api_spec = optional_spec(spec or config.inventory.spec)
    consumer = name or f"{socket.gethostname()}-{os.getpid()}"
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    analysis = config.analysis
    err.print(
        f"apishield worker {consumer}: stream {analysis.stream}, group {analysis.group}; "
        "Ctrl+C or SIGTERM stops"
    )
    try:
        report = run_worker(config, api_spec, consumer, stop)
    except ConfigError as exc:
        fail(str(exc))
    except StoreError as exc:
        fail(str(exc), 1)
    stats = report.stats
    saved = f"latest run {report.run_ids[-1]}" if report.run_ids else "nothing to save"
    err.print(
        f"stopped: {stats.events:,} exchanges analysed, {stats.skipped:,} malformed, "
        f"{report.claimed:,} taken over from other workers; {saved}"
    )

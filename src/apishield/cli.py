"""The `apishield` command: wiring of sources, engine, store and reports, nothing more."""

from __future__ import annotations

import ipaddress
import logging
import sys
import time
from pathlib import Path
from typing import Annotated, Any, BinaryIO, NoReturn

import orjson
import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from apishield.config import FORMATS, Config, ConfigError, load_config
from apishield.engine import Engine
from apishield.ingest import IngestError, IngestStats, read_exchanges
from apishield.ingest.openapi import SpecError, load_spec
from apishield.inventory.diff import diff_spec
from apishield.inventory.endpoint import endpoint_from_summary
from apishield.inventory.export import export_openapi
from apishield.inventory.spec import ApiSpec
from apishield.privacy import Hasher
from apishield.report.document import RunInfo, build_document
from apishield.report.html import render_html
from apishield.report.siem import findings_line
from apishield.report.terminal import render
from apishield.startup import build_engine, install_compiled_cache
from apishield.stateful import State
from apishield.store.database import Store, StoreError
from apishield.store.keys import install_secret

app = typer.Typer(
    name="apishield",
    help="Discover, detect and defend HTTP APIs from their traffic.",
    no_args_is_help=True,
    add_completion=False,
)
spec_app = typer.Typer(help="Export and compare OpenAPI specifications.", no_args_is_help=True)
app.add_typer(spec_app, name="spec")

# Piped into a file or a pager, the report gets room for its columns instead of 80 characters.
console = Console(width=None if sys.stdout.isatty() else 140)
err = Console(stderr=True)
_PROGRESS_EVERY = 16_384

ConfigOption = Annotated[
    Path | None, typer.Option("--config", "-c", help="YAML configuration file.", exists=True)
]
DbOption = Annotated[
    str | None, typer.Option("--db", help="Store URL (default: store.url from the config).")
]


def _fail(message: str, code: int = 2) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)


def _config(path: Path | None) -> Config:
    try:
        config = load_config(path)
    except ConfigError as exc:
        _fail(str(exc))
    return config


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
    config = _config(config_file)
    updates: dict[str, Any] = {}
    if fmt is not None:
        if fmt not in FORMATS:
            _fail(f"--format {fmt!r} is not known; use one of: {', '.join(FORMATS)}")
        updates["ingest"] = config.ingest.model_copy(update={"format": fmt})
    if trusted_proxy:
        updates["identity"] = config.identity.model_copy(
            update={"trusted_proxies": [_network(p) for p in trusted_proxy]}
        )
    config = config.model_copy(update=updates)
    api_spec = _spec(spec or config.inventory.spec)
    store = _store(db or config.store.url)
    engine = _engine(config, api_spec)

    started = time.time()
    stats = IngestStats()
    sink = _open_findings(findings)
    try:
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
        ),
    )
    try:
        run_id = store.save_analysis(document)
    except StoreError as exc:
        _fail(str(exc), 1)
    render(document, console, top=top)
    _write_outputs(document, html, json_out, openapi, engine)
    console.print(f"Saved as run {run_id} in {store.url}")


def _open_findings(path: Path | None) -> BinaryIO | None:
    if path is None:
        return None
    try:
        return path.open("wb")
    except OSError as exc:
        _fail(f"cannot write findings to {path}: {exc.strerror}")


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
                _fail(str(exc))
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
        _write_spec(openapi, export_openapi(endpoints, title="Learned API", version="observed"))


@spec_app.command("export")
def spec_export(
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Where to write OpenAPI 3.1 (.json or .yaml).")
    ],
    db: DbOption = None,
    config_file: ConfigOption = None,
    title: Annotated[
        str, typer.Option(help="info.title of the exported document.")
    ] = "Learned API",
) -> None:
    """Export the inventory of the latest stored analysis as OpenAPI 3.1."""
    endpoints = _stored_endpoints(db, config_file)
    _write_spec(out, export_openapi(endpoints, title=title, version="observed"))


@spec_app.command("diff")
def spec_diff(
    spec: Annotated[Path, typer.Argument(help="The documented OpenAPI/Swagger file.")],
    db: DbOption = None,
    config_file: ConfigOption = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the full diff as JSON.")
    ] = None,
) -> None:
    """Compare the latest stored inventory with a documented specification."""
    diff = diff_spec(_stored_endpoints(db, config_file), _load_spec(spec))
    console.print(diff.summary())
    if json_out is not None:
        json_out.write_bytes(orjson.dumps(diff.to_dict(), option=orjson.OPT_INDENT_2))


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
        _fail(f"--format {fmt!r} is not known; use one of: {', '.join(SIM_FORMATS)}")
    options = Options(out, fmt, days, subscribers, scenarios, seed, start, truth, requests)
    columns = (TextColumn("simulating"), BarColumn(), TextColumn("{task.fields[count]:,} requests"))
    with Progress(*columns, TimeElapsedColumn(), console=err, disable=quiet, transient=True) as bar:
        task = bar.add_task("simulate", total=1.0, count=0)

        def progress(count: int, share: float) -> None:
            bar.update(task, completed=share, count=count)

        try:
            summary = run_simulation(options, progress)
        except ValueError as exc:
            _fail(str(exc))
    rate = summary.requests / max(summary.seconds, 1e-9)
    console.print(
        f"Wrote {summary.requests:,} requests to {out} in {summary.seconds:.1f}s "
        f"({rate:,.0f} requests/s); the documented spec is {summary.spec}"
    )
    if truth is not None:
        console.print(f"Ground truth: {truth}")


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
) -> None:
    """Guard any HTTP API as a reverse proxy: refuse before the upstream answers, learn after."""
    from apishield.inline.asgi import ApishieldMiddleware
    from apishield.inline.guard import Guard
    from apishield.inline.proxy import ReverseProxy, Upstream, UpstreamError
    from apishield.inline.server import ListenError, Server, parse_listen
    from apishield.state.factory import open_backends

    config = _config(config_file)
    try:
        target = Upstream.parse(
            upstream,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            rewrite_host=rewrite_host,
        )
        host, port = parse_listen(listen)
    except (UpstreamError, ListenError) as exc:
        _fail(str(exc))
    backends = open_backends(config)
    engine = _engine(config, _spec(spec or config.inventory.spec), backends.state)
    guard = Guard.around(engine, config, backends)
    try:
        server = Server(ApishieldMiddleware(ReverseProxy(target), guard), host, port, grace=grace)
    except ListenError as exc:
        guard.close()
        _fail(str(exc))
    err.print(
        f"apishield proxy: {server.url} -> {target.base} "
        f"(enforce: {config.enforce.mode}); Ctrl+C or SIGTERM stops"
    )
    try:
        server.serve_until_signal()
    finally:
        guard.close()
    stats = guard.stats()
    offload = guard.offload.stats() if guard.offload is not None else None
    sent = f", {offload['sent']:,} sent to {offload['stream']}" if offload else ""
    err.print(
        f"stopped: {stats['processed']:,} exchanges analysed here{sent}, "
        f"{stats['dropped']:,} dropped, decisions {stats['decisions']}"
    )


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

    config = _config(config_file)
    if db is not None:
        config = config.model_copy(update={"store": StoreConfig(url=db)})
    api_spec = _spec(spec or config.inventory.spec)
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
        _fail(str(exc))
    except StoreError as exc:
        _fail(str(exc), 1)
    stats = report.stats
    saved = f"latest run {report.run_ids[-1]}" if report.run_ids else "nothing to save"
    err.print(
        f"stopped: {stats.events:,} exchanges analysed, {stats.skipped:,} malformed, "
        f"{report.claimed:,} taken over from other workers; {saved}"
    )


def _stored_endpoints(db: str | None, config_file: Path | None) -> list[Any]:
    store = _store(db or _config(config_file).store.url)
    run_id = store.latest_run_id()
    if run_id is None:
        _fail(f"no analysis stored in {store.url} yet; run `apishield analyze LOG --db ...` first")
    return [endpoint_from_summary(e) for e in store.load_endpoints(run_id)]


def _write_spec(path: Path, document: dict[str, Any]) -> None:
    if path.suffix in (".yaml", ".yml"):
        import yaml

        path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    else:
        path.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2))
    console.print(f"OpenAPI 3.1: {path}")


def _network(value: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        return ipaddress.ip_network(value, strict=False)
    except ValueError:
        _fail(f"--trusted-proxy {value!r} is not an IP address or CIDR such as 10.0.0.0/8")


blocks_app = typer.Typer(
    help="List, add and lift the blocks every guard enforces (needs state.backend: redis).",
    no_args_is_help=True,
)
app.add_typer(blocks_app, name="blocks")

BlockKind = Annotated[
    str, typer.Argument(help="ip, identity, key (16 hex digits of its keyed hash) or session.")
]
BlockValue = Annotated[
    str, typer.Argument(help="The address, identity, or key/session hash (as in incidents).")
]


def _block_hasher(config: Config) -> Hasher | None:
    """The install secret, needed only where the config hashes IPs or identities."""
    if not (config.identity.hash_ips or config.identity.hash_identities):
        return None
    try:
        return Hasher(install_secret(config.data_dir))
    except (OSError, ValueError) as exc:
        _fail(str(exc))


@blocks_app.command("list")
def blocks_list(
    config_file: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Blocks in force now, the longest-lasting first."""
    from rich.table import Table

    from apishield.state.admin import BlocksError, list_blocks
    from apishield.stateful import StateUnavailable

    config = _config(config_file)
    try:
        blocks = list_blocks(config)
    except BlocksError as exc:
        _fail(str(exc))
    except StateUnavailable as exc:
        _fail(str(exc), 1)
    if as_json:
        for block in blocks:
            ends = None if block.until == float("inf") else block.until
            line = {"kind": block.kind, "value": block.value, "until": ends, "action": block.action}
            typer.echo(orjson.dumps({**line, "reason": block.reason}).decode())
        return
    if not blocks:
        console.print("no blocks in force")
        return
    now = time.time()
    table = Table("kind", "value", "action", "until (UTC)", "left", "reason")
    for block in blocks:
        if block.until == float("inf"):
            until, left = "until removed", "-"
        else:
            until = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(block.until))
            left = f"{(block.until - now) / 60:,.0f} min"
        table.add_row(block.kind, block.value, block.action, until, left, block.reason)
    console.print(table)


@blocks_app.command("add")
def blocks_add(
    kind: BlockKind,
    value: BlockValue,
    config_file: ConfigOption = None,
    seconds: Annotated[
        float | None, typer.Option(help="How long it lasts (default: until removed).", min=1)
    ] = None,
    reason: Annotated[str, typer.Option(help="Why; shown in refusals' logs and listings.")] = (
        "blocked by an operator"
    ),
    action: Annotated[
        str,
        typer.Option(
            help="How it is answered: block (403), tarpit (held enforce.bots.tarpit_seconds, "
            "then 429) or decoy (an empty 200 that never reaches the app)."
        ),
    ] = "block",
) -> None:
    """Block an IP, identity, API key or session in every guard sharing this Redis."""
    from apishield.state.admin import BlocksError, add_block
    from apishield.stateful import StateUnavailable

    config = _config(config_file)
    try:
        block = add_block(
            config,
            kind,
            value,
            seconds=seconds,
            reason=reason,
            hasher=_block_hasher(config),
            action=action,
        )
    except BlocksError as exc:
        _fail(str(exc))
    except StateUnavailable as exc:
        _fail(str(exc), 1)
    span = "until removed" if seconds is None else f"for {seconds:g}s"
    answer = "" if block.action == "block" else f" ({block.action})"
    console.print(f"blocked {block.kind} {block.value} {span}{answer}")


@blocks_app.command("remove")
def blocks_remove(kind: BlockKind, value: BlockValue, config_file: ConfigOption = None) -> None:
    """Lift a block in every guard sharing this Redis."""
    from apishield.state.admin import BlocksError, remove_block
    from apishield.stateful import StateUnavailable

    config = _config(config_file)
    try:
        lifted = remove_block(config, kind, value, _block_hasher(config))
    except BlocksError as exc:
        _fail(str(exc))
    except StateUnavailable as exc:
        _fail(str(exc), 1)
    if not lifted:
        err.print(f"no {kind} block on {value}")
        raise typer.Exit(1)
    console.print(f"lifted the {kind} block on {value}")


def _spec(path: Path | None) -> ApiSpec | None:
    return None if path is None else _load_spec(path)


def _load_spec(path: Path) -> ApiSpec:
    try:
        api_spec = load_spec(path)
    except SpecError as exc:
        _fail(str(exc))
    for warning in api_spec.warnings[:5]:
        err.print(f"[yellow]spec warning:[/] {warning}")
    return api_spec


def _store(url: str) -> Store:
    try:
        store = Store(url)
        store.create()
    except StoreError as exc:
        _fail(str(exc), 1)
    return store


def _engine(config: Config, api_spec: ApiSpec | None, state: State | None = None) -> Engine:
    try:
        return build_engine(config, api_spec, state=state, warn=_warn)
    except ConfigError as exc:
        _fail(str(exc))


def _warn(message: str) -> None:
    err.print(f"[yellow]{message}[/]")


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    install_compiled_cache()
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()

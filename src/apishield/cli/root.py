"""The root `apishield` command and what every command shares: the consoles, the options, and
the steps that turn a bad input into a clear error and exit."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import orjson
import typer
from rich.console import Console

from apishield.config import Config, ConfigError, load_config
from apishield.engine import Engine
from apishield.ingest.openapi import SpecError, load_spec
from apishield.inventory.spec import ApiSpec
from apishield.report.plain import plain
from apishield.startup import build_engine, install_compiled_cache
from apishield.stateful import State
from apishield.store.database import Store, StoreError

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

ConfigOption = Annotated[
    Path | None, typer.Option("--config", "-c", help="YAML configuration file.", exists=True)
]
DbOption = Annotated[
    str | None, typer.Option("--db", help="Store URL (default: store.url from the config).")
]


def fail(message: str, code: int = 2) -> NoReturn:
    err.print(f"[bold red]error:[/] {plain(message)}")
    raise typer.Exit(code)


def read_config(path: Path | None) -> Config:
    try:
        config = load_config(path)
    except ConfigError as exc:
        fail(str(exc))
    return config


def write_spec(path: Path, document: dict[str, Any]) -> None:
    if path.suffix in (".yaml", ".yml"):
        import yaml

        path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    else:
        path.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2))
    console.print(f"OpenAPI 3.1: {path}")


def optional_spec(path: Path | None) -> ApiSpec | None:
    return None if path is None else read_spec(path)


def read_spec(path: Path) -> ApiSpec:
    try:
        api_spec = load_spec(path)
    except SpecError as exc:
        fail(str(exc))
    for warning in api_spec.warnings[:5]:
        err.print(f"[yellow]spec warning:[/] {plain(warning)}")
    return api_spec


def open_store(url: str) -> Store:
    try:
        store = Store(url)
        store.create()
    except StoreError as exc:
        fail(str(exc), 1)
    return store


def engine_for(config: Config, api_spec: ApiSpec | None, state: State | None = None) -> Engine:
    try:
        return build_engine(config, api_spec, state=state, warn=warn)
    except ConfigError as exc:
        fail(str(exc))


def warn(message: str) -> None:
    err.print(f"[yellow]{plain(message)}[/]")


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    install_compiled_cache()
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)

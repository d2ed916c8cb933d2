"""`apishield spec export` and `apishield spec diff`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from apishield.cli.root import (
    ConfigOption,
    DbOption,
    console,
    fail,
    open_store,
    read_config,
    read_spec,
    spec_app,
    write_spec,
)
from apishield.inventory.diff import diff_spec
from apishield.inventory.endpoint import endpoint_from_summary
from apishield.inventory.export import export_openapi


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
    write_spec(out, export_openapi(endpoints, title=title, version="observed"))


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
    diff = diff_spec(_stored_endpoints(db, config_file), read_spec(spec))
    console.print(diff.summary())
    if json_out is not None:
        json_out.write_bytes(orjson.dumps(diff.to_dict(), option=orjson.OPT_INDENT_2))


def _stored_endpoints(db: str | None, config_file: Path | None) -> list[Any]:
    store = open_store(db or read_config(config_file).store.url)
    run_id = store.latest_run_id()
    if run_id is None:
        fail(f"no analysis stored in {store.url} yet; run `apishield analyze LOG --db ...` first")
    return [endpoint_from_summary(e) for e in store.load_endpoints(run_id)]

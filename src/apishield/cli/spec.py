"""`apishield spec export`, `apishield spec diff` and `apishield spec audit`."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated, Any, Literal

import orjson
import typer
from rich.table import Table

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
from apishield.exchange import Severity
from apishield.inventory.audit import AuditFinding, audit
from apishield.inventory.diff import diff_spec
from apishield.inventory.endpoint import endpoint_from_summary
from apishield.inventory.export import export_openapi
from apishield.report.sarif import sarif_log


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


SeverityName = Literal["critical", "high", "medium", "low", "off"]
_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan"}


@spec_app.command("audit")
def spec_audit(
    spec: Annotated[Path, typer.Argument(help="The OpenAPI/Swagger file to audit.")],
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write every finding as JSON.")
    ] = None,
    fail_on: Annotated[
        str,
        typer.Option(
            help="Exit with status 1 when a finding is at least this severe "
            "(critical, high, medium, low; off never fails): for CI."
        ),
    ] = "off",
    sarif: Annotated[
        Path | None,
        typer.Option(help="Write SARIF 2.1.0, for code-scanning views (GitHub, GitLab, IDEs)."),
    ] = None,
    top: Annotated[int, typer.Option(help="Findings to list in the terminal.")] = 40,
) -> None:
    """Audit a specification before any traffic: operations anyone may call, guessable IDs,
    secrets and personal data in answers, open request bodies, unbounded pages, old versions."""
    levels = {"critical", "high", "medium", "low", "off"}
    if fail_on not in levels:
        fail(f"--fail-on {fail_on!r} is not a severity; use one of: {', '.join(sorted(levels))}")
    api = read_spec(spec)
    findings = audit(api)
    _print_audit(findings, len(api.operations), top)
    if json_out is not None:
        document = {
            "spec": str(spec),
            "operations": len(api.operations),
            "findings": [f.as_dict() for f in findings],
        }
        json_out.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2))
        console.print(f"JSON: {json_out}")
    if sarif is not None:
        sarif.write_bytes(
            orjson.dumps(sarif_log(findings, spec.as_posix()), option=orjson.OPT_INDENT_2)
        )
        console.print(f"SARIF: {sarif}")
    if fail_on != "off" and any(f.severity >= Severity[fail_on.upper()] for f in findings):
        raise typer.Exit(1)


def _print_audit(findings: list[AuditFinding], operations: int, top: int) -> None:
    counts = Counter(f.severity.label for f in findings)
    shown = ", ".join(
        f"{counts[s]} {s}" for s in ("critical", "high", "medium", "low") if counts[s]
    )
    console.print(f"{operations} operations, {len(findings)} findings ({shown or 'none'})")
    table = Table("severity", "finding", "operation", "why", "OWASP", show_lines=False)
    for finding in findings[:top]:
        label = finding.severity.label
        table.add_row(
            f"[{_STYLE.get(label, '')}]{label}[/]",
            finding.title,
            f"{finding.method} {finding.path}",
            finding.detail,
            finding.category,
        )
    if findings:
        console.print(table)
    if len(findings) > top:
        console.print(f"... and {len(findings) - top} more (--top, or --json for all)")


def _stored_endpoints(db: str | None, config_file: Path | None) -> list[Any]:
    store = open_store(db or read_config(config_file).store.url)
    run_id = store.latest_run_id()
    if run_id is None:
        fail(f"no analysis stored in {store.url} yet; run `apishield analyze LOG --db ...` first")
    return [endpoint_from_summary(e) for e in store.load_endpoints(run_id)]

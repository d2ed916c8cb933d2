"""The terminal summary after `apishield analyze`: the riskiest endpoints first."""

from __future__ import annotations

import datetime as dt
from typing import Any

from rich.console import Console
from rich.table import Table

from apishield.detect.clock import LEAP
from apishield.report.plain import plain

_LEVEL_STYLE = {"high": "bold red", "medium": "yellow", "low": "green"}
_STATE_STYLE = {"shadow": "magenta", "zombie": "bold red", "documented": "green"}


def render(document: dict[str, Any], console: Console, *, top: int = 25) -> None:
    run, summary = document["run"], document["summary"]
    console.print(
        f"[bold]{run['events']:,}[/] events from {len(run['sources'])} source(s) in "
        f"{run['seconds']:.1f}s ({run['events_per_second']:,}/s); "
        f"[bold]{summary['endpoints']}[/] {_plural(summary['endpoints'], 'endpoint')} on "
        f"{summary['hosts']} {_plural(summary['hosts'], 'host')}"
    )
    if summary.get("overflow_requests"):
        console.print(
            f"[bold yellow]Endpoint cap reached:[/] past {summary['endpoint_cap']:,} endpoints, "
            f"{summary['overflow_requests']:,} requests were counted under /{{overflow}}, "
            "not as endpoints of their own"
        )
    states = ", ".join(f"{n} {state}" for state, n in sorted(summary["by_state"].items()))
    console.print(f"Status: {states}; {summary['deprecated']} deprecated")
    coverage = document.get("coverage")
    if coverage:
        console.print(
            f"Documentation: {coverage['documented_percent']}% of observed endpoints documented; "
            f"{coverage['spec_operations_used']}/{coverage['spec_operations']} spec operations "
            f"used ({len(coverage['unused_operations'])} documented but unused)"
        )
    audited = document.get("spec_audit")
    if audited:
        serious = [f for f in audited if f["severity"] in ("critical", "high")]
        used = sum(1 for f in serious if f["requests"])
        console.print(
            f"Spec audit: {len(audited)} findings, {len(serious)} high or worse "
            f"({used} on operations the traffic used); `apishield spec audit` lists them"
        )
    if summary["data_classes"]:
        classes = ", ".join(f"{c} ({n:,})" for c, n in summary["data_classes"].items())
        console.print(f"Sensitive data returned: {classes}")
    if summary["unauthenticated_with_personal_data"]:
        console.print(
            f"[bold red]{summary['unauthenticated_with_personal_data']} endpoint(s) return "
            "personal data without authentication[/]"
        )
    hosts = {e["host"] for e in document["endpoints"]}
    table = _endpoint_table(document["endpoints"][:top], len(document["endpoints"]), hosts)
    console.print(table)
    _findings(document["findings"], console, top)
    _incidents(document.get("incidents"), console, top)
    _problems(run, console)


_SEVERITY_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "green"}


def _findings(findings: dict[str, Any], console: Console, top: int) -> None:
    levels = findings["threat_levels"]
    console.print(
        "Requests by threat level: "
        f"[red]{levels['high']:,} high[/], [yellow]{levels['medium']:,} medium[/], "
        f"{levels['low']:,} low"
    )
    rules = findings["rules"]
    if not rules:
        return
    table = Table(title=f"Findings (top {min(top, len(rules))} of {len(rules)} rules)", expand=True)
    table.add_column("Severity", no_wrap=True)
    table.add_column("Rule", ratio=3, overflow="fold")
    table.add_column("Requests", justify="right", no_wrap=True)
    table.add_column("Top endpoint", ratio=3, overflow="fold")
    table.add_column("Top actor", ratio=2, overflow="fold")
    for rule in rules[:top]:
        severity = rule["severity"]
        table.add_row(
            f"[{_SEVERITY_STYLE.get(severity, 'default')}]{severity}[/]",
            f"{plain(rule['title'])} [dim]{plain(rule['rule_id'])}[/]",
            f"{rule['requests']:,}",
            plain(next(iter(rule["endpoints"]), "-")),
            plain(next(iter(rule["actors"]), "-")),
        )
    console.print(table)


def _incidents(incidents: dict[str, Any] | None, console: Console, top: int) -> None:
    if not incidents or not incidents["total"]:
        console.print("Incidents: none")
        return
    counts = ", ".join(f"{n} {level}" for level, n in incidents["by_severity"].items() if n)
    items = incidents["items"]
    table = Table(title=f"Incidents ({counts}; top {min(top, len(items))})", expand=True)
    table.add_column("Severity", no_wrap=True)
    table.add_column("Incident", ratio=3, overflow="fold")
    table.add_column("OWASP", no_wrap=True)
    table.add_column("Actors", ratio=2, overflow="fold")
    table.add_column("Endpoints", ratio=3, overflow="fold")
    table.add_column("First seen (UTC)", no_wrap=True)
    for incident in items[:top]:
        severity = incident["severity"]
        actors = list(incident["actors"])
        more = f" +{len(actors) - 2}" if len(actors) > 2 else ""
        table.add_row(
            f"[{_SEVERITY_STYLE.get(severity, 'default')}]{severity}[/]",
            f"{plain(incident['title'])} [dim]{plain(', '.join(incident['rules']))}[/]",
            plain(incident["category"]),
            plain(", ".join(actors[:2]) + more),
            plain(next(iter(incident["endpoints"]), "-")),
            _utc(incident["first_seen"]),
        )
    console.print(table)


def _utc(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def _endpoint_table(endpoints: list[dict[str, Any]], total: int, hosts: set[str]) -> Table:
    """With one host, its name goes in the title so the templates get the width; the status
    column appears only when there is something to tell (a spec was given, or a zombie)."""
    single = next(iter(hosts)) if len(hosts) == 1 else None
    where = f" on {plain(single)}" if single else ""
    show_state = any(e["state"] != "undocumented" or e["deprecated"] for e in endpoints)
    table = Table(title=f"Endpoints by risk{where} (top {len(endpoints)} of {total})", expand=True)
    table.add_column("Risk", justify="right", no_wrap=True)
    table.add_column("Endpoint", overflow="fold", ratio=4)
    if show_state:
        table.add_column("Status", no_wrap=True)
    table.add_column("Auth", ratio=2)
    table.add_column("Data classes", ratio=4)
    table.add_column("Requests", justify="right", no_wrap=True)
    table.add_column("p95 ms", justify="right", no_wrap=True)
    for e in endpoints:
        risk = e["risk"]
        auth = _auth(e)
        state = e["state"] + (" (deprecated)" if e["deprecated"] and e["state"] != "zombie" else "")
        cells = [
            f"[{_LEVEL_STYLE[risk['level']]}]{risk['score']}[/]",
            plain(f"{e['method']} {'' if single else e['host']}{e['template']}"),
            f"[{_STATE_STYLE.get(e['state'], 'default')}]{state}[/]",
            auth,
            plain(", ".join(e["data_classes"]) or "-"),
            f"{e['requests']:,}",
            "-" if e["latency_p95_ms"] is None else f"{e['latency_p95_ms']:g}",
        ]
        if not show_state:
            del cells[2]
        table.add_row(*cells)
    return table


def _plural(count: int, noun: str) -> str:
    return noun if count == 1 else noun + "s"


def _auth(endpoint: dict[str, Any]) -> str:
    schemes = plain(", ".join(sorted(k for k in endpoint["auth"] if k != "none")))
    share = endpoint["unauthenticated_share"]
    if not share:
        return schemes or "-"
    return f"{schemes} ({share:.0%} none)" if schemes else "[bold red]none[/]"


def _problems(run: dict[str, Any], console: Console) -> None:
    if run["skipped"]:
        reasons = plain(", ".join(f"{r}: {n:,}" for r, n in run["skipped_by_reason"].items()))
        console.print(f"[yellow]Skipped {run['skipped']:,} unreadable line(s)[/] ({reasons})")
    if run["partial"]:
        reasons = plain(", ".join(f"{r}: {n:,}" for r, n in run["partial_by_reason"].items()))
        console.print(
            f"[yellow]Left out {run['partial']:,} unreadable part(s) of analysed exchanges[/] "
            f"({reasons}); a body left out was not looked at for data classes"
        )
    if run["skipped"] or run["partial"]:
        for error in run["errors"][:5]:
            source, reason = plain(error["source"]), plain(error["reason"])
            console.print(f"  {source} line {error['line']}: {reason}")
    if run.get("suspect_times"):
        first = dt.datetime.fromtimestamp(run["first_suspect_time"], dt.UTC).strftime(
            "%Y-%m-%d %H:%M"
        )
        console.print(
            f"[yellow]{run['suspect_times']:,} exchange(s) dated more than {LEAP / 3600:.0f} h "
            f"from the traffic around them[/] (the first: {first} UTC); detectors took them at "
            "the time of their neighbours, and the clock did not move"
        )
    for stage, count in run["stage_errors"].items():
        console.print(f"[red]Stage {stage} failed on {count:,} exchange(s); see the log[/]")

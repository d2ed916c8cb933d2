"""The HTML report: one self-contained file an engineer can open anywhere, or attach to a ticket."""

from __future__ import annotations

import datetime as dt
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from apishield.inventory.classify import PERSONAL

_env = Environment(
    loader=PackageLoader("apishield.report", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _when(epoch: float | None) -> str:
    if epoch is None:
        return "-"
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


_env.filters["when"] = _when


def render_html(document: dict[str, Any]) -> str:
    endpoints = document["endpoints"]
    return _env.get_template("report.html.j2").render(
        doc=document,
        run=document["run"],
        summary=document["summary"],
        coverage=document.get("coverage"),
        spec_audit=document.get("spec_audit"),
        findings=document.get("findings"),
        incidents=document.get("incidents"),
        endpoints=endpoints,
        lifecycle=[e for e in endpoints if e["state"] in ("shadow", "zombie") or e["deprecated"]],
        exposed=[
            e
            for e in endpoints
            if e["unauthenticated_share"] >= 0.5 and PERSONAL.intersection(e["data_classes"])
        ],
    )

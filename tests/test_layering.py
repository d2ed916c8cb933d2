"""The import rule of DESIGN.md, checked: analysis is sans-IO and core depends on nothing."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).parents[1] / "src" / "apishield"
CORE = {
    "exchange",
    "pipeline",
    "config",
    "privacy",
    "testing",
    "stateful",
    "limits",
    "retry_after",
    "jwt_tokens",
    "controls",
    "__init__",
}
ALLOWED: dict[str, set[str]] = {
    "core": {"core"},
    "normalise": {"core", "normalise"},
    # normalise.segments: what a value looks like, so a JSON key or parameter name that is one
    # (a map keyed by phone numbers) is kept by its kind
    "inventory": {"core", "inventory", "normalise.segments"},
    # normalise.segments: what a path segment is, so counts keep routes without their values
    "checks": {"core", "checks", "normalise.segments"},
    "ingest": {"core", "ingest", "inventory.spec"},
    "store": {"core", "store"},
    "detect": {"core", "detect"},
    "enforce": {"core", "enforce"},
    "state": {"core", "state"},
    "facts": {"core", "inventory", "checks"},
    # normalise.segments: endpoints named as reports name them, without their paths' values
    "endpoint_roles": {"core", "inventory", "detect", "normalise.segments"},
    "engine": {
        "core",
        "normalise",
        "inventory",
        "checks",
        "detect",
        "state",
        "facts",
        "endpoint_roles",
        "enforce",
        "engine",
    },
    "report": {"core", "engine", "inventory", "checks", "detect", "report", "normalise.segments"},
    "sim": {"core", "ingest", "sim"},
    # normalise.segments: a finding's alert names its route without the path's values
    "alert": {"core", "alert", "normalise.segments"},
    # The API reads the store; its ingest route parses apishield JSONL with the ingest reader.
    "api": {"core", "store", "ingest", "api"},
    "dashboard": {"core", "dashboard"},
}
# Start-up wiring (the on-disk caches analysis uses) may import every part but the CLI and
# in-line defence, which both call it, so that they set a process up alike.
ALLOWED["startup"] = {part for allowed in ALLOWED.values() for part in allowed} | {"startup"}
# The stream worker is wiring too (stream, engine, store), started by the CLI.
ALLOWED["worker"] = {part for allowed in ALLOWED.values() for part in allowed} | {"worker"}
# In-line defence is wiring, like the CLI: it runs the engine and the policy in an app and may
# import every part but the CLI.
ALLOWED["inline"] = {part for allowed in ALLOWED.values() for part in allowed} | {"inline"}
# The server is wiring too: live analysis, alerts, the API and dashboard, over HTTP (inline's
# uvicorn server); and the demo wires the server, the proxy and the simulator together.
ALLOWED["server"] = {part for allowed in ALLOWED.values() for part in allowed} | {"server"}
ALLOWED["demo"] = {part for allowed in ALLOWED.values() for part in allowed} | {"demo"}
PURE = ("normalise", "inventory", "checks", "detect", "enforce")
IO_MODULES = {
    "os",
    "io",
    "socket",
    "gzip",
    "pathlib",
    "shutil",
    "subprocess",
    "sqlalchemy",
    "httpx",
    "time",
}


def _part(module: str) -> str:
    """Which layer an apishield module belongs to."""
    name = module.removeprefix("apishield").lstrip(".")
    head = name.split(".")[0] if name else "__init__"
    if head == "__main__":
        return "cli"  # `python -m apishield`, the command itself
    if head in CORE:
        return "core"
    if name in SHARED:
        return name
    return head


SHARED = {"inventory.spec": "inventory", "normalise.segments": "normalise"}
"""Modules other layers may import on their own, without the rest of their part: the spec
model, and what a path segment is."""


def _sources() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py"))


def _layer(path: Path) -> str:
    relative = path.relative_to(SRC).with_suffix("")
    return _part("apishield." + ".".join(relative.parts))


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(SRC)))
def test_imports_follow_the_layering(path: Path) -> None:
    layer = _layer(path)
    if layer == "cli":
        return
    allowed = ALLOWED[SHARED.get(layer, layer)]
    for name in _imports(path):
        if not name.startswith("apishield"):
            continue
        target = _part(name)
        base = SHARED.get(target, target)
        assert target in allowed or base in allowed, f"{path.name} ({layer}) imports {name}"


@pytest.mark.parametrize(
    "path",
    [p for p in _sources() if _layer(p).split(".")[0] in PURE],
    ids=lambda p: str(p.relative_to(SRC)),
)
def test_analysis_does_no_io(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for name in _imports(path):
        assert name.split(".")[0] not in IO_MODULES, f"{path.name} imports {name}"
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id != "open", f"{path.name} calls open()"


def test_the_rule_sees_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import os\nfrom apishield.store.database import Store\n")
    assert "os" in _imports(bad)
    assert _part("apishield.store.database") not in ALLOWED["normalise"]
    assert _part("apishield.detect.incidents") not in ALLOWED["enforce"]
    assert _part("apishield.cli") not in ALLOWED["inline"]
    assert _part("apishield.cli") not in ALLOWED["startup"]
    assert _part("apishield.inline.guard") not in ALLOWED["startup"]
    assert _part("apishield.checks.hscache") not in ALLOWED["state"]

"""`mount()` in-process: the page, its files and Chart.js served with strict headers, only from
the whitelists, and the no-charts answer when `make assets` has not run."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from apishield.dashboard import CSP, NO_CHARTS, STATIC, VENDOR, mount


def fetch(app: FastAPI, path: str, method: str = "GET") -> httpx.Response:
    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            return await client.request(method, path)

    return asyncio.run(call())


def dashboard(node_modules: Path) -> FastAPI:
    app = FastAPI()
    mount(app, node_modules=node_modules)
    return app


@pytest.fixture
def chart_js(tmp_path: Path) -> Path:
    """A node_modules with a stand-in Chart.js, and a file beside it that must stay private."""
    dist = tmp_path / "node_modules" / "chart.js" / "dist"
    dist.mkdir(parents=True)
    (dist / "chart.umd.js").write_text("window.Chart = function Chart() {};\n")
    (tmp_path / "node_modules" / "secret.txt").write_text("not for the browser")
    return tmp_path / "node_modules"


def test_the_page_carries_a_strict_policy(chart_js: Path) -> None:
    answer = fetch(dashboard(chart_js), "/")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    assert answer.headers["content-security-policy"] == CSP
    assert "script-src 'self'" in CSP and "unsafe" not in CSP and "http" not in CSP
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert 'id="main"' in answer.text


def test_the_page_has_no_inline_script_and_no_other_origin() -> None:
    html = (STATIC / "index.html").read_text()
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert scripts and all("src=" in tag for tag in scripts)
    assert not re.search(r"<script\b[^>]*>[^<]+</script>", html)
    assert not re.search(r"(src|href)=\"(https?:)?//", html)
    assert not re.search(r"<[^>]+\son[a-z]+=", html)


def test_static_files_are_served_with_their_types(chart_js: Path) -> None:
    app = dashboard(chart_js)
    script = fetch(app, "/static/app.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert script.headers["x-content-type-options"] == "nosniff"
    assert fetch(app, "/static/app.css").headers["content-type"].startswith("text/css")
    assert fetch(app, "/static/favicon.svg").headers["content-type"] == "image/svg+xml"
    assert fetch(app, "/static/app.js", "HEAD").status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/static/missing.js",
        "/static/../__init__.py",
        "/static/..%2f__init__.py",
        "/static/%2e%2e%2f__init__.py",
        "/static/__init__.py",
        "/vendor/secret.txt",
        "/vendor/..%2fsecret.txt",
        "/vendor/chart.js%2f..%2f..%2fsecret.txt",
        "/vendor/chart.umd.js",
    ],
)
def test_nothing_outside_the_whitelists_is_served(chart_js: Path, path: str) -> None:
    answer = fetch(dashboard(chart_js), path)
    assert answer.status_code == 404
    assert "not for the browser" not in answer.text


def test_chart_js_comes_from_node_modules(chart_js: Path) -> None:
    answer = fetch(dashboard(chart_js), "/vendor/chart.js")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/javascript")
    assert answer.text == "window.Chart = function Chart() {};\n"
    assert set(VENDOR) == {"chart.js"}


def test_without_make_assets_the_page_is_told_so(tmp_path: Path) -> None:
    answer = fetch(dashboard(tmp_path / "node_modules"), "/vendor/chart.js")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/javascript")
    assert answer.content == NO_CHARTS
    assert "APISHIELD_NO_CHARTS" in answer.text


def test_every_module_the_page_imports_is_served() -> None:
    """A module named in an import but missing from static/ would break the page in the browser
    only; this finds it without one."""
    served = {path.name for path in STATIC.iterdir()}
    for module in STATIC.glob("*.js"):
        for name in re.findall(r'from "\./([^"]+)"', module.read_text()):
            assert name in served, f"{module.name} imports ./{name}, which static/ lacks"


def test_scripts_never_write_markup() -> None:
    """Data is attacker-shaped: pages build nodes and text, never HTML strings."""
    for module in STATIC.glob("*.js"):
        text = module.read_text()
        for sink in (
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "eval(",
            "new Function",
        ):
            assert sink not in text, f"{module.name} uses {sink}"

"""`mount()` in-process: the page, its files, Chart.js and Swagger UI served with strict headers,
only from the whitelists, the API docs page with no other origin, and the answers when `make
assets` has not run."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from apishield.dashboard import CSP, DOCS_URL, NO_CHARTS, STATIC, VENDOR, apidocs, mount


def fetch(app: FastAPI, path: str, method: str = "GET") -> httpx.Response:
    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            return await client.request(method, path)

    return asyncio.run(call())


def dashboard(node_modules: Path) -> FastAPI:
    app = FastAPI(openapi_url="/api/openapi.json", docs_url=None)
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


@pytest.fixture
def swagger_ui(chart_js: Path) -> Path:
    """The same node_modules with stand-ins for the two files of swagger-ui-dist."""
    dist = chart_js / "swagger-ui-dist"
    dist.mkdir()
    (dist / "swagger-ui-bundle.js").write_text("window.SwaggerUIBundle = function () {};\n")
    (dist / "swagger-ui.css").write_text("#swagger-ui { color: black; }\n")
    (dist / "index.html").write_text("not whitelisted")
    return chart_js


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
        "/vendor/index.html",
        "/vendor/swagger-ui-dist%2findex.html",
    ],
)
def test_nothing_outside_the_whitelists_is_served(swagger_ui: Path, path: str) -> None:
    answer = fetch(dashboard(swagger_ui), path)
    assert answer.status_code == 404
    assert "not for the browser" not in answer.text
    assert "not whitelisted" not in answer.text


def test_chart_js_comes_from_node_modules(chart_js: Path) -> None:
    answer = fetch(dashboard(chart_js), "/vendor/chart.js")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/javascript")
    assert answer.text == "window.Chart = function Chart() {};\n"
    assert set(VENDOR) == {"chart.js", "swagger-ui-bundle.js", "swagger-ui.css"}


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


def test_swagger_ui_comes_from_node_modules(swagger_ui: Path) -> None:
    app = dashboard(swagger_ui)
    script = fetch(app, "/vendor/swagger-ui-bundle.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert script.text == "window.SwaggerUIBundle = function () {};\n"
    style = fetch(app, "/vendor/swagger-ui.css")
    assert style.status_code == 200
    assert style.headers["content-type"].startswith("text/css")
    assert style.text == "#swagger-ui { color: black; }\n"


def test_the_api_docs_load_nothing_from_another_origin(swagger_ui: Path) -> None:
    answer = fetch(dashboard(swagger_ui), DOCS_URL)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    assert "SwaggerUIBundle(" in answer.text
    assert "'/api/openapi.json'" in answer.text
    assert not re.search(r"https?:|//[a-z]", answer.text, re.IGNORECASE)
    urls = re.findall(r'(?:src|href)="([^"]+)"', answer.text)
    assert sorted(urls) == [
        "/static/favicon.svg",
        "/vendor/swagger-ui-bundle.js",
        "/vendor/swagger-ui.css",
    ]
    assert '"validatorUrl": null' in answer.text


def test_the_api_docs_allow_only_their_own_inline_script(swagger_ui: Path) -> None:
    answer = fetch(dashboard(swagger_ui), DOCS_URL)
    policy = answer.headers["content-security-policy"]
    inline = re.findall(r"<script>(.*?)</script>", answer.text, re.DOTALL)
    assert len(inline) == 1
    digest = base64.b64encode(hashlib.sha256(inline[0].encode()).digest()).decode()
    script_src = next(d for d in policy.split("; ") if d.startswith("script-src "))
    assert script_src == f"script-src 'self' 'sha256-{digest}'"
    assert "unsafe" not in policy and "http" not in policy and "*" not in policy
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy


def test_a_page_without_inline_script_is_refused_a_policy() -> None:
    with pytest.raises(ValueError, match="INLINE_SCRIPT"):
        apidocs.docs_csp("<html><script src='/vendor/x.js'></script></html>")


@pytest.mark.parametrize("installed", [False, True])
def test_without_make_assets_the_api_docs_say_so(chart_js: Path, installed: bool) -> None:
    """Neither file of swagger-ui-dist, or one only: the page names the fix and the document."""
    if installed:
        dist = chart_js / "swagger-ui-dist"
        dist.mkdir()
        (dist / "swagger-ui.css").write_text("")
    app = dashboard(chart_js)
    answer = fetch(app, DOCS_URL)
    assert answer.status_code == 200
    assert answer.headers["content-security-policy"] == CSP
    assert "<code>make assets</code>" in answer.text
    assert '<a href="/api/openapi.json">' in answer.text
    assert "<script" not in answer.text
    missing = fetch(app, "/vendor/swagger-ui-bundle.js")
    assert missing.status_code == 404
    assert "make assets" in missing.json()["detail"]


def test_the_api_docs_follow_the_apps_document_and_need_one(chart_js: Path) -> None:
    app = FastAPI(openapi_url="/spec.json", docs_url=None)
    mount(app, node_modules=chart_js)
    assert '<a href="/spec.json">' in fetch(app, DOCS_URL).text
    bare = FastAPI(openapi_url=None, docs_url=None)
    mount(bare, node_modules=chart_js)
    assert fetch(bare, DOCS_URL).status_code == 404

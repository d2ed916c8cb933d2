"""The web console of `apishield serve`: a single page over the REST API (docs/api.md).

The page, its scripts and its styles carry no data, so they are served without the token; every
datum comes from `/api`, which asks for it. Chart.js comes from npm (`make assets` installs the
version package-lock.json pins into `node_modules/` beside this file) and is served from one
whitelisted file, never from a path the request names. Without it the page still works and says
that its charts need `make assets`. The REST API's docs page (`/api/docs`, `apidocs.py`) loads
Swagger UI the same way.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, HTTPException, status
from fastapi.responses import FileResponse, HTMLResponse, Response

from apishield.dashboard import apidocs

HERE = Path(__file__).parent
STATIC = HERE / "static"
NODE_MODULES = HERE / "node_modules"

CHART_JS = "chart.js"
VENDOR = {CHART_JS: "chart.js/dist/chart.umd.js", **apidocs.VENDOR}
"""The only files of node_modules the pages may load, by the name they ask for."""

DOCS_URL = "/api/docs"

NO_CHARTS = b"window.APISHIELD_NO_CHARTS = true;\n"
"""Answered for a missing Chart.js, so the page explains instead of breaking."""

MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}

CSP = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
"""No inline script, no other origin: data that slipped into the page as markup could not run."""

READ = ["GET", "HEAD"]

HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def mount(app: FastAPI, *, node_modules: Path = NODE_MODULES) -> None:
    """Serve the dashboard on `app`: `/` (the page), `/static/{name}`, `/vendor/{name}` and, when
    `app` has an OpenAPI document, its docs at `/api/docs` (create the app with `docs_url=None`)."""
    files = _static_files()
    if app.openapi_url is not None:
        _mount_docs(app, app.openapi_url, node_modules)

    @app.api_route("/", methods=READ, include_in_schema=False)
    async def index() -> Response:
        return _file(STATIC / "index.html")

    @app.api_route("/static/{name}", methods=READ, include_in_schema=False)
    async def static(name: str) -> Response:
        path = files.get(name)
        if path is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no dashboard file {name!r}")
        return _file(path)

    @app.api_route("/vendor/{name}", methods=READ, include_in_schema=False)
    async def vendor(name: str) -> Response:
        relative = VENDOR.get(name)
        if relative is None:
            known = ", ".join(sorted(VENDOR))
            raise HTTPException(
                status.HTTP_404_NOT_FOUND, f"no vendor file {name!r}; there are: {known}"
            )
        path = node_modules / relative
        if path.is_file():
            return _file(path)
        if name == CHART_JS:
            return Response(NO_CHARTS, media_type=MEDIA_TYPES[".js"], headers=HEADERS)
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"vendor file {name!r} is not installed: run `make assets`"
        )


def _mount_docs(app: FastAPI, openapi_url: str, node_modules: Path) -> None:
    """`/api/docs`: Swagger UI when swagger-ui-dist is installed, else a page saying so."""
    page = apidocs.swagger_page(f"{app.title} API docs", openapi_url)
    headers = {**HEADERS, "Content-Security-Policy": apidocs.docs_csp(page)}
    missing = apidocs.missing_page(openapi_url)
    installed = [node_modules / relative for relative in apidocs.VENDOR.values()]

    @app.api_route(DOCS_URL, methods=READ, include_in_schema=False)
    async def docs() -> Response:
        if all(path.is_file() for path in installed):
            return HTMLResponse(page, headers=headers)
        return HTMLResponse(missing, headers=HEADERS)


def _static_files() -> dict[str, Path]:
    """The page's files by name, listed once: a request picks from them, never builds a path."""
    return {
        path.name: path
        for path in STATIC.iterdir()
        if path.is_file() and path.suffix in MEDIA_TYPES and path.name != "index.html"
    }


def _file(path: Path) -> FileResponse:
    return FileResponse(path, media_type=MEDIA_TYPES[path.suffix], headers=HEADERS)

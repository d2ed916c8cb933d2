"""The web console of `apishield serve`: a single page over the REST API (docs/api.md).

The page, its scripts and its styles carry no data, so they are served without the token; every
datum comes from `/api`, which asks for it. Chart.js comes from npm (`make assets` installs the
version package-lock.json pins into `node_modules/` beside this file) and is served from one
whitelisted file, never from a path the request names. Without it the page still works and says
that its charts need `make assets`.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, HTTPException, status
from fastapi.responses import FileResponse, Response

HERE = Path(__file__).parent
STATIC = HERE / "static"
NODE_MODULES = HERE / "node_modules"

VENDOR = {"chart.js": "chart.js/dist/chart.umd.js"}
"""The only files of node_modules the page may load, by the name it asks for."""

NO_CHARTS = b"window.APISHIELD_NO_CHARTS = true;\n"
"""Answered for a missing vendor file, so the page explains instead of breaking."""

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
    """Serve the dashboard on `app`: `/` (the page), `/static/{name}` and `/vendor/{name}`."""
    files = _static_files()

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
        if not path.is_file():
            return Response(NO_CHARTS, media_type=MEDIA_TYPES[".js"], headers=HEADERS)
        return _file(path)


def _static_files() -> dict[str, Path]:
    """The page's files by name, listed once: a request picks from them, never builds a path."""
    return {
        path.name: path
        for path in STATIC.iterdir()
        if path.is_file() and path.suffix in MEDIA_TYPES and path.name != "index.html"
    }


def _file(path: Path) -> FileResponse:
    return FileResponse(path, media_type=MEDIA_TYPES[path.suffix], headers=HEADERS)

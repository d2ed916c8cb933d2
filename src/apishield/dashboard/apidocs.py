"""The REST API's docs page (`/api/docs`): Swagger UI from npm, never from a CDN.

FastAPI's own page loads Swagger UI from jsdelivr, which breaks offline and lets another origin
run script beside the token's cookie. Here `swagger-ui-dist` (pinned in package.json) is served
from the vendor whitelist, and the page's one inline script, which starts Swagger UI, is allowed
by its SHA-256 in the page's policy rather than by `'unsafe-inline'`.
"""

from __future__ import annotations

import base64
import hashlib
import re
from html import escape

from fastapi.openapi.docs import get_swagger_ui_html

SWAGGER_JS = "swagger-ui-bundle.js"
SWAGGER_CSS = "swagger-ui.css"
VENDOR = {
    SWAGGER_JS: "swagger-ui-dist/swagger-ui-bundle.js",
    SWAGGER_CSS: "swagger-ui-dist/swagger-ui.css",
}
"""The files of swagger-ui-dist the docs page loads, by the name it asks for."""

FAVICON = "/static/favicon.svg"

PARAMETERS = {"validatorUrl": None}
"""Swagger UI would otherwise show a badge fetched from validator.swagger.io."""

INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def swagger_page(title: str, openapi_url: str) -> str:
    """Swagger UI's page as FastAPI writes it, with every asset on this server."""
    page = get_swagger_ui_html(
        openapi_url=openapi_url,
        title=title,
        swagger_js_url=f"/vendor/{SWAGGER_JS}",
        swagger_css_url=f"/vendor/{SWAGGER_CSS}",
        swagger_favicon_url=FAVICON,
        swagger_ui_parameters=PARAMETERS,
    )
    return bytes(page.body).decode()


def docs_csp(page: str) -> str:
    """The dashboard's policy, plus the page's inline scripts by hash: nothing else inline runs."""
    hashes = [_sha256(script) for script in INLINE_SCRIPT.findall(page)]
    if not hashes:
        raise ValueError(
            "the Swagger UI page has no inline <script> to allow; FastAPI's get_swagger_ui_html "
            "changed its markup, so adjust INLINE_SCRIPT in apishield/dashboard/apidocs.py"
        )
    return "; ".join(
        (
            "default-src 'none'",
            "script-src 'self' " + " ".join(f"'{digest}'" for digest in hashes),
            "style-src 'self'",
            "img-src 'self' data:",
            "connect-src 'self'",
            "font-src 'self'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


def missing_page(openapi_url: str) -> str:
    """Answered without swagger-ui-dist: the document itself is still there."""
    link = escape(openapi_url, quote=True)
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8" />\n'
        "<title>apishield API docs</title>\n"
        f'<link rel="icon" href="{FAVICON}" type="image/svg+xml" />\n'
        '<link rel="stylesheet" href="/static/app.css" />\n</head>\n'
        '<body>\n<main id="main" class="docs-missing">\n<h1>API docs</h1>\n'
        "<p>The interactive docs need Swagger UI from npm: run <code>make assets</code> "
        "and restart the server.</p>\n"
        f'<p>The OpenAPI document is at <a href="{link}">{escape(openapi_url)}</a>.</p>\n'
        "</main>\n</body>\n</html>\n"
    )


def _sha256(script: str) -> str:
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    return f"sha256-{digest}"

"""The server's one ASGI app: the REST API with the dashboard mounted beside it."""

from __future__ import annotations

import logging

from fastapi import FastAPI

from apishield.api import ApiParts, create_app

log = logging.getLogger("apishield.server")


def server_app(parts: ApiParts) -> FastAPI:
    app = create_app(parts)
    try:
        from apishield.dashboard import mount
    except ImportError:  # pragma: no cover - the dashboard ships with the package
        log.warning("the dashboard is not installed; serving the API alone")
        return app
    mount(app)
    return app

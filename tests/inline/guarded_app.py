"""A small API behind the ASGI middleware, served by uvicorn in the shared-state tests.

    APISHIELD_CONFIG=config.yaml python -m uvicorn --factory guarded_app:make_app \
        --app-dir tests/inline --port 8001

Paths under `/_` bypass the guard: `/_hits` says how many requests reached the API and whether
the guard is degraded; `POST /_block?ip=…` blocks an address through this process's guard.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from apishield.config import load_config
from apishield.inline.asgi import ApishieldMiddleware, Receive, Scope, Send
from apishield.inline.guard import Guard
from apishield.privacy import Hasher
from apishield.store.keys import install_secret


def make_app() -> object:
    config = load_config(Path(os.environ["APISHIELD_CONFIG"]))
    guard = Guard.from_config(config, Hasher(install_secret(config.data_dir)))
    hits = [0]

    async def item(request: Request) -> JSONResponse:
        hits[0] += 1
        return JSONResponse({"id": request.path_params["id"]})

    async def count(request: Request) -> JSONResponse:
        return JSONResponse({"hits": hits[0], "degraded": guard.degraded})

    async def block(request: Request) -> JSONResponse:
        address = request.query_params["ip"]
        guard.policy.blocks.block("ip", address, time.time() + 600, f"blocked via {os.getpid()}")
        return JSONResponse({"blocked": address})

    api = ApishieldMiddleware(Starlette(routes=[Route("/items/{id}", item)]), guard)
    admin = Starlette(routes=[Route("/_hits", count), Route("/_block", block, methods=["POST"])])

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/_"):
            await admin(scope, receive, send)
        else:
            await api(scope, receive, send)

    return app

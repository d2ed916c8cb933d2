"""The demo telco API as a real ASGI app: the same handler the simulator uses, behind Starlette.

Run it with `uvicorn --factory apishield.sim.telco.app:demo_app --host 127.0.0.1 --port 8080`
(seed and size from APISHIELD_SIM_SEED and APISHIELD_SIM_SUBSCRIBERS). The handler is pure and
fast, so it runs on the event loop without a thread pool; one app instance serves requests one
at a time, in the order they arrive, which is what keeps its answers reproducible.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from starlette.applications import Starlette
from starlette.requests import Request as StarletteRequest
from starlette.responses import Response as StarletteResponse
from starlette.routing import Route

from apishield.exchange import Request
from apishield.sim.telco.api import TelcoApi
from apishield.sim.telco.population import build_population

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def create_app(api: TelcoApi, clock: Callable[[], float] = time.time) -> Starlette:
    """`clock` gives the handler its `now`; tests pass a fixed one."""

    async def endpoint(incoming: StarletteRequest) -> StarletteResponse:
        request = await _request(incoming)
        response = api.handle(request, clock())
        return StarletteResponse(
            content=response.body or b"", status_code=response.status, headers=response.headers
        )

    return Starlette(routes=[Route("/{path:path}", endpoint, methods=METHODS)])


async def _request(incoming: StarletteRequest) -> Request:
    scope = incoming.scope
    raw_path = scope.get("raw_path")
    path = raw_path.decode("latin-1") if isinstance(raw_path, bytes) else scope["path"]
    headers = {name.lower(): value for name, value in incoming.headers.items()}
    body = await incoming.body()
    client = incoming.client
    return Request(
        method=incoming.method,
        path=path.partition("?")[0],
        query=scope.get("query_string", b"").decode("latin-1"),
        headers=headers,
        body=body,
        body_size=len(body),
        scheme=incoming.url.scheme,
        host=headers.get("host", ""),
        peer_ip=client.host if client is not None else "",
        http_version=f"HTTP/{scope.get('http_version', '1.1')}",
    )


def demo_app() -> Starlette:
    """The app over a seeded population, for uvicorn's --factory."""
    seed = int(os.environ.get("APISHIELD_SIM_SEED", "7"))
    size = int(os.environ.get("APISHIELD_SIM_SUBSCRIBERS", "5000"))
    return create_app(TelcoApi(build_population(seed, size)))

"""The FastAPI application: read routes over one run, blocks, ingest, metrics (docs/api.md)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Path, Query, Request, status
from fastapi.responses import JSONResponse, Response

from apishield import __version__
from apishield.api.auth import TokenCheck
from apishield.api.blocks import block_routes
from apishield.api.ingest import ingest_routes
from apishield.api.parts import ApiParts
from apishield.store.views import SEVERITIES, ActorSort, EndpointSort, NotFoundError

Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=2**31)]
Number = Annotated[int, Path(ge=0, le=2**31)]


def _run(request: Request) -> int:
    """The run the API shows (`ApiParts.run_id`); 404 until there is one."""
    parts: ApiParts = request.app.state.parts
    run_id = parts.run_id()
    if run_id is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "nothing has been analysed yet")
    return run_id


Run = Annotated[int, Depends(_run)]


def create_app(parts: ApiParts) -> FastAPI:
    check = TokenCheck(parts.token)
    app = FastAPI(
        title="apishield",
        version=__version__,
        description="Discover, detect and defend HTTP APIs from their traffic.",
        openapi_url="/api/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.state.parts = parts

    @app.exception_handler(NotFoundError)
    async def _not_found(request: Request, exc: NotFoundError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status.HTTP_404_NOT_FOUND)

    @app.get("/api/health", tags=["server"])
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    @app.get("/login", tags=["server"], include_in_schema=False)
    def login(request: Request, token: str) -> Response:
        return check.login(token, secure=request.url.scheme == "https")

    guarded = [Depends(check)]
    app.include_router(_read_routes(parts), prefix="/api/v1", dependencies=guarded)
    app.include_router(block_routes(parts), prefix="/api/v1", dependencies=guarded)
    app.include_router(ingest_routes(parts, check.bearer_only), prefix="/api/v1")

    @app.get("/metrics", tags=["server"], dependencies=guarded)
    def metrics() -> Response:
        if parts.metrics is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "this server keeps no metrics")
        return Response(parts.metrics(), media_type="text/plain; version=0.0.4; charset=utf-8")

    return app


def _read_routes(parts: ApiParts) -> APIRouter:
    router = APIRouter(tags=["analysis"])
    views = parts.views

    @router.get("/overview")
    def overview(run_id: Run) -> dict[str, Any]:
        answer = views.overview(run_id)
        answer["blocks"] = len(parts.blocks.list()) if parts.blocks is not None else 0
        answer["ingest"] = parts.ingest.stats() if parts.ingest is not None else None
        if parts.ingest is not None:
            answer["run"]["live"] = True
        return answer

    @router.get("/endpoints")
    def endpoints(
        run_id: Run,
        sort: EndpointSort = "risk",
        state: str | None = None,
        q: Annotated[str | None, Query(max_length=200)] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> dict[str, Any]:
        return views.endpoints(run_id, sort=sort, state=state, q=q, limit=limit, offset=offset)

    @router.get("/endpoints/{key}")
    def endpoint(run_id: Run, key: str) -> dict[str, Any]:
        return views.endpoint(run_id, key)

    @router.get("/endpoints/{key}/series")
    def series(run_id: Run, key: str) -> dict[str, Any]:
        return views.series(run_id, key)

    @router.get("/incidents")
    def incidents(
        run_id: Run, severity: str | None = None, limit: Limit = 50, offset: Offset = 0
    ) -> dict[str, Any]:
        if severity is not None and severity not in SEVERITIES:
            raise HTTPException(
                422,
                f"severity {severity!r} is not one of {', '.join(SEVERITIES)}",
            )
        return views.incidents(run_id, severity=severity, limit=limit, offset=offset)

    @router.get("/incidents/{number}")
    def incident(run_id: Run, number: Number) -> dict[str, Any]:
        return views.incident(run_id, number)

    @router.get("/actors")
    def actors(
        run_id: Run, sort: ActorSort = "requests", limit: Limit = 50, offset: Offset = 0
    ) -> dict[str, Any]:
        return views.actors(run_id, sort=sort, limit=limit, offset=offset)

    @router.get("/findings")
    def findings(run_id: Run) -> dict[str, Any]:
        return views.findings(run_id)

    @router.get("/spec-audit")
    def spec_audit(run_id: Run, limit: Limit = 50, offset: Offset = 0) -> dict[str, Any]:
        return views.spec_audit(run_id, limit=limit, offset=offset)

    return router

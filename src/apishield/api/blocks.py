"""Blocks as the dashboard manages them: list, add, lift (what `apishield blocks` does)."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request, status
from pydantic import BaseModel, Field, ValidationError

from apishield.api.parts import ApiParts, BlockList
from apishield.limits import Block

MAX_LISTED = 100_000
"""Blocks one page may list: every block an in-memory list holds (a guard's mirror reads all)."""


class NewBlock(BaseModel):
    kind: Literal["ip", "identity", "key", "session"]
    value: str = Field(min_length=1, max_length=256)
    seconds: float | None = Field(default=None, gt=0)
    reason: str = Field(default="blocked from the dashboard", max_length=200)
    action: Literal["block", "tarpit", "decoy"] = "block"


def block_routes(parts: ApiParts) -> APIRouter:
    router = APIRouter(tags=["blocks"])

    def blocks() -> BlockList:
        if parts.blocks is None:
            raise HTTPException(
                status.HTTP_404_NOT_FOUND,
                "this server enforces nothing: run it with the guards' state (state.backend: "
                "redis) or as `apishield demo` to manage blocks here",
            )
        return parts.blocks

    @router.get("/blocks")
    def listed(
        limit: Annotated[int, Query(ge=1, le=MAX_LISTED)] = 500,
        offset: Annotated[int, Query(ge=0, le=2**31)] = 0,
    ) -> dict[str, Any]:
        if parts.blocks is None:
            return {"shared": False, "now": None, "total": 0, "items": []}
        every = parts.blocks.list()
        return {
            "shared": parts.blocks.shared,
            "now": parts.blocks.now(),
            "total": len(every),
            "items": [_shown(b) for b in every[offset : offset + limit]],
        }

    @router.post(
        "/blocks",
        status_code=status.HTTP_201_CREATED,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": NewBlock.model_json_schema()}},
            }
        },
    )
    async def add(request: Request) -> dict[str, Any]:
        # The body is read here, after the token was checked and never beyond MAX_BODY bytes,
        # rather than by FastAPI before its dependencies run.
        block = await _new_block(request)
        try:
            added = blocks().add(block.kind, block.value, block.seconds, block.reason, block.action)
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from exc
        return _shown(added)

    @router.delete("/blocks/{kind}/{value:path}")
    def remove(kind: str, value: str) -> dict[str, bool]:
        try:
            removed = blocks().remove(kind, value)
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from exc
        if not removed:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no {kind} block on {value!r}")
        return {"removed": True}

    return router


MAX_BODY = 4_096


async def _new_block(request: Request) -> NewBlock:
    if request.headers.get("content-type", "").partition(";")[0].strip() != "application/json":
        raise HTTPException(415, "send the block as Content-Type: application/json")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise HTTPException(413, f"a block is described in at most {MAX_BODY} bytes")
    try:
        return NewBlock.model_validate_json(bytes(body))
    except ValidationError as exc:
        raise HTTPException(422, exc.errors(include_url=False, include_input=False)) from exc


def _shown(block: Block) -> dict[str, Any]:
    return {
        "kind": block.kind,
        "value": block.value,
        "action": block.action,
        "reason": block.reason,
        "until": None if math.isinf(block.until) else block.until,
    }

"""`POST /api/v1/ingest`: batches of exchanges (apishield JSONL) from guards and agents.

The body is capped before and after decompression (413), parsed off the event loop, and handed
to the analysis queue whole or not at all: when the queue is full the answer is 503 with
Retry-After, and the sender keeps its batch, so nothing is lost between them. Malformed lines
are counted and the first 20 named by line number; they never fail the batch.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from apishield.api.parts import ApiParts
from apishield.exchange import Exchange
from apishield.ingest.base import ParseOptions
from apishield.ingest.jsonl import JsonlParser
from apishield.ingest.stats import Skip

MAX_ERRORS = 20
RETRY_SECONDS = 1


class TooLargeError(ValueError):
    pass


NDJSON = "application/x-ndjson"


def ingest_routes(parts: ApiParts, bearer_only: Callable[[Request], None]) -> APIRouter:
    router = APIRouter(tags=["ingest"], dependencies=[Depends(bearer_only)])
    parse = JsonlParser(ParseOptions("ingest"))

    @router.post("/ingest", status_code=status.HTTP_202_ACCEPTED)
    async def ingest(request: Request) -> Any:
        if parts.ingest is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "this server does not analyse")
        if request.headers.get("content-type", "").partition(";")[0].strip() != NDJSON:
            raise HTTPException(415, f"send apishield JSONL as Content-Type: {NDJSON}")
        cap = parts.max_batch_bytes
        try:
            body = await _body(request, cap)
            if request.headers.get("content-encoding", "").lower() == "gzip":
                body = _gunzip(body, cap)
        except TooLargeError as exc:
            raise HTTPException(413, str(exc)) from exc
        except zlib.error as exc:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, f"bad gzip body: {exc}") from exc
        exchanges, errors, skipped = await run_in_threadpool(_parse, parse, body)
        if not parts.ingest.fits(len(exchanges)):
            raise HTTPException(413, f"{len(exchanges)} exchanges are more than the server queues")
        if exchanges and not parts.ingest.offer(exchanges):
            return JSONResponse(
                {"detail": "the analysis queue is full; send this batch again"},
                status.HTTP_503_SERVICE_UNAVAILABLE,
                headers={"Retry-After": str(RETRY_SECONDS)},
            )
        if skipped:
            parts.ingest.count_skipped(skipped)
        return {"accepted": len(exchanges), "skipped": skipped, "errors": errors}

    return router


async def _body(request: Request, cap: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise TooLargeError(f"the batch is {declared} bytes; this server takes {cap} at most")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cap:
            raise TooLargeError(f"the batch exceeds {cap} bytes; send smaller batches")
        chunks.append(chunk)
    return b"".join(chunks)


def _gunzip(body: bytes, cap: int) -> bytes:
    """One whole gzip member: a cut or concatenated stream is refused, never half read."""
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
    data = inflate.decompress(body, cap + 1)
    if len(data) > cap or inflate.unconsumed_tail:
        raise TooLargeError(f"the batch inflates past {cap} bytes; send smaller batches")
    if not inflate.eof:
        raise zlib.error("the gzip stream is cut short")
    if inflate.unused_data:
        raise zlib.error("data after the gzip stream: send one gzip member per batch")
    return data


def _parse(parse: JsonlParser, body: bytes) -> tuple[list[Exchange], list[dict[str, Any]], int]:
    exchanges: list[Exchange] = []
    errors: list[dict[str, Any]] = []
    skipped = 0
    for number, line in enumerate(body.splitlines(), 1):
        if not line.strip():
            continue
        try:
            exchanges.append(parse(line, number))
        except Skip as skip:
            skipped += 1
            if len(errors) < MAX_ERRORS:
                errors.append({"line": number, "reason": skip.reason})
    return exchanges, errors, skipped

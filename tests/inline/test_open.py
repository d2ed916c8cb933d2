"""`Guard.open`: the line an app adds, from a YAML file and a spec, in a real FastAPI app."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI, Request

from apishield.config import ConfigError
from apishield.inline import ApishieldMiddleware, Guard

SPEC = Path(__file__).parents[2] / "src" / "apishield" / "sim" / "data" / "telco-openapi.yaml"


def _app(guard: Guard) -> FastAPI:
    app = FastAPI()

    @app.post("/v2/auth/login")
    async def login(request: Request) -> dict[str, str]:
        await request.body()
        return {"access_token": "t", "token_type": "bearer"}

    app.add_middleware(ApishieldMiddleware, guard=guard)
    return app


async def _post(app: FastAPI, body: dict[str, object], ip: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, client=(ip, 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as client:
        return await client.post("/v2/auth/login", json=body)


def test_a_guard_from_files_enforces_its_deny_list_and_the_spec(tmp_path: Path) -> None:
    config = tmp_path / "apishield.yaml"
    config.write_text(
        f"data_dir: {tmp_path / 'home'}\n"
        "enforce:\n"
        "  deny: {ips: [203.0.113.0/24]}\n"
        "  openapi: {endpoints: {'POST /v2/auth/login': block}}\n",
        encoding="utf-8",
    )
    guard = Guard.open(config, spec_file=SPEC)
    try:
        app = _app(guard)
        good = {"username": "ada@example.org", "password": "correct horse"}
        assert asyncio.run(_post(app, good, "198.51.100.7")).status_code == 200
        assert asyncio.run(_post(app, good, "203.0.113.9")).status_code == 403
        escalate = {**good, "role": "admin"}  # a property the spec does not have
        refused = asyncio.run(_post(app, escalate, "198.51.100.7"))
        assert refused.status_code == 403
        assert guard.decisions["enforce.schema"] == 1
    finally:
        guard.close()
    assert (tmp_path / "home").is_dir()  # the install secret was made where the config says


def test_a_bad_configuration_is_an_error_that_names_the_key(tmp_path: Path) -> None:
    config = tmp_path / "apishield.yaml"
    config.write_text("enforce:\n  denny: {}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="deny"):
        Guard.open(config)

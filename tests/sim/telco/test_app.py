"""The demo API as a real ASGI app: the same handler behind Starlette, over HTTP."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import httpx
import orjson
import uvicorn

from apishield.sim.telco.api import TelcoApi
from apishield.sim.telco.app import create_app
from apishield.sim.telco.population import Population, password_of
from apishield.testing import T0


def test_the_app_answers_over_asgi(population: Population) -> None:
    api = TelcoApi(population)
    app = create_app(api, clock=lambda: T0)
    customer = population.subscribers[0]
    other = population.subscribers[1]

    async def session() -> list[int]:
        transport = httpx.ASGITransport(app=app, client=("100.64.1.2", 51000))
        async with httpx.AsyncClient(
            transport=transport, base_url="https://api.telco.example"
        ) as c:
            password = password_of(population.seed, customer.customer_id)
            login = await c.post(
                "/v2/auth/login", json={"username": customer.email, "password": password}
            )
            token = login.json()["access_token"]
            auth = {"authorization": f"Bearer {token}"}
            own = await c.get(f"/v2/customers/{customer.customer_id}", headers=auth)
            assert own.json()["email"] == customer.email
            assert own.headers["content-type"] == "application/json"
            theirs = await c.get(f"/v2/customers/{other.customer_id}", headers=auth)
            bills = await c.get(f"/v2/accounts/{other.account_number}/bills", headers=auth)
            lookup = await c.get(f"/v2/numbers/%2B{customer.lines[0].msisdn[1:]}/lookup")
            page = await c.get("/internal/test/customers", params={"limit": "2"})
            assert len(page.json()["customers"]) == 2
            broken = await c.post("/v2/auth/login", content=b"{")
            missing = await c.delete("/v2/plans")
            return [
                r.status_code for r in (login, own, theirs, bills, lookup, page, broken, missing)
            ]

    assert asyncio.run(session()) == [200, 200, 403, 200, 200, 200, 400, 404]


def test_the_app_serves_http_on_loopback(population: Population) -> None:
    """Uvicorn on 127.0.0.1 and an ephemeral port, a handful of requests, then shut down."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(
        create_app(TelcoApi(population)), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        assert server.started
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            health = client.get("/health")
            plans = client.get("/v2/plans")
            assert (health.status_code, plans.status_code) == (200, 200)
            assert orjson.loads(plans.content)["plans"]
            assert client.get("/.env").status_code == 404
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert not thread.is_alive()

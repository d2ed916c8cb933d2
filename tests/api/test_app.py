"""The REST API in-process (Starlette's test client): token everywhere but health, the shapes of
docs/api.md over a real saved analysis, blocks, and the ingest endpoint's limits."""

from __future__ import annotations

import asyncio
import gzip
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from apishield.api import ApiParts, create_app
from apishield.config import Config
from apishield.exchange import Exchange
from apishield.ingest import IngestStats, read_exchanges
from apishield.ingest.jsonl import exchange_to_jsonl
from apishield.privacy import Hasher
from apishield.report.document import RunInfo, build_document
from apishield.server.blocklist import ManagedBlocks
from apishield.startup import build_engine
from apishield.state.memory_limits import MemoryBlocks
from apishield.store.database import Store
from apishield.store.views import Views
from apishield.testing import make_exchange

TOKEN = "test-token-0123456789-abcdefghijklmnop"


class TestClient:
    """httpx over the app's ASGI interface, synchronously, keeping cookies between calls."""

    __test__ = False

    def __init__(self, app: Any, headers: dict[str, str] | None = None) -> None:
        self.app = app
        self.headers = headers or {}
        self.cookies = httpx.Cookies()

    def request(self, method: str, path: str, **options: Any) -> httpx.Response:
        async def call() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(
                transport=transport,
                base_url="http://127.0.0.1",
                headers=self.headers,
                cookies=self.cookies,
            ) as client:
                answer = await client.request(method, path, **options)
                self.cookies.update(client.cookies)
                return answer

        return asyncio.run(call())

    def get(self, path: str, **options: Any) -> httpx.Response:
        return self.request("GET", path, **options)

    def post(self, path: str, **options: Any) -> httpx.Response:
        return self.request("POST", path, **options)

    def delete(self, path: str, **options: Any) -> httpx.Response:
        return self.request("DELETE", path, **options)


class Sink:
    def __init__(self, room: int = 1_000) -> None:
        self.room = room
        self.got: list[Exchange] = []

    def offer(self, exchanges: Sequence[Exchange]) -> bool:
        if len(self.got) + len(exchanges) > self.room:
            return False
        self.got.extend(exchanges)
        return True

    def fits(self, count: int) -> bool:
        return count <= 1_000

    def count_skipped(self, lines: int) -> None:
        self.skipped = getattr(self, "skipped", 0) + lines

    def stats(self) -> dict[str, Any]:
        return {"queued": len(self.got), "accepted": len(self.got), "skipped": 0, "lag_seconds": 0}


@pytest.fixture(scope="module")
def store(small_traffic: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, int]:
    tmp = tmp_path_factory.mktemp("api")
    engine = build_engine(Config(data_dir=tmp / "home"))
    for exchange in read_exchanges(small_traffic, "jsonl", stats=IngestStats()):
        engine.process(exchange)
    now = time.time()
    document = build_document(engine.result(), RunInfo("analyze", now, now, [], 0, 0, 0, {}, []))
    store = Store(f"sqlite:///{tmp / 'a.db'}")
    store.create()
    return store, store.save_analysis(document, engine.series_points())


@pytest.fixture
def parts(store: tuple[Store, int], tmp_path: Path) -> ApiParts:
    db, run_id = store
    config = Config(data_dir=tmp_path)
    blocks = ManagedBlocks(MemoryBlocks(), config, Hasher(b"k" * 32), time.time, shared=False)
    return ApiParts(
        Views(db),
        TOKEN,
        lambda: run_id,
        ingest=Sink(),
        blocks=blocks,
        metrics=lambda: b"apishield_requests_total 1\n",
        max_batch_bytes=64 * 1024,
    )


NDJSON = {"content-type": "application/x-ndjson"}


@pytest.fixture
def client(parts: ApiParts) -> TestClient:
    return TestClient(create_app(parts), headers={"authorization": f"Bearer {TOKEN}"})


def test_health_is_open_and_everything_else_needs_the_token(parts: ApiParts) -> None:
    anonymous = TestClient(create_app(parts))
    assert anonymous.get("/api/health").json()["status"] == "ok"
    for path in ("/api/v1/overview", "/api/v1/endpoints", "/api/v1/blocks", "/metrics"):
        answer = anonymous.get(path)
        assert answer.status_code == 401, path
        assert "token" in answer.json()["detail"]
    wrong = anonymous.get("/api/v1/overview", headers={"authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert anonymous.get("/login", params={"token": "nope"}).status_code == 401


def test_login_sets_a_strict_httponly_cookie_the_api_accepts(parts: ApiParts) -> None:
    browser = TestClient(create_app(parts))
    answer = browser.get("/login", params={"token": TOKEN})
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert browser.get("/api/v1/overview").status_code == 200


def test_read_routes_answer_the_documented_shapes(client: TestClient) -> None:
    overview = client.get("/api/v1/overview").json()
    assert {"run", "summary", "threat_levels", "incidents", "blocks", "coverage", "ingest"} <= set(
        overview
    )
    endpoints = client.get("/api/v1/endpoints", params={"limit": 3, "sort": "requests"}).json()
    assert len(endpoints["items"]) == 3 and endpoints["total"] > 3
    key = endpoints["items"][0]["id"]
    detail = client.get(f"/api/v1/endpoints/{key}").json()
    assert detail["id"] == key and "params" in detail and "factors" in detail["risk"]
    series = client.get(f"/api/v1/endpoints/{key}/series").json()
    assert sum(series["requests"]) == detail["requests"]
    incidents = client.get("/api/v1/incidents").json()
    assert incidents["total"] > 0
    number = incidents["items"][0]["id"]
    assert client.get(f"/api/v1/incidents/{number}").json()["timeline"]
    assert client.get("/api/v1/actors", params={"sort": "risk"}).json()["items"]
    assert "rules" in client.get("/api/v1/findings").json()
    assert client.get("/api/v1/spec-audit").json() == {"total": 0, "items": []}  # no spec
    assert client.get("/api/v1/endpoints/nope").status_code == 404
    assert client.get("/api/v1/incidents/999999").status_code == 404
    assert client.get("/api/v1/incidents", params={"severity": "bad"}).status_code == 422
    assert client.get("/api/v1/endpoints", params={"limit": 10_000}).status_code == 422
    assert client.get("/api/openapi.json").status_code == 200


def test_blocks_are_added_listed_and_lifted(client: TestClient) -> None:
    added = client.post(
        "/api/v1/blocks", json={"kind": "ip", "value": "203.0.113.9 ", "seconds": 60}
    )
    assert added.status_code == 201 and added.json()["value"] == "203.0.113.9"
    listed = client.get("/api/v1/blocks").json()
    assert [b["value"] for b in listed["items"]] == ["203.0.113.9"] and listed["shared"] is False
    assert (
        client.post("/api/v1/blocks", json={"kind": "ip", "value": "not-an-ip"}).status_code == 422
    )
    assert client.post("/api/v1/blocks", json={"kind": "planet", "value": "x"}).status_code == 422
    assert client.delete("/api/v1/blocks/ip/203.0.113.9").json() == {"removed": True}
    assert client.delete("/api/v1/blocks/ip/203.0.113.9").status_code == 404
    assert client.get("/api/v1/blocks").json()["items"] == []
    for n in range(5):
        added = {"kind": "ip", "value": f"198.51.100.{n}", "seconds": 60 + n}
        assert client.post("/api/v1/blocks", json=added).status_code == 201
    page = client.get("/api/v1/blocks", params={"limit": 2, "offset": 1}).json()
    assert page["total"] == 5
    assert [b["value"] for b in page["items"]] == ["198.51.100.3", "198.51.100.2"]
    assert client.get("/api/v1/blocks", params={"limit": 100_001}).status_code == 422


def _batch(count: int) -> bytes:
    return b"".join(
        exchange_to_jsonl(make_exchange(path=f"/items/{i}", response_body=b"{}"))
        for i in range(count)
    )


def test_ingest_takes_batches_and_counts_bad_lines(client: TestClient, parts: ApiParts) -> None:
    body = _batch(3) + b"not json\n" + b'{"v": 9}\n' + b"\xff\xfe\n"
    answer = client.post("/api/v1/ingest", content=body, headers=NDJSON)
    assert answer.status_code == 202
    result = answer.json()
    assert result["accepted"] == 3 and result["skipped"] == 3
    assert [e["line"] for e in result["errors"]] == [4, 5, 6]
    assert parts.ingest.skipped == 3  # type: ignore[union-attr]
    zipped = client.post(
        "/api/v1/ingest",
        content=gzip.compress(_batch(2)),
        headers={**NDJSON, "content-encoding": "gzip"},
    )
    assert zipped.json()["accepted"] == 2
    assert len(parts.ingest.got) == 5  # type: ignore[union-attr]


def test_ingest_refuses_what_is_too_large_or_cannot_be_queued(
    client: TestClient, parts: ApiParts
) -> None:
    big = b"x" * (65 * 1024)
    assert client.post("/api/v1/ingest", content=big, headers=NDJSON).status_code == 413
    bomb = gzip.compress(b"\n" * (10 * 1024 * 1024))
    answer = client.post(
        "/api/v1/ingest", content=bomb, headers={**NDJSON, "content-encoding": "gzip"}
    )
    assert answer.status_code == 413
    zipped = {**NDJSON, "content-encoding": "gzip"}
    assert client.post("/api/v1/ingest", content=b"garbage", headers=zipped).status_code == 400
    two = gzip.compress(_batch(1)) + gzip.compress(_batch(1))
    assert client.post("/api/v1/ingest", content=two, headers=zipped).status_code == 400
    cut = gzip.compress(_batch(3))[:-12]
    assert client.post("/api/v1/ingest", content=cut, headers=zipped).status_code == 400
    parts.ingest.room = 1  # type: ignore[union-attr]
    full = client.post("/api/v1/ingest", content=_batch(2), headers=NDJSON)
    assert full.status_code == 503 and full.headers["retry-after"] == "1"
    assert parts.ingest.got == []  # type: ignore[union-attr]  # all or nothing


def test_metrics_are_served_as_prometheus_text(client: TestClient) -> None:
    answer = client.get("/metrics")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")


def test_the_cookie_cannot_be_used_from_another_site_or_to_ingest(parts: ApiParts) -> None:
    browser = TestClient(create_app(parts))
    browser.get("/login", params={"token": TOKEN})
    block = {"kind": "ip", "value": "192.0.2.1"}
    other = {"sec-fetch-site": "same-site"}
    assert browser.post("/api/v1/blocks", json=block, headers=other).status_code == 403
    assert browser.delete("/api/v1/blocks/ip/192.0.2.1", headers=other).status_code == 403
    assert browser.get("/api/v1/blocks", headers=other).status_code == 200  # reading is fine
    ours = {"sec-fetch-site": "same-origin"}
    assert browser.post("/api/v1/blocks", json=block, headers=ours).status_code == 201
    assert browser.post("/api/v1/ingest", content=_batch(1), headers=NDJSON).status_code == 401


def test_bodies_are_read_only_after_the_token_and_only_in_their_type(
    client: TestClient, parts: ApiParts
) -> None:
    anonymous = TestClient(create_app(parts))
    huge = b"{" + b" " * 5_000_000 + b"}"
    json_type = {"content-type": "application/json"}
    assert anonymous.post("/api/v1/blocks", content=huge, headers=json_type).status_code == 401
    assert client.post("/api/v1/blocks", content=huge, headers=json_type).status_code == 413
    text = {"content-type": "text/plain"}
    assert client.post("/api/v1/blocks", content=b"{}", headers=text).status_code == 415
    assert client.post("/api/v1/ingest", content=_batch(1), headers=text).status_code == 415
    bad = client.post("/api/v1/blocks", json={"kind": "ip"})
    assert bad.status_code == 422 and "value" in str(bad.json()["detail"])

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from apishield.store.database import Store, StoreError

POSTGRES = os.environ.get(
    "APISHIELD_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def document(endpoints: int = 2) -> dict[str, Any]:
    return {
        "run": {
            "kind": "analyze",
            "started_at": 1.0,
            "finished_at": 2.0,
            "sources": ["a.log"],
            "lines": 10,
            "events": 9,
            "skipped": 1,
            "errors": [{"source": "a.log", "line": 3, "reason": "not JSON"}],
            "stage_errors": {},
        },
        "coverage": None,
        "findings": {
            "threat_levels": {"low": 7, "medium": 0, "high": 2},
            "rules": [
                {
                    "rule_id": "inj.sqli.tokens",
                    "title": "SQL injection",
                    "severity": "high",
                    "category": "API8:2023",
                    "class": "sqli",
                    "requests": 2,
                    "endpoints": {"/e0/{id}": 2},
                    "actors": {"ip:198.51.100.1": 2},
                }
            ],
        },
        "endpoints": [
            {
                "method": "GET",
                "host": "api",
                "template": f"/e{i}/{{id}}",
                "requests": 9,
                "first_seen": 1.0,
                "last_seen": 2.0,
                "statuses": {"200": 9},
                "params": [{"in": "path", "name": "id", "type": "integer", "seen": 9}],
                "state": "shadow",
                "deprecated": False,
                "operation_id": None,
                "reasons": ["not in the API specification"],
                "risk": {
                    "score": 42,
                    "level": "medium",
                    "factors": [{"name": "shadow", "points": 10, "detail": "x"}],
                },
            }
            for i in range(endpoints)
        ],
    }


def round_trip(store: Store) -> None:
    store.create()
    assert store.latest_run_id() is None
    first = store.save_analysis(document(2))
    second = store.save_analysis(document(3))
    assert store.latest_run_id() == second > first
    loaded = store.load_endpoints(second)
    assert [e["template"] for e in loaded] == ["/e0/{id}", "/e1/{id}", "/e2/{id}"]
    assert loaded[0]["risk"]["score"] == 42 and loaded[0]["state"] == "shadow"
    assert loaded[0]["params"][0]["type"] == "integer"
    assert store.load_errors(first) == [{"source": "a.log", "line": 3, "reason": "not JSON"}]
    assert store.load_findings(second) == document()["findings"]


def test_sqlite_round_trip(tmp_path: Path) -> None:
    round_trip(Store(f"sqlite:///{tmp_path}/nested/dir/apishield.db"))


def test_bad_urls_name_the_fix() -> None:
    with pytest.raises(StoreError, match="not a database URL"):
        Store("apishield.db")
    with pytest.raises(StoreError, match="no driver"):
        Store("nosuchdb://x/y")


def test_failed_write_leaves_no_half_run(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path}/a.db")
    store.create()
    broken = document(1)
    del broken["endpoints"][0]["risk"]
    with pytest.raises(KeyError):
        store.save_analysis(broken)
    assert store.latest_run_id() is None


@pytest.fixture
def postgres_url() -> Iterator[str]:
    schema = f"apishield_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = create_engine(POSTGRES)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except OperationalError as exc:
        pytest.skip(f"PostgreSQL is not reachable at {POSTGRES}: {exc.orig}")
    try:
        yield f"{POSTGRES}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.mark.postgres
def test_postgres_round_trip(postgres_url: str) -> None:
    store = Store(postgres_url)
    round_trip(store)
    store.engine.dispose()

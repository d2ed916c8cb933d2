from __future__ import annotations

import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, inspect, text
from sqlalchemy.exc import OperationalError

from apishield.store.database import SQLITE_BUSY_SECONDS, Store, StoreError

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


def hold_write_lock(path: Path) -> sqlite3.Connection:
    """Another process's writer: an exclusive lock on the file until rolled back."""
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")
    return holder


def test_sqlite_waits_longer_than_the_driver_default_for_a_lock(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path}/a.db")
    with store.engine.connect() as conn:
        waits_ms = conn.exec_driver_sql("PRAGMA busy_timeout").scalar_one()
    assert waits_ms == SQLITE_BUSY_SECONDS * 1000 > 5000
    store.engine.dispose()


def test_a_locked_sqlite_store_is_written_once_the_lock_goes(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path}/a.db?timeout=0.05")
    store.create()
    holder = hold_write_lock(tmp_path / "a.db")
    release = threading.Timer(0.6, holder.rollback)
    release.start()
    tries: list[str] = []
    try:
        run_id = store.save_analysis(
            document(), retry_seconds=10, on_retry=lambda reason, wait: tries.append(reason)
        )
    finally:
        release.join()
        holder.close()
    assert store.latest_run_id() == run_id
    assert tries and all("locked" in reason for reason in tries)


def test_a_store_locked_too_long_fails_with_a_short_message(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path}/a.db?timeout=0.05")
    store.create()
    holder = hold_write_lock(tmp_path / "a.db")
    started = time.monotonic()
    try:
        with pytest.raises(StoreError, match="database is locked") as failed:
            store.save_analysis(document(200), retry_seconds=0.5)
    finally:
        holder.close()
    assert time.monotonic() - started < 5
    assert len(str(failed.value)) < 200  # the reason, not the statement and its rows
    assert store.latest_run_id() is None


def test_an_old_layout_is_refused_before_anything_is_made_in_it(tmp_path: Path) -> None:
    old = MetaData()
    Table("runs", old, Column("id", Integer, primary_key=True), Column("kind", String))
    Table("endpoints", old, Column("id", Integer, primary_key=True), Column("run_id", Integer))
    engine = create_engine(f"sqlite:///{tmp_path}/old.db")
    old.create_all(engine)
    with pytest.raises(StoreError, match="older apishield"):
        Store(f"sqlite:///{tmp_path}/old.db").create()
    assert sorted(inspect(engine).get_table_names()) == ["endpoints", "runs"]
    engine.dispose()


def create_together(url: str, processes: int = 8) -> list[BaseException]:
    """Stores opened at the same moment on one empty database, as processes starting together."""
    stores = [Store(url) for _ in range(processes)]
    start = threading.Barrier(processes)
    failures: list[BaseException] = []

    def create(store: Store) -> None:
        start.wait(timeout=10)
        try:
            store.create()
        except BaseException as exc:  # every failure is the test's result
            failures.append(exc)

    threads = [threading.Thread(target=create, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for store in stores:
        store.engine.dispose()
    return failures


def test_sqlite_stores_created_together_all_open(tmp_path: Path) -> None:
    for attempt in range(3):
        url = f"sqlite:///{tmp_path}/race{attempt}.db"
        assert create_together(url) == []
        round_trip(Store(url))


@pytest.mark.postgres
def test_postgres_stores_created_together_all_open(postgres_url: str) -> None:
    assert create_together(postgres_url) == []
    store = Store(postgres_url)
    round_trip(store)
    store.engine.dispose()


def drop_connections(application: str) -> int:
    """What a server restart or an idle timeout does to the store's pooled connections."""
    admin = create_engine(POSTGRES)
    with admin.begin() as conn:
        dropped = conn.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = :name"
            ),
            {"name": application},
        ).scalar_one()
    admin.dispose()
    return int(dropped)


@pytest.mark.postgres
def test_postgres_connections_dropped_by_the_server_are_replaced(postgres_url: str) -> None:
    application = f"apishield_test_{uuid.uuid4().hex[:8]}"
    store = Store(f"{postgres_url}&application_name={application}")
    store.create()
    first = store.save_analysis(document())
    assert drop_connections(application) >= 1
    assert store.latest_run_id() == first  # a read on the dropped connection
    assert drop_connections(application) >= 1
    assert store.save_analysis(document()) > first  # a write on the dropped connection
    store.engine.dispose()

"""The snapshot writer: writes off the analysis thread, the newest snapshot wins, and traffic
buckets survive a store that refuses writes for a while."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from apishield.inventory.series import Point
from apishield.server import snapshots
from apishield.server.snapshots import SnapshotWriter
from apishield.store.database import StoreError


class FakeStore:
    """Records each write; refuses while `down`; holds a write while `gate` is closed."""

    def __init__(self) -> None:
        self.down = False
        self.gate = threading.Event()
        self.gate.set()
        self.written: list[tuple[Mapping[str, Any], list[Point]]] = []

    def replace_run(
        self, run_id: int, document: Mapping[str, Any], series: Sequence[Point]
    ) -> None:
        assert self.gate.wait(10)
        if self.down:
            raise StoreError("cannot write to the store at sqlite:///x.db: disk I/O error")
        self.written.append((document, list(series)))


def _point(minute: int) -> Point:
    return Point(("GET", "api.example.com", "/v2/plans"), minute * 60.0, 60.0, 3, 0, 12.0)


def _writer(store: FakeStore) -> SnapshotWriter:
    return SnapshotWriter(store, 1)  # type: ignore[arg-type]


def test_a_failed_write_keeps_its_buckets_for_the_next_one() -> None:
    store = FakeStore()
    writer = _writer(store)
    store.down = True
    writer.submit({"n": 1}, [_point(1), _point(2)])
    assert writer.wait(10)
    assert writer.failures == 1 and store.written == []
    store.down = False
    writer.submit({"n": 2}, [_point(3)])
    assert writer.wait(10)
    [(document, points)] = store.written
    assert document == {"n": 2}
    assert [p.start for p in points] == [60.0, 120.0, 180.0]
    assert writer.saves == 1
    writer.close(10)


def test_a_newer_snapshot_replaces_a_waiting_one_and_keeps_its_buckets() -> None:
    store = FakeStore()
    writer = _writer(store)
    store.gate.clear()  # the first write is held: the next two wait behind it
    writer.submit({"n": 1}, [_point(1)])
    writer.submit({"n": 2}, [_point(2)])
    writer.submit({"n": 3}, [_point(3)])
    assert not writer.idle
    store.gate.set()
    assert writer.wait(10)
    written = [(document["n"], [p.start for p in points]) for document, points in store.written]
    # The second never reached the store as a document, but its bucket did, with the third.
    assert written in ([(1, [60.0]), (3, [120.0, 180.0])], [(3, [60.0, 120.0, 180.0])])
    writer.close(10)


def test_past_the_cap_the_oldest_buckets_go_and_are_counted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(snapshots, "MAX_CARRIED", 2)
    store = FakeStore()
    writer = _writer(store)
    store.down = True
    writer.submit({"n": 1}, [_point(1), _point(2), _point(3)])
    assert writer.wait(10)
    assert writer.dropped_points == 1
    store.down = False
    writer.submit({"n": 2}, [])
    assert writer.wait(10)
    assert [p.start for p in store.written[0][1]] == [120.0, 180.0]
    writer.close(10)

"""Writes the live analysis's snapshots to the store on a thread of its own.

The analysis thread only builds a snapshot (settling templates on a copy, the report document,
the traffic buckets event time has left behind) and hands it here; writing thousands of
endpoint rows to SQLite or PostgreSQL then no longer holds up analysis. One snapshot waits at
most: a newer one replaces it, its traffic buckets carried over, since each bucket is handed
over once. A write that fails keeps its buckets for the next one (up to `MAX_CARRIED`, the
oldest dropped and counted past that), so a store that is away for a while loses no traffic
history, only freshness.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

from apishield.inventory.series import MAX_CARRIED, Point, keep_newest
from apishield.store.database import Store

log = logging.getLogger("apishield.server")


class SnapshotWriter:
    def __init__(self, store: Store, run_id: int) -> None:
        self.store = store
        self.run_id = run_id
        self.saves = 0
        self.failures = 0
        self.dropped_points = 0
        """Traffic buckets given up because the store refused writes for too long."""
        self.seconds = 0.0
        """How long the last write took."""
        self._next: tuple[Mapping[str, Any], list[Point]] | None = None
        self._carried: list[Point] = []
        self._busy = False
        self._stop = False
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._loop, name="apishield-snapshots", daemon=True)
        self._thread.start()

    @property
    def idle(self) -> bool:
        """Nothing waiting and nothing being written."""
        with self._changed:
            return self._next is None and not self._busy

    def submit(self, document: Mapping[str, Any], points: Sequence[Point]) -> None:
        """Write this snapshot next, instead of any that is still waiting."""
        with self._changed:
            waiting = self._next
            carried = [*waiting[1], *points] if waiting is not None else list(points)
            self._next = (document, carried)
            self._changed.notify_all()

    def wait(self, timeout: float) -> bool:
        """Until every snapshot submitted so far is written (or has failed); False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: self._next is None and not self._busy, timeout)

    def close(self, timeout: float) -> None:
        """Write what waits, then stop."""
        with self._changed:
            self._stop = True
            self._changed.notify_all()
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.error("the last snapshot was not written within %.0f s", timeout)

    def _loop(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._next is not None or self._stop)
                if self._next is None:
                    return
                document, points = self._next
                self._next = None
                self._busy = True
                points = [*self._carried, *points]
                self._carried = []
            began = time.monotonic()
            try:
                self.store.replace_run(self.run_id, document, points)
                written = True
            except Exception:
                written = False
                log.exception("cannot write the live analysis to the store; trying again later")
            with self._changed:
                self.seconds = time.monotonic() - began
                if written:
                    self.saves += 1
                else:
                    self.failures += 1
                    self._carry(points)
                self._busy = False
                self._changed.notify_all()

    def _carry(self, points: list[Point]) -> None:
        """Keep a failed write's buckets for the next one, the newest when there are too many."""
        self._carried, dropped = keep_newest(points, MAX_CARRIED)
        if dropped:
            self.dropped_points += dropped
            log.error("dropping %d traffic buckets the store has not taken", dropped)

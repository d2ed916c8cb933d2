from __future__ import annotations

import threading

import pytest

from apishield.state.memory_limits import MemoryBlocks, MemoryBuckets
from apishield.testing import T0


def test_a_new_bucket_is_full_and_refuses_past_its_burst() -> None:
    buckets = MemoryBuckets()
    takes = [buckets.take("k", T0, rate=1.0, burst=3) for _ in range(4)]
    assert [t.allowed for t in takes] == [True, True, True, False]
    assert [t.remaining for t in takes[:3]] == [2, 1, 0]
    assert takes[3].retry_after == pytest.approx(1.0)


def test_tokens_come_back_at_the_rate_and_never_past_the_burst() -> None:
    buckets = MemoryBuckets()
    for _ in range(3):
        buckets.take("k", T0, rate=2.0, burst=3)
    assert not buckets.take("k", T0 + 0.1, rate=2.0, burst=3).allowed
    half = buckets.take("k", T0 + 0.5, rate=2.0, burst=3)
    assert half.allowed and half.remaining == pytest.approx(0.0)
    later = buckets.take("k", T0 + 100, rate=2.0, burst=3)
    assert later.remaining == pytest.approx(2.0)


def test_a_refused_take_does_not_push_the_reopening_back() -> None:
    buckets = MemoryBuckets()
    buckets.take("k", T0, rate=1.0, burst=1)
    for step in range(5):
        buckets.take("k", T0 + 0.1 * step, rate=1.0, burst=1)
    assert buckets.take("k", T0 + 1.0, rate=1.0, burst=1).allowed


def test_event_time_stepping_back_does_not_drain_the_bucket() -> None:
    buckets = MemoryBuckets()
    buckets.take("k", T0, rate=1.0, burst=2)
    assert buckets.take("k", T0 - 50, rate=1.0, burst=2).allowed


def test_the_budget_forgets_the_least_recently_used_bucket() -> None:
    buckets = MemoryBuckets(max_keys=2)
    for key in ("a", "b", "c"):
        buckets.take(key, T0, rate=0.001, burst=1)
    assert len(buckets) == 2 and buckets.evicted == 1
    assert buckets.take("a", T0, rate=0.001, burst=1).allowed  # forgotten, so full again
    assert not buckets.take("c", T0, rate=0.001, burst=1).allowed


def test_concurrent_takes_never_hand_out_more_than_the_burst() -> None:
    buckets = MemoryBuckets()
    granted: list[bool] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(200):
            allowed = buckets.take("shared", T0, rate=0.0, burst=500).allowed
            with lock:
                granted.append(allowed)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(granted) == 500


def test_blocks_expire_in_event_time() -> None:
    blocks = MemoryBlocks()
    blocks.block("ip", "198.51.100.4", T0 + 60, "manual")
    held = blocks.is_blocked("ip", "198.51.100.4", T0 + 59)
    assert held is not None and held.reason == "manual"
    assert blocks.is_blocked("ip", "198.51.100.4", T0 + 60) is None
    assert blocks.list(T0 + 61) == []


def test_blocking_again_keeps_the_later_expiry() -> None:
    blocks = MemoryBlocks()
    blocks.block("identity", "mallory", T0 + 600, "first")
    blocks.block("identity", "mallory", T0 + 60, "second")
    held = blocks.is_blocked("identity", "mallory", T0 + 300)
    assert held is not None and held.until == T0 + 600 and held.reason == "second"


def test_list_and_unblock() -> None:
    blocks = MemoryBlocks()
    blocks.block("ip", "a", T0 + 10, "r")
    blocks.block("key", "b", T0 + 20, "r")
    blocks.block("ip", "old", T0 - 1, "r")
    assert [(b.kind, b.value) for b in blocks.list(T0)] == [("key", "b"), ("ip", "a")]
    assert blocks.unblock("key", "b") is True
    assert blocks.unblock("key", "b") is False
    assert blocks.is_blocked("key", "b", T0) is None


def test_a_full_block_table_drops_the_block_that_lapses_first() -> None:
    blocks = MemoryBlocks(max_blocks=2)
    blocks.block("ip", "a", T0 + 10, "r")
    blocks.block("ip", "b", T0 + 20, "r")
    blocks.block("ip", "c", T0 + 30, "r")
    assert [b.value for b in blocks.list(T0)] == ["c", "b"]
    blocks.block("ip", "d", T0 + 5, "r")  # lapses before any held block: not worth a slot
    assert blocks.is_blocked("ip", "d", T0) is None

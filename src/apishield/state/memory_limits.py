"""In-memory token buckets and blocks: the default on one machine.

Both are safe to call from several threads (an in-line guard refuses traffic on request threads
while its worker raises blocks), each call being one step under a lock, which is also what a
shared backend does in one atomic script. `MemoryLimits` makes a policy decision's lookups and
takes in one step under both locks.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

from apishield.limits import Block, BlockAction, BlockKind, Blocks, Check, Draw, Limits, Take

DEFAULT_MAX_BUCKETS = 1_000_000
DEFAULT_MAX_BLOCKS = 100_000


class MemoryBuckets:
    """Buckets as `(tokens, updated)` pairs in an LRU of at most `max_keys`.

    A bucket forgotten under pressure comes back full: the least recently used keys are the
    quietest clients, which are also the ones a full bucket fits.
    """

    def __init__(self, max_keys: int = DEFAULT_MAX_BUCKETS) -> None:
        if max_keys < 1:
            raise ValueError(f"max_keys is {max_keys}; it must be at least 1")
        self.max_keys = max_keys
        self.evicted = 0
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, key: str, now: float, rate: float, burst: float, cost: float = 1.0) -> Take:
        with self._lock:
            return self._take(key, now, rate, burst, cost)

    def limits_with(self, blocks: Blocks) -> Limits | None:
        """Both in one step under both locks, when `blocks` are in memory too."""
        return MemoryLimits(self, blocks) if isinstance(blocks, MemoryBlocks) else None

    def _take(self, key: str, now: float, rate: float, burst: float, cost: float) -> Take:
        """`take` with the lock held."""
        held = self._buckets.get(key)
        stamp = now
        if held is None:
            tokens = burst
        else:
            before, updated = held
            # Event time may step back a little (out-of-order logs, a host whose clock is
            # behind another's): never refill negatively, and never move the bucket's time
            # back, or the next take would refill the difference again.
            tokens = min(burst, before + max(0.0, now - updated) * rate)
            stamp = max(now, updated)
        if tokens >= cost:
            self._store(key, tokens - cost, stamp)
            return Take(True, tokens - cost, 0.0)
        if held is not None:
            self._buckets.move_to_end(key)
        wait = (cost - tokens) / rate if rate > 0 else float("inf")
        return Take(False, tokens, wait)

    def _store(self, key: str, tokens: float, now: float) -> None:
        self._buckets[key] = (tokens, now)
        self._buckets.move_to_end(key)
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
            self.evicted += 1


class MemoryBlocks:
    """Blocks keyed by (kind, value); lapsed ones are dropped when listed or looked up."""

    def __init__(self, max_blocks: int = DEFAULT_MAX_BLOCKS) -> None:
        if max_blocks < 1:
            raise ValueError(f"max_blocks is {max_blocks}; it must be at least 1")
        self.max_blocks = max_blocks
        self._blocks: dict[tuple[str, str], Block] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._blocks)

    def block(
        self,
        kind: BlockKind,
        value: str,
        until: float,
        reason: str,
        action: BlockAction = "block",
    ) -> None:
        with self._lock:
            held = self._blocks.get((kind, value))
            if held is not None and held.until > until:
                until = held.until
            elif held is None and len(self._blocks) >= self.max_blocks:
                # Full: the block that lapses first makes room, never the new one.
                soonest = min(self._blocks.values(), key=lambda b: b.until)
                if soonest.until >= until:
                    return
                del self._blocks[(soonest.kind, soonest.value)]
            self._blocks[(kind, value)] = Block(kind, value, until, reason, action)

    def is_blocked(self, kind: BlockKind, value: str, now: float) -> Block | None:
        held = self._blocks.get((kind, value))
        if held is None:
            return None
        if held.until <= now:
            with self._lock:
                if self._blocks.get((kind, value)) is held:
                    del self._blocks[(kind, value)]
            return None
        return held

    def _in_force(self, kind: BlockKind, value: str, now: float) -> Block | None:
        """`is_blocked` with the lock held."""
        held = self._blocks.get((kind, value))
        if held is None:
            return None
        if held.until <= now:
            del self._blocks[(kind, value)]
            return None
        return held

    def list(self, now: float) -> list[Block]:
        with self._lock:
            lapsed = [key for key, b in self._blocks.items() if b.until <= now]
            for key in lapsed:
                del self._blocks[key]
            current = list(self._blocks.values())
        return sorted(current, key=lambda b: (-b.until, b.kind, b.value))

    def unblock(self, kind: BlockKind, value: str) -> bool:
        with self._lock:
            return self._blocks.pop((kind, value), None) is not None


class MemoryLimits:
    """`apishield.limits.Limits` over one `MemoryBuckets` and one `MemoryBlocks`.

    The whole check runs under both locks (the blocks' first; nothing else holds both), so no
    block raised or bucket drawn from by another thread lands between its steps.
    """

    def __init__(self, buckets: MemoryBuckets, blocks: MemoryBlocks) -> None:
        self.buckets = buckets
        self.blocks = blocks

    def check(
        self, blocks: Sequence[tuple[BlockKind, str]], draws: Sequence[Draw], now: float
    ) -> Check:
        table, bank = self.blocks, self.buckets
        with table._lock, bank._lock:
            for kind, value in blocks:
                held = table._in_force(kind, value, now)
                if held is not None:
                    return Check(held, [])
            takes: list[Take] = []
            for key, rate, burst, cost in draws:
                taken = bank._take(key, now, rate, burst, cost)
                takes.append(taken)
                if not taken.allowed:
                    break
            return Check(None, takes)

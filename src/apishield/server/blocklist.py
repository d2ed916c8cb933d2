"""The guards' blocks as the API manages them, on the clock the guards judge by.

Values are written as the policy looks them up (`apishield.state.admin.block_value`: canonical
IPs, keyed hashes where the config hashes), so a block added from the dashboard refuses what
the same block from `apishield blocks add` refuses. Durations run on `clock`: the wall clock
for live traffic, the demo's accelerated clock in `apishield demo`.
"""

from __future__ import annotations

from collections.abc import Callable

from apishield.config import Config
from apishield.limits import Block, Blocks
from apishield.privacy import Hasher
from apishield.state.admin import lift_block, place_block


class ManagedBlocks:
    def __init__(
        self,
        blocks: Blocks,
        config: Config,
        hasher: Hasher,
        clock: Callable[[], float],
        *,
        shared: bool,
    ) -> None:
        self.blocks = blocks
        self.config = config
        self.hasher = hasher
        self.clock = clock
        self.shared = shared

    def list(self) -> list[Block]:
        return self.blocks.list(self.clock())

    def now(self) -> float:
        return self.clock()

    def add(self, kind: str, value: str, seconds: float | None, reason: str, action: str) -> Block:
        return place_block(
            self.blocks,
            self.config,
            kind,
            value,
            seconds=seconds,
            reason=reason,
            hasher=self.hasher,
            now=self.clock(),
            action=action,
        )

    def remove(self, kind: str, value: str) -> bool:
        return lift_block(self.blocks, self.config, kind, value, self.hasher)

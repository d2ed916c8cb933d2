"""The storage interface of enforcement: token buckets and blocks, in event time.

Policy code decides; these two small protocols remember. Every instance of a middleware or proxy
must see the same buckets and blocks, so their state lives behind an interface with one
in-memory backend (`apishield.state.memory_limits`) and room for a shared one. The semantics are
kept to what one atomic server-side step can do: a bucket is `(tokens, updated)` refilled lazily
on each `take`; a block is one record that expires at `until`, and says how it is answered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NamedTuple, Protocol

BlockKind = Literal["ip", "identity", "key", "session"]
"""What a block names: a client IP, an identity, an API key's keyed-hash prefix (as in
`Actor.key`), or a session's keyed hash."""

BLOCK_KINDS: tuple[BlockKind, ...] = ("ip", "identity", "key", "session")

BlockAction = Literal["block", "tarpit", "decoy"]
"""How a blocked client is answered: refused at once (403); held for a while, then refused
(429, a tarpit); or given a plausible empty 200 that never reaches the app (a decoy)."""

BLOCK_ACTIONS: tuple[BlockAction, ...] = ("block", "tarpit", "decoy")


class Take(NamedTuple):
    """What one `Buckets.take` answers: `allowed, remaining, retry_after = buckets.take(...)`."""

    allowed: bool
    remaining: float
    """Tokens left after this take (before it, when refused)."""
    retry_after: float
    """Seconds until `cost` tokens are there again; 0.0 when allowed."""


@dataclass(slots=True, frozen=True)
class Block:
    kind: BlockKind
    value: str
    until: float
    """Event time at which the block lapses."""
    reason: str
    action: BlockAction = "block"


class Buckets(Protocol):
    def take(self, key: str, now: float, rate: float, burst: float, cost: float = 1.0) -> Take:
        """Refill `key` at `rate` tokens per second up to `burst` since its last take, then
        take `cost` tokens if there are enough. A new key starts full. Refused takes leave the
        bucket as it was, so a client hammering a closed bucket does not push its reopening
        further away."""
        ...


class Blocks(Protocol):
    def block(
        self,
        kind: BlockKind,
        value: str,
        until: float,
        reason: str,
        action: BlockAction = "block",
    ) -> None:
        """Block until `until`; blocking again keeps the later expiry and the newer reason and
        action."""
        ...

    def is_blocked(self, kind: BlockKind, value: str, now: float) -> Block | None: ...

    def list(self, now: float) -> list[Block]:
        """Blocks in force at `now`, the longest-lasting first."""
        ...

    def unblock(self, kind: BlockKind, value: str) -> bool:
        """Lift a block; False when there was none."""
        ...

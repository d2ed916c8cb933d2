"""The storage interface of enforcement: token buckets and blocks, in event time.

Policy code decides; these two small protocols remember. Every instance of a middleware or proxy
must see the same buckets and blocks, so their state lives behind an interface with one
in-memory backend (`apishield.state.memory_limits`) and room for a shared one. The semantics are
kept to what one atomic server-side step can do: a bucket is `(tokens, updated)` refilled lazily
on each `take`; a block is one record that expires at `until`, and says how it is answered.

A policy decision needs several of these calls (the actor's blocks, then its buckets), so
`Limits.check` makes them all in one step, which a shared backend answers in one round trip.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple, Protocol, runtime_checkable

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


class Draw(NamedTuple):
    """One bucket a request draws from: the arguments of `Buckets.take` but the time."""

    key: str
    rate: float
    burst: float
    cost: float = 1.0


class Check(NamedTuple):
    """What one `Limits.check` answers: `block, takes = limits.check(...)`."""

    block: Block | None
    """The first block in force among those looked up; None when none is."""
    takes: list[Take]
    """One answer per bucket drawn from, in order, ending with the first refusal if there is
    one; empty when a block is in force."""


class Limits(Protocol):
    def check(
        self, blocks: Sequence[tuple[BlockKind, str]], draws: Sequence[Draw], now: float
    ) -> Check:
        """`is_blocked` on each of `blocks` in order, stopping at the first in force, in which
        case no bucket is drawn from; otherwise `take` from each of `draws` in order, stopping
        at the first refusal, so the buckets after it spend nothing. Buckets drawn from before
        a refusal keep what they spent, exactly as when the calls are made one by one. Lapsed
        blocks met on the way are dropped, as `is_blocked` drops them. The answers and the
        state left behind are those of the calls one by one (`CallByCall`); a backend makes
        them in one atomic step instead."""
        ...


class CallByCall:
    """`Limits` as the separate calls: the meaning of `check`, and what runs where buckets
    and blocks live on backends that cannot answer it in one step."""

    def __init__(self, buckets: Buckets, blocks: Blocks) -> None:
        self.buckets = buckets
        self.blocks = blocks

    def check(
        self, blocks: Sequence[tuple[BlockKind, str]], draws: Sequence[Draw], now: float
    ) -> Check:
        for kind, value in blocks:
            held = self.blocks.is_blocked(kind, value, now)
            if held is not None:
                return Check(held, [])
        takes: list[Take] = []
        for key, rate, burst, cost in draws:
            taken = self.buckets.take(key, now, rate, burst, cost)
            takes.append(taken)
            if not taken.allowed:
                break
        return Check(None, takes)


@runtime_checkable
class Pairable(Protocol):
    """Buckets that can answer `Limits.check` in one step together with some blocks."""

    def limits_with(self, blocks: Blocks) -> Limits | None:
        """The combined step over these buckets and `blocks`; None when `blocks` live where
        these buckets cannot reach them in the same step."""
        ...


def limits_of(buckets: Buckets, blocks: Blocks) -> Limits:
    """`Limits` over `buckets` and `blocks`: their backend's one-step check where it has one
    for the pair, the calls one by one otherwise."""
    paired = buckets.limits_with(blocks) if isinstance(buckets, Pairable) else None
    return paired if paired is not None else CallByCall(buckets, blocks)


def canonical_ip(text: str) -> str:
    """One spelling per address, the one blocks and lists are keyed on: an IPv4 address seen
    through an IPv6 socket (`::ffff:203.0.113.9`) as IPv4, IPv6 compressed and lower-case, and
    a port a proxy wrote beside the address (`203.0.113.9:5555`, `[2001:db8::1]:443`) dropped.
    Anything else is returned as it came. Plain IPv4 text, the common case, is not parsed."""
    if ":" not in text:
        return text
    host = text
    if host.startswith("["):
        host = host[1:].partition("]")[0]
    elif host.count(":") == 1:
        host = host.partition(":")[0]  # IPv4 with a port
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return text
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)

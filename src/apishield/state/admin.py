"""Blocks as an operator sees them: list, add and lift the blocks every guard enforces.

These are what `apishield blocks list|add|remove --config FILE` runs. They need the shared
(Redis) state: with `state.backend: memory` each process keeps its own blocks, out of reach of
any command, and that is said instead of editing a table nobody reads. Failures are not hidden
behind a fallback: a Redis that does not answer raises `StateUnavailable`.

Values are written as the policy looks them up: an IP in its canonical form, an API key as the
16 hex digits of its keyed hash (the `key:` part of an actor key in incidents), a session as its
16-digit keyed hash, an identity as it is. A block's action says how the guards answer it: a 403
("block"), a tarpit or a decoy (`enforce.bots` sets how long a tarpit holds and what a decoy
says). Where the config hashes IPs or identities, a plain
value is hashed with the install secret first, so an operator can still type the address.
"""

from __future__ import annotations

import difflib
import ipaddress
import math
import time
from typing import TypeVar

from apishield.config import Config
from apishield.limits import (
    BLOCK_ACTIONS,
    BLOCK_KINDS,
    Block,
    BlockAction,
    BlockKind,
    Blocks,
    canonical_ip,
)
from apishield.privacy import Hasher
from apishield.state.factory import Backends, open_backends

T = TypeVar("T", bound=str)

DEFAULT_REASON = "blocked by an operator"
_HEX = frozenset("0123456789abcdef")


class BlocksError(ValueError):
    """A request the block list cannot carry out, saying why and what to do instead."""


def list_blocks(config: Config, now: float | None = None) -> list[Block]:
    """Blocks in force now (wall clock, as live traffic sees them), the longest-lasting first."""
    backends = _shared(config)
    try:
        return backends.blocks.list(time.time() if now is None else now)
    finally:
        backends.close()


def add_block(
    config: Config,
    kind: str,
    value: str,
    *,
    seconds: float | None = None,
    reason: str = DEFAULT_REASON,
    hasher: Hasher | None = None,
    now: float | None = None,
    action: str = "block",
) -> Block:
    """Block `value` for `seconds` (for good when None), answered as `action` says; an
    existing block keeps the later expiry and takes the new action. `hasher` is needed only
    where the config hashes IPs or identities."""
    backends = _shared(config)
    try:
        return place_block(
            backends.blocks,
            config,
            kind,
            value,
            seconds=seconds,
            reason=reason,
            hasher=hasher,
            now=time.time() if now is None else now,
            action=action,
        )
    finally:
        backends.close()


def remove_block(config: Config, kind: str, value: str, hasher: Hasher | None = None) -> bool:
    """Lift a block; False when there was none."""
    backends = _shared(config)
    try:
        return lift_block(backends.blocks, config, kind, value, hasher)
    finally:
        backends.close()


def place_block(
    blocks: Blocks,
    config: Config,
    kind: str,
    value: str,
    *,
    seconds: float | None,
    reason: str,
    hasher: Hasher | None,
    now: float,
    action: str,
) -> Block:
    """`add_block` on blocks the caller holds (the server's, shared or its own)."""
    if seconds is not None and not seconds > 0:
        raise BlocksError(f"a block lasts more than zero seconds, not {seconds}")
    checked = block_kind(kind)
    answer = block_action(action)
    stored = block_value(config, checked, value, hasher)
    until = math.inf if seconds is None else now + seconds
    blocks.block(checked, stored, until, reason, answer)
    # The block as it now stands: blocking again keeps a later expiry, so a shorter one asked
    # for is not what holds, and whoever asked must be told.
    return blocks.is_blocked(checked, stored, now) or Block(checked, stored, until, reason, answer)


def lift_block(
    blocks: Blocks, config: Config, kind: str, value: str, hasher: Hasher | None = None
) -> bool:
    """`remove_block` on blocks the caller holds."""
    checked = block_kind(kind)
    return blocks.unblock(checked, block_value(config, checked, value, hasher))


def block_kind(kind: str) -> BlockKind:
    return _one_of(kind, BLOCK_KINDS, "a kind of block")


def block_action(action: str) -> BlockAction:
    return _one_of(action, BLOCK_ACTIONS, "a block action")


def _one_of(value: str, valid: tuple[T, ...], what: str) -> T:
    """`value` as the member of `valid` it names; BlocksError with a suggestion otherwise."""
    for known in valid:
        if value == known:
            return known
    names = [str(known) for known in valid]
    hint = difflib.get_close_matches(value, names, n=1)
    fix = f" Did you mean '{hint[0]}'?" if hint else ""
    raise BlocksError(f"{value!r} is not {what}.{fix} Valid: {', '.join(names)}.")


def block_value(config: Config, kind: BlockKind, value: str, hasher: Hasher | None) -> str:
    """`value` as the policy looks it up for `kind`."""
    value = value.strip()
    if not value:
        raise BlocksError(f"give the {kind} to block")
    if kind == "ip":
        return _hashed(value, config.identity.hash_ips, "ip", hasher) or _ip(value)
    if kind == "identity":
        return _hashed(value, config.identity.hash_identities, "identity", hasher) or value
    digest = value.rpartition("#")[2].removeprefix(f"{kind}:").lower()
    if len(digest) != 16 or not set(digest) <= _HEX:
        where = "the `key:` part of the actor" if kind == "key" else "the `session:` part"
        raise BlocksError(
            f"a {kind} block names 16 hex digits of its keyed hash ({where} in incidents), "
            f"not {value!r}; to refuse keys by a shorter prefix use enforce.deny.api_keys"
        )
    return digest


def _hashed(value: str, hashing: bool, kind: str, hasher: Hasher | None) -> str | None:
    """The keyed hash the resolver would have made of `value`, where the config hashes."""
    if not hashing or value.startswith("h:"):
        return value if hashing else None
    if hasher is None:
        raise BlocksError(
            f"the config hashes {kind}s (identity.hash_{kind}s), so blocking a plain {kind} "
            "needs the install secret: pass a Hasher, or give the hashed value ('h:…')"
        )
    return hasher.pseudonym(_ip(value) if kind == "ip" else value)


def _ip(value: str) -> str:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise BlocksError(f"{value!r} is not an IP address (IPv4 or IPv6)") from None
    return canonical_ip(value)  # as the actor resolver spells the client's address


def _shared(config: Config) -> Backends:
    if config.state.backend != "redis":
        raise BlocksError(
            "state.backend is 'memory': every process keeps its own blocks, which no command "
            "can reach. Set state.backend: redis, with the same state.url in every process, to "
            "share one block list and manage it from here"
        )
    return open_backends(config, failover=False)

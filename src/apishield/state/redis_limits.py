"""Token buckets and blocks on Redis: one rate limit and one block list for every process.

Semantics are the in-memory ones (`state.memory_limits`), call for call; the contract suite in
tests/state/test_limits_contract.py runs both. Each call is one Lua script, atomic on the
server, in one round trip:

* a bucket is a hash `(t, u)`: tokens left and the latest event time it was taken at (never moved
  back, so hosts whose clocks differ cannot refill it twice), refilled lazily
  by the script. Redis forgets it, by a wall-clock expiry, once it would be full again (plus
  `grace`): a forgotten bucket and a full one answer alike.
* a block is a hash `(until, reason, action)` beside a sorted set of every block scored by
  `until`, so listing is one range read and the block that lapses first is the cheapest to
  find. Expiry is in event time (`until`), checked on every read; a wall-clock expiry of what
  remains until `until` by the server's clock, plus `grace`, only collects garbage (a replayed
  block from last month lives `grace` seconds of wall clock, which a replay running faster than
  the clock outpaces). A block with an infinite `until` never expires. A block written without
  an `action` (by an older apishield) is a plain block.

A policy decision's block lookups and bucket takes are one more script (`RedisLimits`), the
bodies of the single-call scripts run in a loop, so a decision costs one round trip however many
blocks and buckets it reads. It touches bucket and block keys together, which one Redis server
holds (Redis Cluster would need them under one hash tag).

Numbers cross into Lua as `repr` strings and come back formatted with %.17g, so a bucket holds
exactly the doubles Python would have computed. Block keys share one cluster hash tag, as the
scripts touch several of them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from redis import Redis
from redis.commands.core import Script
from redis.exceptions import RedisError

from apishield.limits import (
    BLOCK_ACTIONS,
    BLOCK_KINDS,
    Block,
    BlockAction,
    BlockKind,
    Blocks,
    Check,
    Draw,
    Limits,
    Take,
)
from apishield.state.memory_limits import DEFAULT_MAX_BLOCKS
from apishield.state.redis import DEFAULT_GRACE, DEFAULT_PREFIX, _where, run_script
from apishield.stateful import StateUnavailable

_TAKE = """
local rate, burst, cost, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]),
  tonumber(ARGV[4])
local held = redis.call('HMGET', KEYS[1], 't', 'u')
local tokens = burst
local stamp = now
if held[1] then
  local elapsed = now - tonumber(held[2])
  if elapsed < 0 then elapsed = 0 end
  tokens = math.min(burst, tonumber(held[1]) + elapsed * rate)
  stamp = math.max(now, tonumber(held[2]))
end
if tokens < cost then
  return {0, string.format('%.17g', tokens)}
end
tokens = tokens - cost
redis.call('HSET', KEYS[1], 't', string.format('%.17g', tokens),
  'u', string.format('%.17g', stamp))
if rate > 0 then
  local ms = math.ceil(((burst - tokens) / rate + tonumber(ARGV[5])) * 1000)
  redis.call('PEXPIRE', KEYS[1], math.max(1, math.min(ms, 4503599627370496)))
else
  redis.call('PERSIST', KEYS[1])
end
return {1, string.format('%.17g', tokens)}
"""

# Wall-clock lifetime of what lasts until event time ARGV[n]: the server's own clock, so hosts
# with skewed clocks agree.
_LIFETIME = """
local function lifetime(key, untl, grace)
  local clock = redis.call('TIME')
  local left = tonumber(untl) - (tonumber(clock[1]) + tonumber(clock[2]) / 1000000)
  if left == math.huge then
    redis.call('PERSIST', key)
    return
  end
  local ms = math.ceil((math.max(left, 0) + grace) * 1000)
  redis.call('PEXPIRE', key, math.max(1, math.min(ms, 4503599627370496)))
end
"""
_BLOCK = (
    _LIFETIME
    + """
local untl = ARGV[1]
local held = redis.call('HGET', KEYS[1], 'until')
if held then
  if tonumber(held) > tonumber(untl) then untl = held end
elseif redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[4]) then
  -- Full: the block that lapses first makes room, never the new one.
  local soonest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  if tonumber(soonest[2]) >= tonumber(untl) then return 0 end
  redis.call('ZREM', KEYS[2], soonest[1])
  redis.call('DEL', ARGV[6] .. soonest[1])
end
redis.call('HSET', KEYS[1], 'until', untl, 'reason', ARGV[2], 'action', ARGV[7])
redis.call('ZADD', KEYS[2], untl, ARGV[3])
local grace = tonumber(ARGV[5])
lifetime(KEYS[1], untl, grace)
lifetime(KEYS[2], redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')[2], grace)
return 1
"""
)
_IS_BLOCKED = """
local held = redis.call('HMGET', KEYS[1], 'until', 'reason', 'action')
if not held[1] then return false end
if tonumber(held[1]) <= tonumber(ARGV[1]) then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[2])
  return false
end
return held
"""
_LIST = """
local lapsed = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
for _, member in ipairs(lapsed) do redis.call('DEL', ARGV[2] .. member) end
if #lapsed > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1]) end
local held = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
local found = {}
for i = 1, #held, 2 do
  local block = redis.call('HMGET', ARGV[2] .. held[i], 'reason', 'action')
  if block[1] then
    found[#found + 1] = held[i]
    found[#found + 1] = held[i + 1]
    found[#found + 1] = block[1]
    found[#found + 1] = block[2]
  else
    redis.call('ZREM', KEYS[1], held[i])  -- its key was collected by the wall clock
  end
end
return found
"""
_UNBLOCK = """
redis.call('ZREM', KEYS[2], ARGV[1])
return redis.call('DEL', KEYS[1])
"""

# KEYS: the block keys looked up in order, the block index, then the bucket keys in order.
# ARGV: now, how many block keys, grace, a "kind:value" member per block key, then rate, burst
# and cost per bucket. Answers {i, until, reason, action} for the i-th block key when it is in
# force, else {0, allowed, tokens, allowed, tokens, ...} up to and with the first refusal.
_CHECK = """
local now, blocks, grace = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local index = KEYS[blocks + 1]
for i = 1, blocks do
  local held = redis.call('HMGET', KEYS[i], 'until', 'reason', 'action')
  if held[1] then
    if tonumber(held[1]) <= now then
      redis.call('DEL', KEYS[i])
      redis.call('ZREM', index, ARGV[3 + i])
    else
      return {i, held[1], held[2], held[3]}
    end
  end
end
local taken = {0}
local at = 3 + blocks
for k = blocks + 2, #KEYS do
  local rate, burst, cost = tonumber(ARGV[at + 1]), tonumber(ARGV[at + 2]), tonumber(ARGV[at + 3])
  at = at + 3
  local held = redis.call('HMGET', KEYS[k], 't', 'u')
  local tokens = burst
  local stamp = now
  if held[1] then
    local elapsed = now - tonumber(held[2])
    if elapsed < 0 then elapsed = 0 end
    tokens = math.min(burst, tonumber(held[1]) + elapsed * rate)
    stamp = math.max(now, tonumber(held[2]))
  end
  if tokens < cost then
    taken[#taken + 1] = 0
    taken[#taken + 1] = string.format('%.17g', tokens)
    return taken
  end
  tokens = tokens - cost
  redis.call('HSET', KEYS[k], 't', string.format('%.17g', tokens),
    'u', string.format('%.17g', stamp))
  if rate > 0 then
    local ms = math.ceil(((burst - tokens) / rate + grace) * 1000)
    redis.call('PEXPIRE', KEYS[k], math.max(1, math.min(ms, 4503599627370496)))
  else
    redis.call('PERSIST', KEYS[k])
  end
  taken[#taken + 1] = 1
  taken[#taken + 1] = string.format('%.17g', tokens)
end
return taken
"""

_KINDS: dict[str, BlockKind] = {kind: kind for kind in BLOCK_KINDS}
_ACTIONS: dict[str, BlockAction] = {action: action for action in BLOCK_ACTIONS}


class _Scripts:
    """Runs Lua scripts by SHA on one client; any Redis failure becomes `StateUnavailable`."""

    noun = "state"

    def __init__(self, client: Redis, prefix: str, grace: float) -> None:
        if not grace >= 0:
            raise ValueError(f"grace is {grace}; it must be zero or more seconds")
        self.client = client
        self.prefix = prefix
        self.grace = grace

    def _run(self, script: Script, keys: Sequence[str], args: Sequence[Any]) -> Any:
        try:
            return run_script(self.client, script, keys, args)
        except RedisError as error:
            raise StateUnavailable(
                f"Redis {self.noun} at {_where(self.client)} failed ({type(error).__name__}: "
                f"{error}); check that Redis runs and this host can reach it"
            ) from error


class RedisBuckets(_Scripts):
    """`apishield.limits.Buckets` on Redis: every process draws from the same buckets."""

    noun = "rate limits"

    def __init__(
        self, client: Redis, prefix: str = DEFAULT_PREFIX, *, grace: float = DEFAULT_GRACE
    ) -> None:
        super().__init__(client, prefix, grace)
        self._take = client.register_script(_TAKE)

    def take(self, key: str, now: float, rate: float, burst: float, cost: float = 1.0) -> Take:
        args = (repr(float(rate)), repr(float(burst)), repr(float(cost)), repr(float(now)))
        allowed, left = self._run(self._take, (self.prefix + "t:" + key,), (*args, self.grace))
        return _take(allowed, left, rate, cost)

    def limits_with(self, blocks: Blocks) -> Limits | None:
        """Both in one script, when `blocks` are on the same Redis client."""
        if isinstance(blocks, RedisBlocks) and blocks.client is self.client:
            return RedisLimits(self, blocks)
        return None


class RedisBlocks(_Scripts):
    """`apishield.limits.Blocks` on Redis: a block raised by one process holds in every other.

    At most `max_blocks` are kept, as in memory: when full, the block that lapses first makes
    room for a longer one.
    """

    noun = "blocks"

    def __init__(
        self,
        client: Redis,
        prefix: str = DEFAULT_PREFIX,
        *,
        grace: float = DEFAULT_GRACE,
        max_blocks: int = DEFAULT_MAX_BLOCKS,
    ) -> None:
        if max_blocks < 1:
            raise ValueError(f"max_blocks is {max_blocks}; it must be at least 1")
        super().__init__(client, prefix, grace)
        self.max_blocks = max_blocks
        self._index = prefix + "{blocks}"
        """The sorted set of "kind:value" members by `until`; block keys are its name + ":" +
        member, under the same hash tag."""
        self._block = client.register_script(_BLOCK)
        self._is_blocked = client.register_script(_IS_BLOCKED)
        self._list = client.register_script(_LIST)
        self._unblock = client.register_script(_UNBLOCK)

    def block(
        self,
        kind: BlockKind,
        value: str,
        until: float,
        reason: str,
        action: BlockAction = "block",
    ) -> None:
        member = f"{kind}:{value}"
        index = self._index + ":"
        args = (repr(float(until)), reason, member, self.max_blocks, self.grace, index, action)
        self._run(self._block, (self._key(member), self._index), args)

    def is_blocked(self, kind: BlockKind, value: str, now: float) -> Block | None:
        member = f"{kind}:{value}"
        held = self._run(
            self._is_blocked, (self._key(member), self._index), (repr(float(now)), member)
        )
        if held is None:
            return None
        return Block(kind, value, float(held[0]), _text(held[1]), _action(held[2]))

    def list(self, now: float) -> list[Block]:
        found = self._run(self._list, (self._index,), (repr(float(now)), self._index + ":"))
        blocks = []
        for at in range(0, len(found), 4):
            prefix, _, value = _text(found[at]).partition(":")
            kind = _KINDS.get(prefix)
            if kind is not None:
                until, reason = float(found[at + 1]), _text(found[at + 2])
                blocks.append(Block(kind, value, until, reason, _action(found[at + 3])))
        return sorted(blocks, key=lambda b: (-b.until, b.kind, b.value))

    def unblock(self, kind: BlockKind, value: str) -> bool:
        member = f"{kind}:{value}"
        return bool(self._run(self._unblock, (self._key(member), self._index), (member,)))

    def _key(self, member: str) -> str:
        return self._index + ":" + member


class RedisLimits(_Scripts):
    """`apishield.limits.Limits` on Redis: a policy decision's lookups and takes in one script,
    so in one round trip."""

    noun = "rate limits and blocks"

    def __init__(self, buckets: RedisBuckets, blocks: RedisBlocks) -> None:
        super().__init__(buckets.client, buckets.prefix, buckets.grace)
        self.buckets = buckets
        self.blocks = blocks
        self._check = buckets.client.register_script(_CHECK)

    def check(
        self, blocks: Sequence[tuple[BlockKind, str]], draws: Sequence[Draw], now: float
    ) -> Check:
        members = [f"{kind}:{value}" for kind, value in blocks]
        keys = [self.blocks._key(member) for member in members]
        keys.append(self.blocks._index)
        bucket = self.buckets.prefix + "t:"
        args: list[object] = [repr(float(now)), len(members), self.grace, *members]
        for key, rate, burst, cost in draws:
            keys.append(bucket + key)
            args += (repr(float(rate)), repr(float(burst)), repr(float(cost)))
        found = self._run(self._check, keys, args)
        if found[0]:
            kind, value = blocks[found[0] - 1]
            until, reason = float(found[1]), _text(found[2])
            return Check(Block(kind, value, until, reason, _action(found[3])), [])
        answers = zip(draws, found[1::2], found[2::2], strict=False)
        return Check(None, [_take(a, left, d.rate, d.cost) for d, a, left in answers])


def _take(allowed: int, left: bytes | str, rate: float, cost: float) -> Take:
    tokens = float(left)
    if allowed:
        return Take(True, tokens, 0.0)
    return Take(False, tokens, (cost - tokens) / rate if rate > 0 else math.inf)


def _text(raw: bytes | str) -> str:
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw


def _action(raw: bytes | str | None) -> BlockAction:
    """The stored action; a plain block where none was stored or it is not known here."""
    return "block" if raw is None else _ACTIONS.get(_text(raw), "block")

"""The Redis state backend: windows, distinct sets and records shared by every process.

Proxies, middlewares and workers pointed at one Redis under one prefix count into the same
windows, so requests spread over many processes add up as they would on one. Semantics are the
in-memory backend's, call for call (tests/state/test_contract.py runs both), and each call is
one round trip:

* counts: one key per fixed bucket, named by its event-time index (`floor(now / window)`), read
  with the bucket before it and summed by a Lua script (EVALSHA), atomic on the server;
* distinct: one Redis set per bucket, grown until it holds `cap` members, and the previous
  bucket's set unioned in by `SINTERCARD` (Redis 7.0+). A set is exact below the cap, where
  every threshold is, and bounded by it; a HyperLogLog would be smaller, but it is an estimate
  (0.81% standard error) with no exactness promised at any size, and a rule that fires at
  twenty distinct addresses must fire at twenty, not at nineteen or twenty-one;
* records: JSON (`state.codec`) rebuilt from the type `load` asks for, never pickle, so a shared
  Redis holds data and never code; the event-time expiry travels with the value.

One difference is deliberate: an event older than its key's newest bucket (a worker behind the
others) counts in its own bucket, where the in-memory backend adds it to the newest. Records are
read, changed and saved by the caller, so two processes saving one record at once keep the
later save; counts and distinct sets merge atomically.

Replays are correct because buckets are named by event time and records carry their event-time
expiry. Redis's own wall-clock expiry (two windows, or the record's ttl, plus `grace`) only
collects garbage: in live use event and wall time agree, and a replay runs faster than the
clock, so a key is never gone while event time still needs it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

import orjson
from redis import Redis
from redis.backoff import NoBackoff
from redis.client import Pipeline
from redis.commands.core import Script
from redis.exceptions import NoScriptError, RedisError
from redis.retry import Retry

from apishield.state.codec import CodecError, check_kind, decode, encode, type_tag
from apishield.stateful import StateUnavailable, Tally

T = TypeVar("T")
R = TypeVar("R")

DEFAULT_PREFIX = "apishield:"
DEFAULT_GRACE = 300.0
"""Seconds of wall clock a key outlives its event-time use: room for a worker falling behind."""
_MAX_MILLIS = 1 << 62

# Sums are written with %.17g so they read back as exactly the doubles Python would have added.
_COUNT = """
local amount = tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if amount ~= 0 then
  current = current + amount
  redis.call('SET', KEYS[1], string.format('%.17g', current), 'PX', ARGV[2])
end
return {string.format('%.17g', current), redis.call('GET', KEYS[2]) or '0'}
"""
_DISTINCT = """
local cap = tonumber(ARGV[2])
local size = redis.call('SCARD', KEYS[1])
if size < cap then
  size = size + redis.call('SADD', KEYS[1], ARGV[1])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
local before = redis.call('SCARD', KEYS[2])
if before == 0 then
  return size
end
return math.min(cap, size + before - redis.call('SINTERCARD', 2, KEYS[1], KEYS[2]))
"""


@dataclass(slots=True, frozen=True)
class _Op(Generic[R]):
    """One call: the command it sends (on a client or a pipeline) and how its reply is read."""

    send: Callable[[Redis], Any]
    finish: Callable[[Any], R]
    script: Script | None = None
    """The Lua script the command runs by its SHA, which Redis may have to be given first."""


class RedisState:
    """The state interface on a `redis.Redis` client, every key under `prefix`.

    Errors are never swallowed: any Redis failure raises `StateUnavailable`, and the caller
    decides between going on without shared state and refusing traffic. Records that do not
    decode (written by another version, or damaged) load as absent and are counted in
    `undecodable`.
    """

    def __init__(
        self, client: Redis, prefix: str = DEFAULT_PREFIX, *, grace: float = DEFAULT_GRACE
    ) -> None:
        if not grace >= 0:
            raise ValueError(f"grace is {grace}; it must be zero or more seconds")
        self.client = client
        self.prefix = prefix
        self.grace = grace
        self.undecodable = 0
        self._count_script = client.register_script(_COUNT)
        self._distinct_script = client.register_script(_DISTINCT)
        self._scripts_loaded = False
        """Both scripts sent to Redis, as `tally` needs before it pipelines them."""

    @classmethod
    def from_url(
        cls,
        url: str,
        prefix: str = DEFAULT_PREFIX,
        *,
        timeout: float = 0.5,
        grace: float = DEFAULT_GRACE,
    ) -> RedisState:
        """A client that gives up fast: one reconnect (Redis restarted), then `StateUnavailable`,
        so a process in front of an API waits about `2 * timeout` at most for a dead Redis."""
        client = Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 1),
        )
        return cls(client, prefix, grace=grace)

    def ping(self) -> None:
        """Ask Redis whether it answers; `StateUnavailable` if it does not."""
        try:
            self.client.ping()
        except RedisError as error:
            raise self.unavailable(error) from error

    def count(self, key: str, now: float, window: float, amount: float = 1.0) -> float:
        return self._run(self._count(key, now, window, amount))

    def distinct(self, key: str, member: str, now: float, window: float, cap: int) -> int:
        return self._run(self._distinct(key, member, now, window, cap))

    def load(self, key: str, kind: type[T], now: float) -> T | None:
        return self._run(self._load(key, kind, now))

    def save(self, key: str, value: object, now: float, ttl: float) -> None:
        self._run(self._save(key, value, now, ttl))

    def tally(self, calls: Sequence[Tally], now: float) -> list[float]:
        """One pipeline of script calls. Both scripts are loaded before the first pipeline and
        not checked again (SCRIPT EXISTS would cost a round trip per pipeline): a Redis that
        has forgotten them since (restarted, flushed) has forgotten both, refuses every call
        in the pipeline, none of which has then run, so they are loaded and the lot sent
        again."""
        ops: list[_Op[float]] = []
        for key, member, window, amount in calls:
            if member is None:
                ops.append(self._count(key, now, window, amount))
            else:
                distinct = self._distinct(key, member, now, window, int(amount))
                ops.append(_Op(distinct.send, float, distinct.script))  # an integer reply
        if len(ops) == 1:
            return [self._run(ops[0])]
        try:
            if not self._scripts_loaded:
                self._load_scripts()
            try:
                replies = self._pipelined(ops)
            except NoScriptError:
                self._load_scripts()
                replies = self._pipelined(ops)
        except RedisError as error:
            raise self.unavailable(error) from error
        return [op.finish(reply) for op, reply in zip(ops, replies, strict=True)]

    def _load_scripts(self) -> None:
        for script in (self._count_script, self._distinct_script):
            script.sha = self.client.script_load(script.script)
        self._scripts_loaded = True

    def _pipelined(self, ops: Sequence[_Op[Any]]) -> list[Any]:
        pipe = self.client.pipeline(transaction=False)
        for op in ops:
            op.send(pipe)
        return list(pipe.execute())

    def batch(self) -> Batch:
        """Calls that go to Redis together, in one round trip, when the batch runs."""
        return Batch(self)

    def unavailable(self, error: RedisError) -> StateUnavailable:
        """`error` as the exception callers catch, saying where Redis was and what to check."""
        if "SINTERCARD" in str(error).upper():
            fix = "apishield needs Redis 7.0 or later"
        else:
            fix = "check that Redis runs and this host can reach it"
        return StateUnavailable(
            f"Redis state at {_where(self.client)} failed ({type(error).__name__}: {error}); {fix}"
        )

    def _run(self, op: _Op[R]) -> R:
        try:
            try:
                reply = op.send(self.client)
            except NoScriptError:
                # A restarted or flushed Redis has forgotten the script: it had not run, so
                # loading it and sending again is safe.
                if op.script is None:
                    raise
                op.script.sha = self.client.script_load(op.script.script)
                reply = op.send(self.client)
        except RedisError as error:
            raise self.unavailable(error) from error
        return op.finish(reply)

    def _count(self, key: str, now: float, window: float, amount: float) -> _Op[float]:
        index = math.floor(now / window)
        keys = self._bucket_keys("c", key, index)
        args = (repr(float(amount)), _millis(2 * window + self.grace))
        start = index * window

        def finish(reply: Any) -> float:
            current, previous = float(reply[0]), float(reply[1])
            return current + previous * (1.0 - (now - start) / window)

        return _Op(_evalsha(self._count_script, keys, args), finish, self._count_script)

    def _distinct(self, key: str, member: str, now: float, window: float, cap: int) -> _Op[int]:
        keys = self._bucket_keys("d", key, math.floor(now / window))
        args = (member, cap, _millis(2 * window + self.grace))
        return _Op(_evalsha(self._distinct_script, keys, args), int, self._distinct_script)

    def _load(self, key: str, kind: type[T], now: float) -> _Op[T | None]:
        check_kind(kind)  # an unsupported kind is the caller's bug: say so before any I/O
        name, tag = self.prefix + "r:" + key, type_tag(kind)

        def finish(raw: Any) -> T | None:
            if raw is None:
                return None
            try:
                record = orjson.loads(raw)
                expires = decode(float, record["x"])
                if expires < now or record["t"] != tag:
                    return None
                return decode(kind, record["v"])
            except (orjson.JSONDecodeError, CodecError, TypeError, KeyError):
                self.undecodable += 1
                return None

        return _Op(lambda client: client.get(name), finish)

    def _save(self, key: str, value: object, now: float, ttl: float) -> _Op[None]:
        record = {"t": type_tag(type(value)), "x": encode(now + ttl), "v": encode(value)}
        data, name = orjson.dumps(record), self.prefix + "r:" + key
        lifetime = ttl + self.grace
        millis = _millis(lifetime) if math.isfinite(lifetime) else None
        return _Op(lambda client: client.set(name, data, px=millis), _nothing)

    def _bucket_keys(self, family: str, key: str, index: int) -> tuple[str, str]:
        # The braces are a cluster hash tag: a key's buckets live on one node, as scripts need.
        stem = f"{self.prefix}{family}:{{{key}}}:"
        return stem + str(index), stem + str(index - 1)


class Pending(Generic[R]):
    """A batched call's result, readable once its batch has run."""

    __slots__ = ("_done", "_finish", "_value")

    def __init__(self, finish: Callable[[Any], R]) -> None:
        self._finish = finish
        self._done = False
        self._value: R | None = None

    @property
    def value(self) -> R:
        if not self._done:
            raise RuntimeError("this batch has not run yet: read values after `execute()`")
        return self._value  # type: ignore[return-value]  # set by _resolve, possibly to None

    def _resolve(self, reply: Any) -> None:
        self._value = self._finish(reply)
        self._done = True


class Batch:
    """Calls queued on one pipeline and sent together: one round trip for the lot.

    Calls run on the server in the order they were made, so a later call sees an earlier one's
    effect. Used as a context manager, the batch runs when the block ends without an error.
    """

    def __init__(self, state: RedisState) -> None:
        self._state = state
        self._pipe: Pipeline = state.client.pipeline(transaction=False)
        self._pending: list[Pending[Any]] = []

    def __len__(self) -> int:
        return len(self._pending)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if kind is None:
            self.execute()
        else:
            self._discard()

    def count(self, key: str, now: float, window: float, amount: float = 1.0) -> Pending[float]:
        return self._queue(self._state._count(key, now, window, amount))

    def distinct(self, key: str, member: str, now: float, window: float, cap: int) -> Pending[int]:
        return self._queue(self._state._distinct(key, member, now, window, cap))

    def load(self, key: str, kind: type[T], now: float) -> Pending[T | None]:
        return self._queue(self._state._load(key, kind, now))

    def save(self, key: str, value: object, now: float, ttl: float) -> None:
        self._queue(self._state._save(key, value, now, ttl))

    def execute(self) -> None:
        """Send every queued call; results are then in their `Pending` values."""
        pending, self._pending = self._pending, []
        if not pending:
            return
        try:
            replies = self._pipe.execute()
        except RedisError as error:
            self._pipe.reset()
            raise self._state.unavailable(error) from error
        for result, reply in zip(pending, replies, strict=True):
            result._resolve(reply)

    def _queue(self, op: _Op[R]) -> Pending[R]:
        if op.script is not None:
            self._pipe.scripts.add(op.script)  # checked (SCRIPT EXISTS) when the batch runs
        op.send(self._pipe)
        result = Pending(op.finish)
        self._pending.append(result)
        return result

    def _discard(self) -> None:
        self._pipe.reset()
        self._pending = []


def _evalsha(
    script: Script, keys: tuple[str, str], args: tuple[Any, ...]
) -> Callable[[Redis], Any]:
    # The command itself: `Script.__call__` costs ten times as much per call, in pipelines too.
    # The SHA is read when the command is sent, after a reload has set it.
    arguments = (*keys, *args)
    return lambda client: client.evalsha(script.sha, len(keys), *arguments)


def run_script(client: Redis, script: Script, keys: Sequence[Any], args: Sequence[Any]) -> Any:
    """EVALSHA of `script`; when Redis has forgotten it (restarted or flushed), the script did
    not run, so it is loaded and sent again."""
    try:
        return client.evalsha(script.sha, len(keys), *keys, *args)
    except NoScriptError:
        script.sha = client.script_load(script.script)
        return client.evalsha(script.sha, len(keys), *keys, *args)


def _millis(seconds: float) -> int:
    return max(1, min(_MAX_MILLIS, math.ceil(seconds * 1000)))


def _nothing(reply: Any) -> None:
    return None


def _where(client: Redis) -> str:
    """Host and port (or socket) of a client, for messages; never its password."""
    options = client.connection_pool.connection_kwargs
    if "path" in options:
        return str(options["path"])
    return f"{options.get('host', 'localhost')}:{options.get('port', 6379)}/{options.get('db', 0)}"

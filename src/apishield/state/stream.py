"""A Redis stream of serialised exchanges and the consumer group of workers that reads it.

Guards add entries in batches, one script call each; `apishield worker` processes read them
through one consumer group, so each entry goes to one worker. An entry stays pending, owned by
the worker it was given to, until that worker acknowledges it; a worker that dies leaves its
pending entries behind, and another takes them over once they have been idle long enough
(XAUTOCLAIM). Nothing is lost unless the stream is trimmed past entries no worker has read.

Entries are opaque bytes here (one field, `x`); what they hold is the caller's business. Any
Redis failure raises `StateUnavailable`, as the state backend does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from redis import Redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError, ResponseError
from redis.retry import Retry
from redis.typing import KeyT, StreamIdT

from apishield.state.redis import _where, run_script
from apishield.stateful import StateUnavailable

FIELD = b"x"
"""The one field of an entry: the serialised exchange."""

_ADD = """
local ids, maxlen = {}, ARGV[1]
for i = 2, #ARGV do
  if maxlen == '0' then
    ids[i - 1] = redis.call('XADD', KEYS[1], '*', 'FIELD', ARGV[i])
  else
    ids[i - 1] = redis.call('XADD', KEYS[1], 'MAXLEN', '~', maxlen, '*', 'FIELD', ARGV[i])
  end
end
return ids
""".replace("FIELD", FIELD.decode())
"""XADD of every payload (ARGV[2..]) to KEYS[1], trimmed to about ARGV[1] entries unless it is
0: one command per batch, where a pipeline of XADDs costs the client a command packed and a
reply parsed per entry (19 µs of the client's CPU per 2.8 KB entry against 10 for the script,
measured side by side)."""
CALL_BYTES = 16 << 20
"""Payload bytes per script call at most (a single larger payload goes alone): Redis holds a
whole command in its query buffer before it runs it, and a batch of bodies near their cap
would otherwise near the 1 GB that buffer may hold."""


@dataclass(slots=True, frozen=True)
class Entry:
    id: str
    payload: bytes | None
    """None when the entry has no `x` field, or was trimmed away while pending."""


@dataclass(slots=True)
class Claimed:
    """What one XAUTOCLAIM took over: entries, and ids trimmed from the stream meanwhile."""

    entries: list[Entry] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)
    next_start: str = "0-0"
    """Where the next claim continues; "0-0" once the pending list has been walked through."""


class ExchangeStream:
    """One stream `key` and its consumer group `group` on a `redis.Redis` client."""

    def __init__(self, client: Redis, key: str, group: str, *, maxlen: int = 0) -> None:
        if maxlen < 0:
            raise ValueError(f"maxlen is {maxlen}; it must be 0 (never trim) or more")
        self.client = client
        self.key = key
        self.group = group
        self.maxlen = maxlen
        self.where = f"redis {_where(client)} stream {key}"
        self._add = client.register_script(_ADD)

    @classmethod
    def from_url(
        cls, url: str, key: str, group: str, *, maxlen: int = 0, timeout: float = 0.5
    ) -> ExchangeStream:
        """A client that gives up fast (one reconnect, then `StateUnavailable`), like the
        state's. A worker that reads with `block_ms` needs `timeout` above that wait."""
        client = Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 1),
        )
        return cls(client, key, group, maxlen=maxlen)

    def add(self, payloads: Sequence[bytes]) -> list[str]:
        """Append `payloads` in order; their entry ids. One script call, which Redis runs
        without interleaving another client's, carries up to `CALL_BYTES` of them: a batch
        of large bodies takes several calls, and a failure after the first leaves the calls
        before it added."""
        ids: list[str] = []
        start = 0
        while start < len(payloads):
            end, size = start + 1, len(payloads[start])
            while end < len(payloads) and size + len(payloads[end]) <= CALL_BYTES:
                size += len(payloads[end])
                end += 1
            ids += self._add_call(payloads[start:end])
            start = end
        return ids

    def _add_call(self, payloads: Sequence[bytes]) -> list[str]:
        arguments = (self.maxlen, *payloads)
        replies = self._run(lambda: run_script(self.client, self._add, (self.key,), arguments))
        return [_text(reply) for reply in replies]

    def create_group(self) -> bool:
        """Create the consumer group (and the stream) if missing, reading from the start, so
        entries added before the first worker ran are analysed too. True if it was created."""
        try:
            self.client.xgroup_create(self.key, self.group, id="0", mkstream=True)
        except ResponseError as error:
            if "BUSYGROUP" in str(error):
                return False
            raise self._unavailable(error) from error
        except RedisError as error:
            raise self._unavailable(error) from error
        return True

    def read(self, consumer: str, count: int, *, block_ms: int | None = None) -> list[Entry]:
        """Up to `count` entries never given to any consumer, now given to `consumer`; waits
        up to `block_ms` for one when there are none (None: does not wait)."""
        return self._read(consumer, count, ">", block_ms)

    def read_own(self, consumer: str, count: int, *, after: str = "0") -> list[Entry]:
        """Up to `count` entries given to `consumer` earlier and not acknowledged, after the
        id `after`: what a worker of the same name left when it stopped."""
        return self._read(consumer, count, after, None)

    def _read(self, consumer: str, count: int, start: str, block_ms: int | None) -> list[Entry]:
        streams: dict[KeyT, StreamIdT] = {self.key: start}
        reply = self._run(
            lambda: self.client.xreadgroup(
                self.group, consumer, streams, count=count, block=block_ms
            )
        )
        if not reply:
            return []
        if isinstance(reply, dict):  # RESP3
            return [_entry(item) for item in next(iter(reply.values()))[0]]
        return [_entry(item) for item in reply[0][1]]

    def claim(self, consumer: str, idle_ms: int, count: int, start: str = "0-0") -> Claimed:
        """Take over up to `count` entries pending for more than `idle_ms` with any consumer."""
        reply = self._run(
            lambda: self.client.xautoclaim(
                self.key, self.group, consumer, idle_ms, start_id=start, count=count
            )
        )
        entries = [_entry(item) for item in reply[1] if item is not None]
        gone = [_text(i) for i in reply[2]] if len(reply) > 2 else []
        return Claimed(entries, gone, _text(reply[0]))

    def ack(self, ids: Sequence[str], *, delete: bool = False) -> int:
        """Acknowledge `ids` (and delete them with `delete`) in one round trip; how many of
        them were still pending."""
        if not ids:
            return 0
        pipe = self.client.pipeline(transaction=True)
        pipe.xack(self.key, self.group, *ids)
        if delete:
            pipe.xdel(self.key, *ids)
        replies = self._run(pipe.execute)
        return int(replies[0])

    def forget(self, consumer: str) -> int:
        """Remove `consumer` from the group; entries still pending with it stay pending
        nowhere, so call this only once it has acknowledged everything. Their count."""
        return int(
            self._run(lambda: self.client.xgroup_delconsumer(self.key, self.group, consumer))
        )

    def pending(self) -> int:
        """Entries given to a consumer and not yet acknowledged, across the group."""
        reply = self._run(lambda: self.client.xpending(self.key, self.group))
        return int(reply["pending"])

    def close(self) -> None:
        self.client.close()

    def _run(self, call: Any) -> Any:
        try:
            return call()
        except RedisError as error:
            raise self._unavailable(error) from error

    def _unavailable(self, error: RedisError) -> StateUnavailable:
        return StateUnavailable(
            f"the exchange stream at {self.where} failed ({type(error).__name__}: {error}); "
            "check that Redis runs and this host can reach it"
        )


def _entry(item: Any) -> Entry:
    entry_id, fields = item
    payload = fields.get(FIELD) if fields else None
    return Entry(_text(entry_id), payload if isinstance(payload, bytes) else None)


def _text(value: Any) -> str:
    return value.decode("ascii") if isinstance(value, bytes) else str(value)

"""The state, buckets and blocks a process uses, built from the `state:` section of the config.

    state:
      backend: redis                      # memory (default) | redis
      url: redis://127.0.0.1:6379/0
      prefix: "apishield:"
      timeout: 0.5

In memory, each process keeps its own. On Redis, every process with the same url and prefix
shares one set of rate limits, one block list and one detector state. The processes must also
share the install secret (`data_dir`), since actors named by API key or session are named by
its keyed hash. An in-line guard wants `failover=True` (go on in memory while Redis is away and
say so); an operator's command wants `failover=False`, so a failure is reported, not hidden.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from redis import Redis

from apishield.config import Config
from apishield.limits import Blocks, Buckets
from apishield.state.failover import Failover, FailoverBlocks, FailoverBuckets, FailoverState
from apishield.state.memory import MemoryState
from apishield.state.memory_limits import MemoryBlocks, MemoryBuckets
from apishield.state.redis import RedisState, _where
from apishield.state.redis_limits import RedisBlocks, RedisBuckets
from apishield.stateful import State


@dataclass(slots=True)
class Backends:
    """What `open_backends` built; `failover` is set when Redis is used with failover."""

    state: State
    buckets: Buckets
    blocks: Blocks
    backend: str = "memory"
    """"memory" or where Redis is ("redis 127.0.0.1:6379/0"), for logs and stats."""
    failover: Failover | None = None
    client: Redis | None = field(default=None, repr=False)

    @property
    def degraded(self) -> bool:
        """True while shared state is away and this process decides on its own memory."""
        return self.failover is not None and self.failover.degraded

    def status(self) -> dict[str, object]:
        if self.failover is not None:
            return self.failover.status()
        return {"backend": self.backend, "degraded": False}

    def close(self) -> None:
        if self.client is not None:
            self.client.close()


def open_backends(config: Config, *, failover: bool = True) -> Backends:
    """Backends as `config.state` says; nothing is sent to Redis until the first call."""
    settings = config.state
    if settings.backend == "memory":
        return Backends(MemoryState(config.detect.max_state_keys), MemoryBuckets(), MemoryBlocks())
    shared = RedisState.from_url(settings.url, settings.prefix, timeout=settings.timeout)
    client = shared.client
    where = f"redis {_where(client)}"
    buckets = RedisBuckets(client, settings.prefix)
    blocks = RedisBlocks(client, settings.prefix)
    if not failover:
        return Backends(shared, buckets, blocks, where, client=client)
    health = Failover(where, probe_seconds=settings.probe_seconds, probe=shared.ping)
    return Backends(
        FailoverState(shared, MemoryState(config.detect.max_state_keys), health),
        FailoverBuckets(buckets, MemoryBuckets(), health),
        FailoverBlocks(blocks, MemoryBlocks(), health),
        where,
        health,
        client,
    )

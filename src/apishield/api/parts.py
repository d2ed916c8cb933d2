"""What the API is built from: the store's views, the token, and the live parts a server has.

The API does no analysis itself; a server hands it an `IngestSink` (the live analysis queue), a
`BlockList` (the guards' shared blocks) and a metrics renderer. A read-only server over a store
has none of them, and the routes that need one answer 404 or an empty list saying why.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from apishield.exchange import Exchange
from apishield.limits import Block
from apishield.store.views import Views


class IngestSink(Protocol):
    def offer(self, exchanges: Sequence[Exchange]) -> bool:
        """Queue every exchange for analysis, or none of them (False: full, try again later)."""
        ...

    def fits(self, count: int) -> bool:
        """Whether a batch this large could ever be queued."""
        ...

    def count_skipped(self, lines: int) -> None:
        """Lines of a batch that could not be read."""
        ...

    def stats(self) -> dict[str, Any]:
        """queued, accepted, skipped, lag_seconds: for the overview and /metrics."""
        ...


class BlockList(Protocol):
    shared: bool
    """True when every guard reads these blocks (Redis), False for one process's memory."""

    def list(self) -> list[Block]: ...

    def now(self) -> float:
        """The clock blocks are judged by: the wall clock, or a simulated one in the demo."""
        ...

    def add(self, kind: str, value: str, seconds: float | None, reason: str, action: str) -> Block:
        """Raises ValueError (BlocksError) naming the bad kind, value or action."""
        ...

    def remove(self, kind: str, value: str) -> bool: ...


@dataclass(slots=True)
class ApiParts:
    views: Views
    token: str
    run_id: Callable[[], int | None]
    """The run the API shows: the live one, a chosen one, or the latest."""
    ingest: IngestSink | None = None
    blocks: BlockList | None = None
    metrics: Callable[[], bytes] | None = None
    """Prometheus text exposition, rendered on each scrape."""
    max_batch_bytes: int = 16 * 1024 * 1024

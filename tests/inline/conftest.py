"""Guards for the middleware tests: real engines, analysed exchanges observed through a queue."""

from __future__ import annotations

import queue
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from apishield.config import Config
from apishield.exchange import Exchange
from apishield.inline.guard import Guard
from apishield.privacy import Hasher

MakeGuard = Callable[..., tuple[Guard, "queue.Queue[Exchange]"]]


@pytest.fixture
def make_guard() -> Iterator[MakeGuard]:
    """make_guard(enforce={...}, ingest={...}, **guard_options) -> (guard, analysed exchanges)."""
    guards: list[Guard] = []

    def make(**sections: Any) -> tuple[Guard, queue.Queue[Exchange]]:
        options = {k: sections.pop(k) for k in ("queue_size", "batch_size") if k in sections}
        analysed: queue.Queue[Exchange] = queue.Queue()
        config = Config.model_validate({"data_dir": "/nonexistent", **sections})
        guard = Guard.from_config(config, Hasher(b"i" * 32), on_processed=analysed.put, **options)
        guards.append(guard)
        return guard, analysed

    yield make
    for guard in guards:
        guard.close()

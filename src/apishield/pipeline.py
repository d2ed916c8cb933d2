"""An explicit ordered list of stages over one `Exchange`, where a failing stage is contained."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from apishield.exchange import Exchange

log = logging.getLogger("apishield.pipeline")


class Stage(Protocol):
    """One step of analysis. It reads and writes the exchange and its own state, and does no I/O."""

    name: str

    def __call__(self, exchange: Exchange) -> None: ...


@dataclass
class Pipeline:
    """Two phases: `request` stages may refuse traffic; `response` stages learn from the answer.

    Replay runs both back to back, exactly as live traffic does.
    """

    request_stages: Sequence[Stage]
    response_stages: Sequence[Stage]
    errors: Counter[str] = field(default_factory=Counter)
    """Per stage name, how many exchanges it raised on. Traffic keeps flowing regardless."""

    def run_request(self, exchange: Exchange) -> None:
        self._run(self.request_stages, exchange)

    def run_response(self, exchange: Exchange) -> None:
        self._run(self.response_stages, exchange)

    def run_response_part(self, exchange: Exchange, part: slice) -> None:
        """Some of the response stages, in order: a guard runs those that share state with the
        request phase under its lock, and the rest (detectors, tallies) outside it."""
        self._run(self.response_stages[part], exchange)

    def run(self, exchange: Exchange) -> None:
        self._run(self.request_stages, exchange)
        self._run(self.response_stages, exchange)

    def _run(self, stages: Sequence[Stage], exchange: Exchange) -> None:
        for stage in stages:
            try:
                stage(exchange)
            except Exception:
                self.errors[stage.name] += 1
                # Log the first few per stage with a traceback, then only count: a buggy stage on a
                # busy API must not flood the log any more than it may stop the traffic.
                if self.errors[stage.name] <= 3:
                    log.exception("stage %s failed on %s; skipped", stage.name, exchange.source)

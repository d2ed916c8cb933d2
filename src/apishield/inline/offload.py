"""Finished exchanges sent to a Redis stream for `apishield worker` to analyse (`analysis.mode:
stream`), so the process in front of the API does not spend its interpreter on the response
phase.

The guard's background thread hands over what it drained from its queue; each exchange becomes
one line of apishield JSONL (docs/jsonl-format.md, bodies cut at `ingest.max_body_bytes`, the
real size kept) and the lines go to the stream in one round trip, one command, per
`analysis.batch`. Requests never wait for any of it.

While the stream's Redis is away, `send` hands the exchanges back and the guard analyses them
itself (`analysis.on_unavailable: local`) or drops them, counted. The first failure logs a
WARNING once; then at most one batch every `probe_seconds` tries the stream again, the others go
straight back, so a dead Redis costs one timeout per probe, not per batch.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace

from apishield.config import Config
from apishield.exchange import Exchange
from apishield.ingest.jsonl import exchange_to_jsonl
from apishield.state.stream import ExchangeStream
from apishield.stateful import StateUnavailable

log = logging.getLogger("apishield.inline")


class StreamOffload:
    """Serialises exchanges and adds them to an `ExchangeStream` in batches."""

    def __init__(
        self,
        stream: ExchangeStream,
        *,
        max_body_bytes: int = 1_048_576,
        batch: int = 256,
        local: bool = True,
        probe_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`local`: exchanges the stream did not take are analysed by the caller (else they
        are dropped and counted); `clock` only paces probes."""
        self.stream = stream
        self.max_body_bytes = max_body_bytes
        self.batch = batch
        self.local = local
        self.probe_seconds = probe_seconds
        self.sent = 0
        self.batches = 0
        self.unsent = 0
        """Exchanges handed back while the stream was away (analysed locally or dropped)."""
        self.outages = 0
        self.last_error = ""
        self._clock = clock
        self._away_until: float | None = None
        self._unsent_before = 0
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, config: Config) -> StreamOffload:
        analysis, state = config.analysis, config.state
        stream = ExchangeStream.from_url(
            state.url,
            analysis.stream,
            analysis.group,
            maxlen=analysis.maxlen,
            timeout=state.timeout,
        )
        return cls(
            stream,
            max_body_bytes=config.ingest.max_body_bytes,
            batch=analysis.batch,
            local=analysis.on_unavailable == "local",
            probe_seconds=state.probe_seconds,
        )

    @property
    def degraded(self) -> bool:
        """True while the stream is away and exchanges are analysed locally or dropped."""
        return self._away_until is not None

    def send(self, exchanges: Sequence[Exchange]) -> list[Exchange]:
        """Add `exchanges` to the stream, `batch` per round trip; those it did not take."""
        unsent: list[Exchange] = []
        for start in range(0, len(exchanges), self.batch):
            chunk = exchanges[start : start + self.batch]
            if not self._try(chunk):
                unsent.extend(chunk)
        self.unsent += len(unsent)
        return unsent

    def encode(self, exchange: Exchange) -> bytes:
        """One JSONL line, bodies cut at `max_body_bytes` with their real size kept."""
        return exchange_to_jsonl(capped(exchange, self.max_body_bytes))

    def stats(self) -> dict[str, object]:
        return {
            "stream": self.stream.where,
            "degraded": self.degraded,
            "sent": self.sent,
            "batches": self.batches,
            "unsent": self.unsent,
            "unsent_action": "analysed locally" if self.local else "dropped",
            "outages": self.outages,
            "last_error": self.last_error,
        }

    def close(self) -> None:
        self.stream.close()

    def _try(self, chunk: Sequence[Exchange]) -> bool:
        away_until = self._away_until
        if away_until is not None and self._clock() < away_until:
            return False
        try:
            self.stream.add(encoded(self.encode, chunk))
        except StateUnavailable as error:
            self._lost(error)
            return False
        if away_until is not None:
            self._back()
        self.sent += len(chunk)
        self.batches += 1
        return True

    def _lost(self, error: StateUnavailable) -> None:
        with self._lock:
            self.last_error = str(error)
            first = self._away_until is None
            self._away_until = self._clock() + self.probe_seconds
            if first:
                self.outages += 1
                self._unsent_before = self.unsent
        if first:
            action = "analysed in this process" if self.local else "dropped"
            log.warning(
                "%s; exchanges are %s until it returns (trying again every %gs)",
                error,
                action,
                self.probe_seconds,
            )

    def _back(self) -> None:
        with self._lock:
            self._away_until = None
        log.warning(
            "the exchange stream at %s is back; %d exchanges were not sent meanwhile",
            self.stream.where,
            self.unsent - self._unsent_before,
        )


PAUSE_EVERY = 8
"""Exchanges encoded between two pauses of the thread, each a chance for requests to run."""


def encoded(encode: Callable[[Exchange], bytes], exchanges: Sequence[Exchange]) -> list[bytes]:
    """Each exchange encoded, with a pause every `PAUSE_EVERY`: the interpreter is released and
    a request the app's thread has ready runs first, rather than waiting for the whole batch
    (up to the 5 ms switch interval) behind a thread that answers nobody."""
    lines: list[bytes] = []
    for index, exchange in enumerate(exchanges, 1):
        lines.append(encode(exchange))
        if index % PAUSE_EVERY == 0:
            time.sleep(0)
    return lines


def capped(exchange: Exchange, cap: int) -> Exchange:
    request, response = exchange.request, exchange.response
    request_over = request.body is not None and len(request.body) > cap
    response_over = response is not None and response.body is not None and len(response.body) > cap
    if not (request_over or response_over):
        return exchange
    if request.body is not None and request_over:
        size = max(request.body_size or 0, len(request.body))
        request = replace(request, body=request.body[:cap], body_size=size)
    if response is not None and response.body is not None and response_over:
        size = max(response.body_size or 0, len(response.body))
        response = replace(response, body=response.body[:cap], body_size=size)
    return Exchange(request, response, exchange.started, exchange.duration, exchange.source)

"""The one signature every sink has, and the error that says whether trying again may help."""

from __future__ import annotations

from typing import Protocol

from apishield.alert.alert import Alert


class SinkError(Exception):
    """A delivery that did not happen. `retry` is False when the receiver refused the alert
    itself (a 4xx, a refused recipient): sending it again would be refused again."""

    def __init__(self, reason: str, *, retry: bool = True, after: float | None = None) -> None:
        super().__init__(reason)
        self.retry = retry
        self.after = after
        """Seconds the receiver asked to wait before the next attempt (Retry-After)."""


class Sink(Protocol):
    """Delivers one alert or raises `SinkError`. Runs on its own dispatcher thread only, so it
    may keep a connection between calls without a lock."""

    def send(self, alert: Alert) -> None: ...

    def close(self) -> None:
        """Release connections; called once, on the sink's thread, when it stops."""
        ...

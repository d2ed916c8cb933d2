"""Stdout: one JSON line per alert, for a container's log collector or a pipe into `jq`."""

from __future__ import annotations

import sys
from typing import TextIO

import orjson

from apishield.alert.alert import Alert
from apishield.alert.sinks.base import SinkError


class StdoutSink:
    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream
        """None: whatever `sys.stdout` is when an alert is written."""

    def send(self, alert: Alert) -> None:
        stream = self._stream or sys.stdout
        try:
            stream.write(orjson.dumps(alert.body()).decode() + "\n")
            stream.flush()
        except OSError as error:  # a closed pipe
            raise SinkError(f"stdout: {error}") from error

    def close(self) -> None:
        """The stream belongs to the process."""

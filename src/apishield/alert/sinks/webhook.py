"""Webhook: each alert POSTed as one JSON object (`Alert.body()`), over a pooled httpx client.

`timeout` bounds a whole attempt (connect, send, answer), not each read: see `deadline`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
import orjson

from apishield.alert.alert import Alert
from apishield.alert.sinks.base import SinkError
from apishield.alert.sinks.deadline import Deadline, transport
from apishield.retry_after import retry_after

RETRY_STATUSES = frozenset((408, 425, 429))
"""Refusals that mean "later", besides every 5xx."""
MAX_ANSWER = 64 * 1024
"""Bytes of an answer read (and dropped); a longer one is left unread, its connection closed."""


class HttpPoster:
    """POSTs JSON and turns what goes wrong into a `SinkError` that says whether to retry."""

    def __init__(self, url: str, timeout: float, headers: Mapping[str, str] | None = None) -> None:
        self.url = url
        self._deadline = Deadline(timeout)
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        self._client = httpx.Client(
            timeout=timeout,
            headers={**(headers or {}), "content-type": "application/json"},
            transport=transport(self._deadline, limits),
            trust_env=False,  # an environment proxy would carry the request past the deadline
        )

    def post(self, payload: dict[str, Any]) -> None:
        self._deadline.start()
        try:
            with self._client.stream("POST", self.url, content=orjson.dumps(payload)) as answer:
                _drain(answer)
        except httpx.TimeoutException as error:
            seconds = self._deadline.seconds
            raise SinkError(f"{type(error).__name__}: no answer within {seconds:g} s") from error
        except httpx.HTTPError as error:
            raise SinkError(f"{type(error).__name__}: {error}") from error
        if answer.is_success:
            return
        status = answer.status_code
        retry = status >= 500 or status in RETRY_STATUSES
        after = retry_after(answer.headers.get("retry-after")) if retry else None
        raise SinkError(f"the receiver answered {status}", retry=retry, after=after)

    def close(self) -> None:
        self._client.close()


def _drain(answer: httpx.Response) -> None:
    """Read an answer's body (nothing needs it) so its connection can be kept; one longer than
    MAX_ANSWER is not held in memory but left, and its connection closed with it."""
    read = 0
    for chunk in answer.iter_raw():
        read += len(chunk)
        if read > MAX_ANSWER:
            return


class WebhookSink:
    def __init__(self, url: str, timeout: float, headers: Mapping[str, str] | None = None) -> None:
        self._poster = HttpPoster(url, timeout, headers)

    def send(self, alert: Alert) -> None:
        self._poster.post(alert.body())

    def close(self) -> None:
        self._poster.close()

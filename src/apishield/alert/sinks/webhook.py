"""Webhook: each alert POSTed as one JSON object (`Alert.body()`), over a pooled httpx client."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
import orjson

from apishield.alert.alert import Alert
from apishield.alert.sinks.base import SinkError
from apishield.retry_after import retry_after

RETRY_STATUSES = frozenset((408, 425, 429))
"""Refusals that mean "later", besides every 5xx."""


class HttpPoster:
    """POSTs JSON and turns what goes wrong into a `SinkError` that says whether to retry."""

    def __init__(self, url: str, timeout: float, headers: Mapping[str, str] | None = None) -> None:
        self.url = url
        self._client = httpx.Client(
            timeout=timeout,
            headers={**(headers or {}), "content-type": "application/json"},
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
        )

    def post(self, payload: dict[str, Any]) -> None:
        try:
            answer = self._client.post(self.url, content=orjson.dumps(payload))
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


class WebhookSink:
    def __init__(self, url: str, timeout: float, headers: Mapping[str, str] | None = None) -> None:
        self._poster = HttpPoster(url, timeout, headers)

    def send(self, alert: Alert) -> None:
        self._poster.post(alert.body())

    def close(self) -> None:
        self._poster.close()

"""Reading HTTP's Retry-After, which apishield's senders honour: guards posting to a server,
and alert sinks posting to webhooks and Slack."""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds a Retry-After header asks for: delay-seconds or an HTTP-date (RFC 9110 10.2.3),
    never negative; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))

"""Slack incoming webhooks: a plain `text` (notifications, old clients) and Block Kit `blocks`.

Slack reads `&`, `<` and `>` as markup in both, so they are escaped; a header is plain text of at
most 150 characters, a section holds at most 10 fields.
"""

from __future__ import annotations

from typing import Any

from apishield.alert.alert import Alert, iso
from apishield.alert.sinks.webhook import HttpPoster

MAX_HEADER = 150
MAX_FIELD = 1_000


class SlackSink:
    def __init__(self, url: str, timeout: float) -> None:
        self._poster = HttpPoster(url, timeout)

    def send(self, alert: Alert) -> None:
        self._poster.post(payload(alert))

    def close(self) -> None:
        self._poster.close()


def payload(alert: Alert) -> dict[str, Any]:
    """The JSON Slack's incoming webhook takes for one alert."""
    headline = f"[{alert.severity.label.upper()}] {_what(alert)}: {alert.title}"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _cut(headline, MAX_HEADER)}},
        {"type": "section", "fields": _fields(alert)},
    ]
    if alert.evidence:
        lines = "\n".join(f"`{escape(k)}`: {escape(v)}" for k, v in alert.evidence.items())
        blocks.append(_mrkdwn_section(f"*Evidence*\n{lines}"))
    seen = f"first seen {iso(alert.first_seen)} · last seen {iso(alert.last_seen)}"
    blocks.append(
        {"type": "context", "elements": [{"type": "mrkdwn", "text": f"apishield · {seen}"}]}
    )
    return {"text": escape(headline), "blocks": blocks}


def escape(text: str) -> str:
    """Slack's three control characters as entities, so user text cannot mention or link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _what(alert: Alert) -> str:
    return f"incident {alert.incident_id}" if alert.kind == "incident" else "finding"


def _fields(alert: Alert) -> list[dict[str, str]]:
    named = [
        ("Severity", alert.severity.label),
        ("Category", alert.category),
        ("Rules", ", ".join(alert.rules)),
        ("Actors", ", ".join(alert.actors)),
        ("IPs", ", ".join(alert.ips)),
        ("Endpoints", "\n".join(alert.endpoints)),
    ]
    return [
        {"type": "mrkdwn", "text": _cut(f"*{name}*\n{escape(value)}", MAX_FIELD)}
        for name, value in named
        if value
    ]


def _mrkdwn_section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _cut(text, 2_900)}}


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"

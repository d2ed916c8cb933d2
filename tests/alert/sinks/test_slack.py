"""Slack: an incoming-webhook payload (text and blocks) with Slack's markup escaped, delivered to
a real HTTP server."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from apishield.alert import Alerter
from apishield.alert.alert import from_incident
from apishield.alert.sinks.slack import MAX_HEADER, payload
from apishield.exchange import Severity
from apishield.testing import T0

from ..conftest import HttpReceiver, summary


def test_the_payload_has_text_and_blocks() -> None:
    alert = from_incident(summary(3, (Severity.CRITICAL,)), T0)
    message = payload(alert)
    assert message["text"] == "[CRITICAL] incident 3: Title of enum.sequential-walk"
    kinds = [block["type"] for block in message["blocks"]]
    assert kinds == ["header", "section", "section", "context"]
    fields = {
        f["text"].split("\n")[0]: f["text"].split("\n", 1)[1]
        for f in message["blocks"][1]["fields"]
    }
    assert fields["*Rules*"] == "enum.sequential-walk"
    assert fields["*Endpoints*"] == "GET api.example.com /v2/customers/{id}"
    assert len(message["blocks"][1]["fields"]) <= 10


def test_markup_is_escaped_and_the_header_is_short() -> None:
    alert = replace(
        from_incident(summary(), T0),
        title="<!channel> & <https://evil.example|click> " + "x" * 300,
        actors=("id:<@U123>",),
    )
    message = payload(alert)
    assert "<!channel>" not in message["text"]
    assert "&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;" in message["text"]
    header = message["blocks"][0]["text"]
    assert header["type"] == "plain_text"
    assert len(header["text"]) <= MAX_HEADER
    assert "id:&lt;@U123&gt;" in str(message["blocks"][1])


def test_delivered_to_an_incoming_webhook(
    alerters: Callable[..., Alerter], http: Callable[..., HttpReceiver]
) -> None:
    receiver = http()
    alerter = alerters({"sinks": [{"type": "slack", "url": receiver.url, "timeout": 10}]})
    alerter.incident(summary(5))
    [(_, headers, body)] = receiver.inbox.wait(1)
    assert headers["content-type"] == "application/json"
    assert set(body) == {"text", "blocks"}
    assert body["text"].startswith("[HIGH] incident 5:")


def test_slack_rate_limiting_is_waited_out_as_its_retry_after_says(
    alerters: Callable[..., Alerter], http: Callable[..., HttpReceiver]
) -> None:
    receiver = http(statuses=[429], retry_after="1")
    sink = {"type": "slack", "url": receiver.url, "timeout": 10}
    alerter = alerters({"sinks": [sink], "backoff_seconds": 0.01})
    alerter.incident(summary(5))
    receiver.inbox.wait(1)
    first, second = receiver.times
    assert second - first >= 0.95  # Slack's second, not the configured 10 ms backoff
    assert alerter.stats()["sinks"]["slack"]["retried"] == 1

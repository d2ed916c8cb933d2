"""Webhook: the alert's JSON body and the configured headers reach a real HTTP server; an attempt
ends at its timeout however the receiver answers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from apishield.alert import Alerter
from apishield.alert.alert import MAX_VALUE
from apishield.exchange import Severity

from ..conftest import Dripper, HttpReceiver, summary, wait_until, webhook


def test_the_json_body_and_headers_arrive(
    alerters: Callable[..., Alerter], http: Callable[..., HttpReceiver]
) -> None:
    receiver = http()
    headers = {"Authorization": "Bearer test-token", "X-Team": "secops"}
    alerter = alerters({"sinks": [webhook(receiver.url, headers=headers)]})
    alerter.incident(summary(9, (Severity.HIGH, Severity.CRITICAL), rules=("a.one", "b.two")))
    [(path, got_headers, body)] = receiver.inbox.wait(1)
    assert path == "/hook"
    assert got_headers["authorization"] == "Bearer test-token"
    assert got_headers["x-team"] == "secops"
    assert got_headers["content-type"] == "application/json"
    assert body == {
        "source": "apishield",
        "kind": "incident",
        "severity": "critical",
        "title": "Title of b.two",
        "category": "API1:2023",
        "incident_id": 9,
        "scope": "actor:ip:203.0.113.9",
        "rules": ["a.one", "b.two"],
        "actors": ["ip:203.0.113.9"],
        "ips": ["203.0.113.9"],
        "endpoints": ["GET api.example.com /v2/customers/{id}"],
        "first_seen": "2023-11-14T22:13:20.000Z",
        "last_seen": "2023-11-14T22:13:21.000Z",
        "raised_at": body["raised_at"],
        "evidence": {"a.one.objects": "120", "b.two.objects": "120"},
    }


def test_an_answer_sent_a_byte_at_a_time_fails_the_attempt_at_its_timeout(
    alerters: Callable[..., Alerter], receivers: list[Any]
) -> None:
    # Each byte comes well within a read's timeout; the whole answer would take 20 s.
    answer = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nx-pad: " + b"a" * 200 + b"\r\n\r\n"
    receiver = Dripper(answer, interval=0.1, reads_first=True)
    receivers.append(receiver)
    sink = webhook(receiver.url, timeout=0.5)
    alerter = alerters({"sinks": [sink], "retries": 1, "backoff_seconds": 0.01})
    alerter.incident(summary(1))
    wait_until(lambda: alerter.stats()["sinks"]["webhook"]["failed"] == 1)
    stats = alerter.stats()["sinks"]["webhook"]
    assert (stats["sent"], stats["retried"], stats["queued"]) == (0, 1, 0)
    assert receiver.connections == 2  # a fresh connection for the retry


def test_a_long_identity_reaches_the_body_short_and_escaped(
    alerters: Callable[..., Alerter], http: Callable[..., HttpReceiver]
) -> None:
    receiver = http()
    alerter = alerters({"sinks": [webhook(receiver.url)]})
    alerter.incident(summary(2, actor="id:eve\r\nX-Forged: 1" + "e" * 100_000))
    [(_, _, body)] = receiver.inbox.wait(1)
    [actor] = body["actors"]
    assert len(actor) == MAX_VALUE
    assert actor.startswith("id:eve\\r\\nX-Forged: 1ee")
    assert actor.endswith("…")
    assert len(body["scope"]) == MAX_VALUE

"""Email against aiosmtpd on 127.0.0.1: the message, a login with the password from its file,
a refused recipient that is not retried, an unreadable password file named in the error, a
server too slow for an attempt's timeout, and traffic's line breaks kept inside their line."""

from __future__ import annotations

import email
import email.policy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from apishield.alert import Alerter
from apishield.alert.alert import from_incident
from apishield.alert.sinks.email import EmailSink
from apishield.config import ConfigError
from apishield.exchange import Severity
from apishield.testing import T0

from ..conftest import Dripper, MailServer, summary, wait_until


def mail_sink(server: MailServer, **options: Any) -> dict[str, Any]:
    return {
        "type": "email",
        "port": server.port,
        "sender": "apishield@example.org",
        "to": ["soc@example.org", "oncall@example.org"],
        "timeout": 5,
        **options,
    }


def test_an_alert_arrives_as_text_with_its_json(
    alerters: Callable[..., Alerter], receivers: list[Any]
) -> None:
    server = MailServer()
    receivers.append(server)
    alerter = alerters({"sinks": [mail_sink(server, subject_prefix="[api]")]})
    alerter.incident(summary(6, (Severity.CRITICAL,)))
    [(sender, recipients, content)] = server.handler.inbox.wait(1)
    assert sender == "apishield@example.org"
    assert recipients == ["soc@example.org", "oncall@example.org"]
    message = email.message_from_bytes(content, policy=email.policy.default)
    assert message["Subject"] == "[api] [critical] Title of enum.sequential-walk"
    text = message.get_body(("plain",))
    assert text is not None
    assert "Incident 6: Title of enum.sequential-walk" in text.get_content()
    assert "Endpoints:  GET api.example.com /v2/customers/{id}" in text.get_content()
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "alert.json"
    assert json.loads(attachment.get_content())["incident_id"] == 6


def test_login_reads_the_password_file(
    alerters: Callable[..., Alerter], receivers: list[Any], tmp_path: Path
) -> None:
    server = MailServer(password="s3cret-pass")
    receivers.append(server)
    secret = tmp_path / "smtp-password"
    secret.write_text("s3cret-pass\n")
    sink = mail_sink(server, username="alerts", password_file=str(secret))
    alerter = alerters({"sinks": [sink]})
    alerter.incident(summary(1))
    server.handler.inbox.wait(1)
    assert server.logins == [(b"alerts", b"s3cret-pass")]


def test_a_wrong_password_is_not_retried(
    alerters: Callable[..., Alerter], receivers: list[Any], tmp_path: Path
) -> None:
    server = MailServer(password="right")
    receivers.append(server)
    secret = tmp_path / "smtp-password"
    secret.write_text("wrong")
    sink = mail_sink(server, username="alerts", password_file=str(secret))
    alerter = alerters({"sinks": [sink], "backoff_seconds": 0.01})
    alerter.incident(summary(1))
    wait_until(lambda: alerter.stats()["sinks"]["email"]["failed"] == 1)
    assert alerter.stats()["sinks"]["email"]["retried"] == 0
    assert server.handler.inbox.items == []


def test_a_refused_recipient_is_not_retried(
    alerters: Callable[..., Alerter], receivers: list[Any]
) -> None:
    server = MailServer(refuse=True)
    receivers.append(server)
    alerter = alerters({"sinks": [mail_sink(server)], "backoff_seconds": 0.01})
    alerter.incident(summary(1))
    wait_until(lambda: alerter.stats()["sinks"]["email"]["failed"] == 1)
    assert alerter.stats()["sinks"]["email"]["retried"] == 0


def test_an_unreadable_password_file_is_named(
    alerters: Callable[..., Alerter], tmp_path: Path
) -> None:
    sink = {
        "type": "email",
        "sender": "a@example.org",
        "to": ["b@example.org"],
        "username": "alerts",
        "password_file": str(tmp_path / "missing"),
    }
    with pytest.raises(ConfigError, match=r"password_file .*missing.*create it"):
        alerters({"sinks": [sink]})


def dripping_sink(server: Dripper, timeout: float) -> dict[str, Any]:
    return {
        "type": "email",
        "port": server.port,
        "sender": "a@example.org",
        "to": ["b@example.org"],
        "timeout": timeout,
    }


@pytest.mark.parametrize(
    ("answer", "interval"),
    [
        (b"220 " + b"x" * 200 + b"\r\n", 0.1),  # the banner itself: 20 s
        (b"220 mail\r\n250-" + b"x" * 200 + b"\r\n", 0.05),  # the banner in time, EHLO's not
    ],
    ids=["banner", "ehlo"],
)
def test_a_server_answering_a_byte_at_a_time_fails_the_attempt_at_its_timeout(
    alerters: Callable[..., Alerter], receivers: list[Any], answer: bytes, interval: float
) -> None:
    server = Dripper(answer, interval, reads_first=False)
    receivers.append(server)
    sink = dripping_sink(server, timeout=1.0)
    alerter = alerters({"sinks": [sink], "retries": 1, "backoff_seconds": 0.01})
    alerter.incident(summary(1))
    wait_until(lambda: alerter.stats()["sinks"]["email"]["failed"] == 1)
    stats = alerter.stats()["sinks"]["email"]
    assert (stats["sent"], stats["retried"], stats["queued"]) == (0, 1, 0)
    assert server.connections == 2


def test_a_line_break_from_traffic_adds_no_line_to_the_text() -> None:
    sink = EmailSink("127.0.0.1", 25, sender="a@example.org", to=["soc@example.org"])
    actor = "id:eve\r\nBcc: x@evil.example\r\n\x1b[2J"
    message = sink.message(from_incident(summary(3, actor=actor), T0))
    body = message.get_body(("plain",))
    assert body is not None
    lines = body.get_content().splitlines()
    assert "Actors:     id:eve\\r\\nBcc: x@evil.example\\r\\n\\x1b[2J" in lines
    assert not any(line.startswith("Bcc:") for line in lines)
    assert message["Bcc"] is None

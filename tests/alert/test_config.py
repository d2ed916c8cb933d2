"""The `alerts:` section: defaults, every sink type read, and each typo named with its fix."""

from __future__ import annotations

import pytest

from apishield.config import (
    ConfigError,
    EmailSinkConfig,
    SyslogSinkConfig,
    WebhookSinkConfig,
    parse_config,
)

SINKS = """
alerts:
  findings_min_severity: medium
  cooldown_seconds: 60
  sinks:
    - type: webhook
      url: https://siem.example/hook
      headers: {Authorization: Bearer x}
      kinds: [incident]
    - type: slack
      url: https://hooks.slack.com/services/T/B/X
    - type: syslog
      host: 10.0.0.9
      port: 6514
      protocol: tcp
      format: cef
      facility: auth
    - type: email
      host: smtp.example
      port: 587
      starttls: true
      username: alerts
      password_file: /etc/apishield/smtp-password
      sender: apishield@example.org
      to: [soc@example.org]
    - type: stdout
      min_severity: critical
"""


def test_alerts_are_off_by_default() -> None:
    alerts = parse_config("").alerts
    assert alerts.sinks == []
    assert (alerts.findings_min_severity, alerts.cooldown_seconds) == ("high", 600)
    assert (alerts.queue, alerts.retries, alerts.backoff_seconds) == (1000, 5, 0.5)


def test_every_sink_type_is_read() -> None:
    alerts = parse_config(SINKS).alerts
    assert [sink.type for sink in alerts.sinks] == ["webhook", "slack", "syslog", "email", "stdout"]
    webhook, _, syslog, mail, stdout = alerts.sinks
    assert isinstance(webhook, WebhookSinkConfig)
    assert (webhook.kinds, webhook.min_severity) == (["incident"], "high")
    assert isinstance(syslog, SyslogSinkConfig)
    assert (syslog.protocol, syslog.format, syslog.facility) == ("tcp", "cef", "auth")
    assert isinstance(mail, EmailSinkConfig)
    assert mail.starttls and mail.to == ["soc@example.org"]
    assert stdout.min_severity == "critical"


def _problem(sink: str) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_config(f"alerts:\n  sinks:\n    - {sink}\n")
    return str(caught.value)


def test_a_misspelt_type_key_is_named() -> None:
    message = _problem("tpye: webhook\n      url: http://x")
    assert "alerts.sinks.0.tpye: unknown key; did you mean 'type'?" in message
    assert "webhook, slack, syslog, email, stdout" in message


def test_a_misspelt_type_gets_a_suggestion() -> None:
    message = _problem("type: webhok\n      url: http://x")
    assert "alerts.sinks.0.type: no such sink; did you mean 'webhook'?" in message
    assert "valid types: webhook, slack, syslog, email, stdout" in message


def test_a_missing_type_lists_the_types() -> None:
    assert "alerts.sinks.0.type: missing. A sink needs type: webhook" in _problem("url: http://x")


def test_an_unknown_key_in_a_sink_lists_its_keys() -> None:
    message = _problem("type: syslog\n      hostname: x")
    assert "alerts.sinks.0.hostname: unknown key for a syslog sink. Did you mean 'host'?" in message
    assert "Valid keys: facility, format, host, kinds, min_severity, port, protocol" in message


def test_an_inline_password_is_refused_without_echoing_it() -> None:
    message = _problem(
        "type: email\n      sender: a@b\n      to: [c@d]\n      password: hunter2-secret"
    )
    assert "alerts.sinks.0.password: unknown key" in message
    assert "password_file" in message
    assert "hunter2-secret" not in message


@pytest.mark.parametrize(
    ("sink", "expected"),
    [
        ("type: webhook\n      url: ftp://x", r"url: .*http\(s\)://host"),
        ("type: webhook", r"alerts\.sinks\.0\.webhook\.url: Field required"),
        ("type: syslog\n      protocol: sctp", r"protocol: 'sctp' is not valid; .*'udp' or 'tcp'"),
        ("type: syslog\n      facility: local9", r"facility: 'local9' is not valid; .*'local7'"),
        ("type: stdout\n      min_severity: hgh", r"min_severity: 'hgh' is not valid; .*'high'"),
        ("type: stdout\n      kinds: [incidents]", r"kinds\.0: 'incidents' is not valid"),
        ("type: email\n      sender: a\n      to: []", r"to: List should have at least 1 item"),
        (
            "type: email\n      sender: a\n      to: [b]\n      username: u",
            "set both username and password_file",
        ),
    ],
)
def test_bad_values_name_the_key_and_the_fix(sink: str, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        parse_config(f"alerts:\n  sinks:\n    - {sink}\n")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("findings_min_severity: hgh", r"'hgh' is not valid; .*'off'"),
        ("cooldown: 5", "Did you mean 'cooldown_seconds'"),
        ("queue: 0", r"alerts\.queue: Input should be greater than or equal to 1"),
        ("backoff_seconds: 60", r"alerts\.backoff_seconds: Input should be less than or equal"),
    ],
)
def test_section_values_are_checked(text: str, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        parse_config(f"alerts:\n  {text}\n")

"""Sinks: one module per receiver kind, each a class with `send(alert)` and `close()`.

`build_sink` is the one place that maps a configured `type` to its class.
"""

from __future__ import annotations

import ssl
from pathlib import Path

from apishield.alert.sinks.base import Sink, SinkError
from apishield.alert.sinks.email import EmailSink
from apishield.alert.sinks.slack import SlackSink
from apishield.alert.sinks.stdout import StdoutSink
from apishield.alert.sinks.syslog import SyslogSink
from apishield.alert.sinks.webhook import WebhookSink
from apishield.config import (
    ConfigError,
    EmailSinkConfig,
    SinkConfig,
    SlackSinkConfig,
    StdoutSinkConfig,
    SyslogSinkConfig,
    WebhookSinkConfig,
)

__all__ = ["Sink", "SinkError", "build_sink"]


def build_sink(config: SinkConfig) -> Sink:
    """The sink an `alerts.sinks` entry describes; ConfigError for an unreadable password or CA
    file."""
    if isinstance(config, WebhookSinkConfig):
        return WebhookSink(config.url, config.timeout, config.headers)
    if isinstance(config, SlackSinkConfig):
        return SlackSink(config.url, config.timeout)
    if isinstance(config, SyslogSinkConfig):
        return SyslogSink(
            config.host,
            config.port,
            protocol=config.protocol,
            form=config.format,
            facility=config.facility,
            timeout=config.timeout,
        )
    if isinstance(config, EmailSinkConfig):
        return _email(config)
    if isinstance(config, StdoutSinkConfig):
        return StdoutSink()
    raise TypeError(f"no sink for {type(config).__name__}")  # every union member is above


def _email(config: EmailSinkConfig) -> EmailSink:
    password = _password(config.password_file) if config.password_file is not None else None
    return EmailSink(
        config.host,
        config.port,
        sender=config.sender,
        to=config.to,
        subject_prefix=config.subject_prefix,
        starttls=config.starttls,
        tls=_tls(config.ca_file) if config.starttls else None,
        username=config.username,
        password=password,
        timeout=config.timeout,
    )


def _tls(ca_file: Path | None) -> ssl.SSLContext:
    """The context STARTTLS verifies the server with: `ca_file`'s CA, or the system's."""
    try:
        return ssl.create_default_context(cafile=str(ca_file) if ca_file is not None else None)
    except (OSError, ssl.SSLError) as error:
        raise ConfigError(f"alerts: email ca_file {ca_file}: cannot load it: {error}") from error


def _password(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(
            f"alerts.sinks: cannot read the email password_file {path}: {error.strerror}; "
            "create it (mode 0600) holding the SMTP password, or remove username and password_file"
        ) from error
    return text.rstrip("\r\n")

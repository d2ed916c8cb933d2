"""The `alerts:` section: where incidents and high-severity findings are sent, per sink."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from apishield.config.section import Section

SeverityName = Literal["critical", "high", "medium", "low", "info"]
AlertKind = Literal["incident", "finding"]
SINK_TYPES = ("webhook", "slack", "syslog", "email", "stdout")
Facility = Literal[
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron",
    "authpriv", "ftp", "ntp", "audit", "alert", "clock",
    "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
]  # fmt: skip
"""RFC 5424 facilities in code order: `get_args(Facility).index(name)` is the number."""


class _SinkSection(Section):
    min_severity: SeverityName = "high"
    """Alerts below this severity skip this sink."""
    kinds: list[AlertKind] = Field(default_factory=lambda: list(get_args(AlertKind)), min_length=1)
    """Which alerts this sink takes: incidents, per-request findings, or both."""


def _http_url(url: str) -> str:
    if not url.startswith(("http://", "https://")):
        raise ValueError("write the receiver's address as http(s)://host[:port]/path")
    return url


class WebhookSinkConfig(_SinkSection):
    """Each alert POSTed as one JSON object."""

    type: Literal["webhook"]
    url: str
    headers: dict[str, str] = Field(default_factory=dict)
    """Sent with every request, e.g. {"Authorization": "Bearer ..."}."""
    timeout: float = Field(default=5.0, gt=0, le=60)
    """Seconds for the receiver to connect and answer before the attempt counts as failed."""

    @field_validator("url")
    @classmethod
    def _url(cls, url: str) -> str:
        return _http_url(url)


class SlackSinkConfig(_SinkSection):
    """A Slack incoming webhook: text plus Block Kit blocks."""

    type: Literal["slack"]
    url: str
    """The incoming webhook's address (https://hooks.slack.com/services/...); keep it secret."""
    timeout: float = Field(default=5.0, gt=0, le=60)

    @field_validator("url")
    @classmethod
    def _url(cls, url: str) -> str:
        return _http_url(url)


class SyslogSinkConfig(_SinkSection):
    """RFC 5424 lines (or CEF in an RFC 5424 header) over UDP, or TCP framed by octet counting
    (RFC 6587)."""

    type: Literal["syslog"]
    host: str = "127.0.0.1"
    port: int = Field(default=514, ge=1, le=65535)
    protocol: Literal["udp", "tcp"] = "udp"
    format: Literal["rfc5424", "cef"] = "rfc5424"
    facility: Facility = "local0"
    timeout: float = Field(default=5.0, gt=0, le=60)
    """Seconds to connect and write over TCP."""


class EmailSinkConfig(_SinkSection):
    """One email per alert over SMTP; the password, if any, is read from a file."""

    type: Literal["email"]
    host: str = "127.0.0.1"
    port: int = Field(default=25, ge=1, le=65535)
    starttls: bool = False
    """Upgrade the connection with STARTTLS (the server's certificate is verified)."""
    ca_file: Path | None = None
    """PEM file of the CA that signed the mail server's certificate, for a relay with a private
    CA; unset, the system's trusted CAs."""
    username: str | None = None
    password_file: Path | None = None
    """A file holding the SMTP password (keep it mode 0600); never the password itself."""
    sender: str
    to: list[str] = Field(min_length=1)
    subject_prefix: str = "[apishield]"
    timeout: float = Field(default=10.0, gt=0, le=120)

    @model_validator(mode="after")
    def _credentials_together(self) -> EmailSinkConfig:
        if self.ca_file is not None and not self.starttls:
            raise ValueError("ca_file verifies the server's certificate: set starttls: true too")
        if (self.username is None) != (self.password_file is None):
            raise ValueError(
                "set both username and password_file to log in, or neither to send without"
            )
        return self


class StdoutSinkConfig(_SinkSection):
    """One JSON line per alert on standard output."""

    type: Literal["stdout"]


_SINK_MODELS: dict[str, type[_SinkSection]] = {
    "webhook": WebhookSinkConfig,
    "slack": SlackSinkConfig,
    "syslog": SyslogSinkConfig,
    "email": EmailSinkConfig,
    "stdout": StdoutSinkConfig,
}


def _known_sink(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """Name a mistyped `type` or key by itself, with the valid choices: the union alone would
    say only "unable to extract tag", and `_explain` cannot list keys inside a list."""
    if isinstance(value, dict):
        problem = _sink_problem(value)
        if problem is not None:
            key, message = problem
            error = PydanticCustomError("sink", message)
            shown = value.get("type") if key == "type" else key  # never a value: it may be secret
            raise ValidationError.from_exception_data(
                "sink", [InitErrorDetails(type=error, loc=(key,), input=shown)]
            )
    return handler(value)


def _sink_problem(sink: dict[Any, Any]) -> tuple[str, str] | None:
    """(key, what is wrong with it) for the first mistyped type or key of a sink, else None."""
    kind = sink.get("type")
    if kind is None:
        near = difflib.get_close_matches("type", [str(k) for k in sink], n=1)
        what = "unknown key; did you mean 'type'?" if near else "missing."
        return (near[0] if near else "type"), f"{what} A sink needs type: {', '.join(SINK_TYPES)}"
    model = _SINK_MODELS.get(kind) if isinstance(kind, str) else None
    if model is None:
        hint = difflib.get_close_matches(str(kind), SINK_TYPES, n=1)
        fix = f"did you mean '{hint[0]}'? " if hint else ""
        return "type", f"no such sink; {fix}valid types: {', '.join(SINK_TYPES)}"
    valid = sorted(model.model_fields)
    unknown = [str(key) for key in sink if key not in model.model_fields]
    if not unknown:
        return None
    hint = difflib.get_close_matches(unknown[0], valid, n=1)
    fix = f" Did you mean '{hint[0]}'?" if hint else ""
    if unknown[0] == "password":
        fix = " Passwords stay out of the config: put it in a file named by password_file."
    return unknown[0], f"unknown key for a {kind} sink.{fix} Valid keys: {', '.join(valid)}"


SinkConfig = Annotated[
    WebhookSinkConfig | SlackSinkConfig | SyslogSinkConfig | EmailSinkConfig | StdoutSinkConfig,
    Field(discriminator="type"),
    WrapValidator(_known_sink),
]


class AlertsConfig(Section):
    """Alerts in real time, on incidents and high-severity findings, to each sink listed.

        alerts:
          findings_min_severity: high
          cooldown_seconds: 600
          sinks:
            - type: webhook
              url: https://siem.example/hooks/apishield
            - type: syslog
              host: 10.0.0.9
              protocol: tcp
              format: cef

    Each sink has its own thread and bounded queue: a slow or dead receiver delays only its own
    alerts, never analysis. See docs/alerts.md."""

    findings_min_severity: Literal["critical", "high", "medium", "low", "info", "off"] = "high"
    """Per-request findings at or above this severity alert; "off" alerts on incidents only."""
    cooldown_seconds: float = Field(default=600.0, ge=0)
    """After a finding alert, the same (actor, rule) stays quiet on that sink this long (wall
    clock). Incidents alert when they open and when their severity rises."""
    queue: int = Field(default=1_000, ge=1, le=1_000_000)
    """Alerts waiting per sink; a full queue drops the new alert and counts it."""
    retries: int = Field(default=5, ge=0, le=20)
    """Attempts after the first before an alert is given up and counted as failed."""
    backoff_seconds: float = Field(default=0.5, ge=0, le=30)
    """Wait before the first retry, doubled for each one after, at most 30 s."""
    sinks: list[SinkConfig] = Field(default_factory=list)
    """Where alerts go: webhook, slack, syslog, email, stdout. None: no alerts."""

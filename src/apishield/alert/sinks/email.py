"""Email over SMTP: one message per alert, a readable text body and the JSON body attached.

A connection per alert: mail servers drop idle sessions, and alerts are rare enough. The password
is read from its file by `Alerter.from_config`, once, and never logged.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from email.message import EmailMessage

import orjson

from apishield.alert.alert import Alert, iso, printable
from apishield.alert.sinks.base import SinkError


class EmailSink:
    def __init__(
        self,
        host: str,
        port: int,
        *,
        sender: str,
        to: list[str],
        subject_prefix: str = "[apishield]",
        starttls: bool = False,
        tls: ssl.SSLContext | None = None,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self._address = (host, port)
        self.sender, self.to, self.subject_prefix = sender, list(to), subject_prefix
        self._starttls = starttls
        self._tls = tls
        self._login = (
            (username, password) if username is not None and password is not None else None
        )
        self._timeout = timeout
        self._local = socket.gethostname()  # smtplib's default (getfqdn) may wait on DNS

    def send(self, alert: Alert) -> None:
        message = self.message(alert)
        try:
            with smtplib.SMTP(
                *self._address, timeout=self._timeout, local_hostname=self._local
            ) as smtp:
                if self._starttls:
                    smtp.starttls(context=self._context())
                if self._login is not None:
                    smtp.login(*self._login)
                smtp.send_message(message)
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPNotSupportedError) as error:
            raise SinkError(f"the mail server refused: {error}", retry=False) from error
        except ssl.SSLCertVerificationError as error:
            # A certificate that does not verify will not verify on the next attempt either.
            raise SinkError(
                f"the mail server's certificate: {error.verify_message}", retry=False
            ) from error
        except smtplib.SMTPResponseException as error:
            # 4xx is "try later"; 5xx (a refused sender, bad credentials) will not change.
            retry = error.smtp_code < 500
            raise SinkError(f"the mail server answered {error.smtp_code}", retry=retry) from error
        except OSError as error:  # smtplib's other errors are OSErrors too
            raise SinkError(f"smtp {self._address[0]}:{self._address[1]}: {error}") from error

    def _context(self) -> ssl.SSLContext:
        """`tls` as given, or one that verifies the server against the system's CAs."""
        if self._tls is None:
            self._tls = ssl.create_default_context()
        return self._tls

    def message(self, alert: Alert) -> EmailMessage:
        message = EmailMessage()
        subject = f"{self.subject_prefix} [{alert.severity.label}] {alert.title}"
        message["Subject"] = " ".join(subject.split())  # no line breaks in a header
        message["From"] = self.sender
        message["To"] = ", ".join(self.to)
        message.set_content(text(alert))
        body = orjson.dumps(alert.body(), option=orjson.OPT_INDENT_2)
        message.add_attachment(body, maintype="application", subtype="json", filename="alert.json")
        return message

    def close(self) -> None:
        """Nothing stays open between alerts."""


def text(alert: Alert) -> str:
    """The body a person reads: one line per field (`printable`, whatever the alert holds)."""
    what = f"Incident {alert.incident_id}" if alert.kind == "incident" else "Finding"
    lines = [
        f"{what}: {alert.title}",
        "",
        f"Severity:   {alert.severity.label}",
        f"Category:   {alert.category or '-'}",
        f"Rules:      {', '.join(alert.rules) or '-'}",
        f"Actors:     {', '.join(alert.actors) or '-'}",
        f"IPs:        {', '.join(alert.ips) or '-'}",
        f"Endpoints:  {', '.join(alert.endpoints) or '-'}",
        f"First seen: {iso(alert.first_seen)}",
        f"Last seen:  {iso(alert.last_seen)}",
    ]
    if alert.evidence:
        lines += ["", "Evidence:", *(f"  {k}: {v}" for k, v in alert.evidence.items())]
    return "\n".join(printable(line) for line in lines) + "\n"

"""Email over SMTP: one message per alert, a readable text body and the JSON body attached.

A connection per alert: mail servers drop idle sessions, and alerts are rare enough. The password
is read from its file by `Alerter.from_config`, once, and never logged.

smtplib's timeout bounds each socket operation, so a server that sends its banner a byte a second
would hold an attempt for good. A watchdog ends the attempt at `timeout`, from the connect to the
answer to QUIT.
"""

from __future__ import annotations

import contextlib
import smtplib
import socket
import ssl
import threading
from email.message import EmailMessage

import orjson

from apishield.alert.alert import Alert, iso
from apishield.alert.sinks.base import SinkError
from apishield.controls import escape_controls


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
        watchdog = _Watchdog(self._timeout)
        try:
            self._deliver(watchdog, message)
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
            reason = f"no answer within {self._timeout:g} s" if watchdog.expired else error
            raise SinkError(f"smtp {self._address[0]}:{self._address[1]}: {reason}") from error
        finally:
            watchdog.cancel()

    def _deliver(self, watchdog: _Watchdog, message: EmailMessage) -> None:
        host, port = self._address
        # QUIT at the end of the block, still watched.
        with _Session(host, port, self._local, self._timeout, watchdog) as session:
            if self._starttls:
                session.starttls(context=self._context())
            if self._login is not None:
                session.login(*self._login)
            session.send_message(message)

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


class _Watchdog:
    """Ends an SMTP attempt after `seconds` by shutting its session's socket down (closing it
    would not wake a thread blocked on it): whatever waits on it wakes with an error."""

    def __init__(self, seconds: float) -> None:
        self.expired = False
        self._session: smtplib.SMTP | None = None
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def watch(self, session: smtplib.SMTP) -> None:
        """`session` has a socket now; shut at once if the time is already up."""
        self._session = session
        if self.expired:
            self._hang_up()

    def cancel(self) -> None:
        self._timer.cancel()

    def _expire(self) -> None:
        self.expired = True
        self._hang_up()

    def _hang_up(self) -> None:
        # The session's socket now, read once: after STARTTLS it is the TLS one, and the
        # sink's thread may be closing it.
        connection = self._session.sock if self._session is not None else None
        if connection is not None:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _Session(smtplib.SMTP):
    """An SMTP session connected under a watchdog, from before its banner is read."""

    def __init__(
        self, host: str, port: int, local_hostname: str, timeout: float, watchdog: _Watchdog
    ) -> None:
        self._watchdog = watchdog
        super().__init__(host, port, local_hostname=local_hostname, timeout=timeout)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        """The connection `connect` opens (smtplib's hook, as SMTP_SSL uses it), handed to the
        watchdog before the banner is read."""
        connection = socket.create_connection((host, port), timeout, self.source_address)
        self.sock = connection
        self._watchdog.watch(self)
        return connection


def text(alert: Alert) -> str:
    """The body a person reads: one line per field (controls escaped, whatever the alert holds)."""
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
    return "\n".join(escape_controls(line) for line in lines) + "\n"

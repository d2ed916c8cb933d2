"""Real receivers on 127.0.0.1 for the alert tests: an HTTP server, syslog over UDP and TCP, an
SMTP server (aiosmtpd), a server that accepts and never answers, one that answers a byte at a
time, and a closed port. Each starts on a free port in the test that asks for it and stops when
the test ends; waits are bounded.
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from apishield.alert import Alerter
from apishield.config import AlertsConfig
from apishield.detect.incidents import Incident
from apishield.detect.registry import Detection
from apishield.exchange import Finding, Severity
from apishield.testing import T0

WAIT = 10.0
"""Seconds a test waits for something to arrive before it fails (never reached when it works)."""


class Inbox:
    """What a receiver got, in order; `wait` blocks (boundedly) until enough has arrived."""

    def __init__(self) -> None:
        self.items: list[Any] = []
        self._arrived = threading.Condition()

    def put(self, item: Any) -> None:
        with self._arrived:
            self.items.append(item)
            self._arrived.notify_all()

    def wait(self, count: int = 1, timeout: float = WAIT) -> list[Any]:
        with self._arrived:
            self._arrived.wait_for(lambda: len(self.items) >= count, timeout)
            assert len(self.items) >= count, f"{len(self.items)} of {count} arrived"
            return list(self.items)


def wait_until(check: Callable[[], bool], timeout: float = WAIT) -> None:
    """Poll `check` until it holds; fail the test after `timeout`."""
    done = threading.Event()
    for _ in range(int(timeout / 0.01)):
        if check():
            return
        done.wait(0.01)
    assert check(), "condition not reached in time"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class HttpReceiver:
    """Records each POST (path, headers, JSON) and answers the next of `statuses`, then 200;
    refusals carry `retry_after` as Retry-After. With `gate`, every answer waits until the gate
    opens."""

    def __init__(
        self,
        statuses: list[int] | None = None,
        gate: threading.Event | None = None,
        retry_after: str | None = None,
    ):
        self.inbox = Inbox()
        self.attempts = 0
        self.times: list[float] = []
        self.retry_after = retry_after
        self.statuses = list(statuses or [])
        self.gate = gate
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                receiver.attempts += 1
                receiver.times.append(time.monotonic())
                if receiver.gate is not None:
                    receiver.gate.wait(WAIT)
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                if status == 200:
                    headers = {k.lower(): v for k, v in self.headers.items()}
                    receiver.inbox.put((self.path, headers, json.loads(body)))
                self.send_response(status)
                if status != 200 and receiver.retry_after is not None:
                    self.send_header("retry-after", receiver.retry_after)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the test reads the inbox."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self.gate is not None:
            self.gate.set()
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(WAIT)


class UdpReceiver:
    def __init__(self) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind(("127.0.0.1", 0))
        self.socket.settimeout(WAIT)
        self.port: int = self.socket.getsockname()[1]

    def receive(self) -> bytes:
        return self.socket.recv(65_535)

    def stop(self) -> None:
        self.socket.close()


class TcpReceiver:
    """Syslog over TCP: reads octet-counted frames ("LEN SP MSG", RFC 6587) into the inbox."""

    def __init__(self) -> None:
        self.inbox = Inbox()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self._connections: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        try:
            connection, _ = self.listener.accept()
        except OSError:
            return
        self._connections.append(connection)
        buffer = b""
        with contextlib.suppress(OSError):  # the test is over and stop() shut it
            while chunk := connection.recv(65_536):
                buffer += chunk
                while b" " in buffer:
                    length, _, rest = buffer.partition(b" ")
                    if len(rest) < int(length):
                        break
                    self.inbox.put(rest[: int(length)])
                    buffer = rest[int(length) :]

    def stop(self) -> None:
        _stop_listening(self.listener)
        for connection in self._connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)  # wakes the reader, which then ends
        self._thread.join(WAIT)
        for connection in self._connections:
            connection.close()


def _stop_listening(listener: socket.socket) -> None:
    """Wake a thread blocked in accept() (closing alone does not, on Linux), then close."""
    with contextlib.suppress(OSError):
        listener.shutdown(socket.SHUT_RDWR)
    listener.close()


class SilentServer:
    """Accepts TCP connections and never answers: a receiver that hangs."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.accepted: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.accepted.append(connection)

    def stop(self) -> None:
        _stop_listening(self.listener)
        self._thread.join(WAIT)
        for connection in self.accepted:
            connection.close()


class Dripper:
    """Accepts connections and sends `answer` one byte per `interval` seconds, after reading the
    request when `reads_first`: never silent for as long as a read's timeout, yet too slow for
    any attempt's. Each connection is counted; `stop` ends the drips and wakes the client."""

    def __init__(self, answer: bytes, interval: float, *, reads_first: bool) -> None:
        self.answer, self.interval, self.reads_first = answer, interval, reads_first
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.connections = 0
        self._stopped = threading.Event()
        self._accepted: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            self._accepted.append(connection)
            thread = threading.Thread(target=self._drip, args=(connection,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _drip(self, connection: socket.socket) -> None:
        connection.settimeout(WAIT)
        with contextlib.suppress(OSError):  # the client gave up and closed, or stop() shut it
            if self.reads_first:
                connection.recv(65_536)
            for byte in self.answer:
                if self._stopped.wait(self.interval):
                    return
                connection.sendall(bytes([byte]))

    def stop(self) -> None:
        self._stopped.set()
        _stop_listening(self.listener)
        self._thread.join(WAIT)
        for thread in self._threads:
            thread.join(WAIT)
        for connection in self._accepted:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)  # wakes a client still reading
            connection.close()


class MailHandler:
    def __init__(self, refuse: bool = False) -> None:
        self.inbox = Inbox()
        self.refuse = refuse

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.refuse:
            return "550 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.inbox.put((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted"


class MailServer:
    """aiosmtpd on a free port; with `password`, AUTH is offered (without TLS, on loopback) and
    a login with another password is refused; with `tls`, STARTTLS is required."""

    def __init__(
        self, password: str | None = None, refuse: bool = False, tls: ssl.SSLContext | None = None
    ) -> None:
        self.handler = MailHandler(refuse)
        self.port = free_port()
        self.logins: list[tuple[bytes, bytes]] = []
        options: dict[str, Any] = {}
        if password is not None:
            # AUTH offered without TLS on loopback; required, aiosmtpd would warn (an error here)
            options = {"authenticator": self._authenticate(password), "auth_require_tls": False}
        if tls is not None:
            # STARTTLS offered and required before MAIL: mail only arrives over TLS.
            options |= {"tls_context": tls, "require_starttls": True}
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, **options)
        self.controller.start()

    def _authenticate(self, password: str) -> Callable[..., AuthResult]:
        def check(
            server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
        ) -> AuthResult:
            ok = isinstance(data, LoginPassword) and data.password == password.encode()
            if isinstance(data, LoginPassword):
                self.logins.append((data.login, data.password))
            return AuthResult(success=ok, handled=False)  # unhandled: aiosmtpd answers 535

        return check

    def stop(self) -> None:
        self.controller.stop()


@pytest.fixture
def receivers() -> Iterator[list[Any]]:
    """Receivers a test starts are stopped when it ends."""
    started: list[Any] = []
    yield started
    for receiver in reversed(started):
        receiver.stop()


@pytest.fixture
def http(receivers: list[Any]) -> Callable[..., HttpReceiver]:
    def start(
        statuses: list[int] | None = None,
        gate: threading.Event | None = None,
        retry_after: str | None = None,
    ) -> HttpReceiver:
        receiver = HttpReceiver(statuses, gate, retry_after)
        receivers.append(receiver)
        return receiver

    return start


@pytest.fixture
def alerters(receivers: list[Any]) -> Iterator[Callable[..., Alerter]]:
    """Alerters built from an `alerts:` mapping, closed when the test ends: the receivers are
    stopped first, so a sink waiting on a hanging one is let go, and every sink thread ends."""
    made: list[Alerter] = []

    def build(config: dict[str, Any], **options: Any) -> Alerter:
        alerter = Alerter.from_config(AlertsConfig.model_validate(config), **options)
        made.append(alerter)
        return alerter

    yield build
    for receiver in reversed(receivers):
        receiver.stop()
    receivers.clear()
    deadline = time.monotonic() + WAIT
    for alerter in made:
        alerter.close(timeout=WAIT)
        for outlet in alerter.outlets:
            assert outlet.dispatcher.join(deadline), f"{outlet.dispatcher.name} did not stop"


def webhook(url: str, **options: Any) -> dict[str, Any]:
    return {"type": "webhook", "url": url, "timeout": WAIT, **options}


def summary(
    incident_id: int = 1,
    severities: tuple[Severity, ...] = (Severity.HIGH,),
    actor: str = "ip:203.0.113.9",
    rules: tuple[str, ...] = ("enum.sequential-walk",),
) -> dict[str, Any]:
    """A real `Incident.summary()`: one detection per severity given, each of the next rule."""
    incident = Incident(incident_id, f"actor:{actor}", T0, T0)
    for n, level in enumerate(severities):
        rule = rules[n % len(rules)]
        finding = Finding(rule, f"Title of {rule}", level, {"objects": "120"}, "API1:2023")
        endpoint = "GET api.example.com /v2/customers/{id}"
        incident.add(Detection(finding, incident.scope, actor, actor[3:], endpoint, T0 + n))
    return incident.summary()

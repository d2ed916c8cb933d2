"""Serving an ASGI app (the reverse proxy) with uvicorn, and stopping it gracefully.

The server runs on its own thread with its own event loop (uvloop and httptools when they are
installed). That keeps signal handling in the main thread and in apishield's hands: SIGINT or
SIGTERM stops accepting connections, lets the requests in flight finish (up to `grace`
seconds), closes the app, and `serve_until_signal` returns, so the caller can drain the guard
and exit 0. A second SIGINT stops at once. Tests and benchmarks use `start` / `stop` directly.

The guard's analysis thread and the event loop share one interpreter lock. At Python's default
switch interval a loop that gives up the lock on every socket call can wait up to 5 ms to get it
back while the analysis thread runs, which caps throughput and drives p99 latency into hundreds
of milliseconds under load; `serve_until_signal`, which owns its process, makes the interpreter
hand the lock over every `SWITCH_INTERVAL` seconds instead.

The listening socket is bound here, before the server starts, so a busy port is reported as an
error at once and port 0 gives a free port whose number `port` tells.
"""

from __future__ import annotations

import contextlib
import math
import signal
import socket
import sys
import threading
import time
from types import FrameType
from typing import Any

import uvicorn

DEFAULT_PORT = 8080
SWITCH_INTERVAL = 0.0002
"""Seconds; measured with benchmarks/proxy.py: 1.4x the throughput of the 5 ms default with the
guard on, p99 from ~270 ms to ~80 ms; no effect without a guard."""


class ListenError(ValueError):
    """The listen address is malformed or cannot be bound; the message names the fix."""


def parse_listen(value: str) -> tuple[str, int]:
    """ "127.0.0.1:8080", "[::1]:8080", ":8080" (loopback) or "8080" -> (host, port)."""
    host, sep, port_text = value.rpartition(":")
    if not sep:
        host, port_text = "", value
    host = host.strip("[]") or "127.0.0.1"
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ListenError(
            f"--listen {value!r} is not HOST:PORT; write it as 127.0.0.1:8080 (or 0.0.0.0:8080 "
            "to accept connections from other machines)"
        )
    return host, int(port_text)


def bind(host: str, port: int, backlog: int = 2048) -> socket.socket:
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        sock = socket.socket(family, socket.SOCK_STREAM)
    except OSError as exc:
        raise ListenError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(backlog)
    except OSError as exc:
        sock.close()
        raise ListenError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}; pick another --listen port"
        ) from exc
    sock.set_inheritable(True)
    return sock


class Server:
    """One uvicorn server on a socket bound at construction."""

    def __init__(
        self,
        app: Any,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        grace: float = 30.0,
        sock: socket.socket | None = None,
    ):
        """Binds `host:port`, or serves on `sock`, bound already (several workers share one)."""
        self.socket = sock if sock is not None else bind(host, port)
        self.host = host
        self.port: int = self.socket.getsockname()[1]
        config = uvicorn.Config(
            app,
            lifespan="on",
            proxy_headers=False,  # the guard resolves the client itself, from trusted proxies
            server_header=False,  # the upstream's own Server and Date headers pass through
            date_header=False,
            access_log=False,
            log_config=None,
            log_level="warning",
            # uvicorn takes whole seconds: rounding down would cut requests short (0.9 -> 0)
            timeout_graceful_shutdown=math.ceil(grace),
            timeout_keep_alive=75,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name="apishield-proxy", daemon=True)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def _run(self) -> None:
        with contextlib.suppress(SystemExit):  # uvicorn exits this way when start-up fails
            self._server.run(sockets=[self.socket])

    def start(self, timeout: float = 30.0) -> None:
        """Serve on a background thread; return once the app has started."""
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise ListenError(f"the server on {self.url} did not start (see the log above)")
            time.sleep(0.01)

    def stop(self, timeout: float | None = None) -> None:
        """Stop accepting, finish the requests in flight, close the app."""
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout)

    def serve_until_signal(self) -> int:
        """Serve until SIGINT or SIGTERM, then shut down gracefully; the signal's number."""
        received: list[int] = []

        def handle(signum: int, frame: FrameType | None) -> None:
            if received and signum == signal.SIGINT:
                self._server.force_exit = True
            received.append(signum)
            self._server.should_exit = True

        previous = {s: signal.signal(s, handle) for s in (signal.SIGINT, signal.SIGTERM)}
        interval = sys.getswitchinterval()
        sys.setswitchinterval(SWITCH_INTERVAL)
        try:
            self.start()
            while self._thread.is_alive():
                self._thread.join(0.2)
        finally:
            sys.setswitchinterval(interval)
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        return received[0] if received else 0

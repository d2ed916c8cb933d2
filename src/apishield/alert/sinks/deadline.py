"""httpx with a deadline per attempt.

httpx's timeouts bound each network operation, not a request (encode/httpx#1450): a receiver
that sends its answer a byte a second never times out. Here every connect, read and write of an
attempt waits only for what is left of the attempt's `Deadline`, and once nothing is left fails
with httpcore's own timeout, which httpx reports as its ConnectTimeout, ReadTimeout or
WriteTimeout. A request is far smaller than a socket's send buffer, so a write waits once.
"""

from __future__ import annotations

import math
import ssl
import time
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx


class Deadline:
    """When the current attempt must end; `start` begins the next one."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = math.inf

    def start(self) -> None:
        self._end = time.monotonic() + self.seconds

    def within(self, timeout: float | None, error: type[Exception]) -> float:
        """`timeout` shortened to the time left; `error` when there is none."""
        left = self._end - time.monotonic()
        if left <= 0:
            raise error(f"the attempt took longer than {self.seconds:g} s")
        return left if timeout is None else min(timeout, left)


def transport(deadline: Deadline, limits: httpx.Limits) -> httpx.HTTPTransport:
    """httpx's own transport, over a network backend that keeps to `deadline`.

    HTTPTransport takes no network backend, so its connection pool is replaced by one built as
    it builds it (no proxy, HTTP/1.1), with the backend below."""
    context = httpx.create_ssl_context()
    made = httpx.HTTPTransport(verify=context, limits=limits)
    made._pool = httpcore.ConnectionPool(
        ssl_context=context,
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=_Backend(deadline),
    )
    return made


class _Backend(httpcore.NetworkBackend):
    def __init__(self, deadline: Deadline) -> None:
        self._deadline = deadline
        self._backend = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        timeout = self._deadline.within(timeout, httpcore.ConnectTimeout)
        stream = self._backend.connect_tcp(host, port, timeout, local_address, socket_options)
        return _Stream(stream, self._deadline)

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


class _Stream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream, deadline: Deadline) -> None:
        self._stream = stream
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, self._deadline.within(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, self._deadline.within(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        timeout = self._deadline.within(timeout, httpcore.ConnectTimeout)
        return _Stream(
            self._stream.start_tls(ssl_context, server_hostname, timeout), self._deadline
        )

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)

"""Factories for tests and benchmarks: build exchanges without a log file or a socket."""

from __future__ import annotations

from apishield.exchange import Exchange, Request, Response

T0 = 1_700_000_000.0
"""A fixed event time, so tests never depend on the wall clock."""


def make_exchange(
    method: str = "GET",
    path: str = "/",
    *,
    query: str = "",
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    status: int | None = 200,
    response_headers: dict[str, str] | None = None,
    response_body: bytes | None = None,
    started: float = T0,
    duration: float | None = 0.01,
    peer_ip: str = "203.0.113.7",
    host: str = "api.example.com",
) -> Exchange:
    response = None
    if status is not None:
        response = Response(
            status=status,
            headers=dict(response_headers or {}),
            body=response_body,
            body_size=None if response_body is None else len(response_body),
        )
    return Exchange(
        request=Request(
            method=method,
            path=path,
            query=query,
            headers=dict(headers or {}),
            body=body,
            body_size=None if body is None else len(body),
            host=host,
            peer_ip=peer_ip,
        ),
        response=response,
        started=started,
        duration=duration,
        source="test",
    )

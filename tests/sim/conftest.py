"""Shared pieces of the simulator's tests: a small population and ways to read its traffic."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from apishield.exchange import Request
from apishield.sim.telco.population import Population, build_population


@pytest.fixture(scope="session")
def population() -> Population:
    """Read-only: tests that change state build their own API over it."""
    return build_population(3, 400)


def _client_ip(request: Request) -> str:
    """The rightmost X-Forwarded-For hop outside 10.0.0.0/8, as analyze --trusted-proxy does."""
    forwarded = request.headers.get("x-forwarded-for")
    if not forwarded:
        return request.peer_ip
    for hop in reversed([h.strip() for h in forwarded.split(",")]):
        if not hop.startswith("10."):
            return hop
    return request.peer_ip


@pytest.fixture(scope="session")
def client_ip() -> Callable[[Request], str]:
    return _client_ip

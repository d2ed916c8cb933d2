"""Where requests come from, and how they arrive: addresses, the load balancer, and headers.

External clients reach the API through one of two load balancers (10.0.0.5 and 10.0.0.6), which
append the address they saw to X-Forwarded-For; that is the request's peer. So the client is the
rightmost X-Forwarded-For hop that is not in 10.0.0.0/8, and anything left of it was sent by
the client and may be forged. Internal callers (probes, the billing batch, QA) connect directly
from 10.x without the header.

Public addresses are invented: each kind of actor draws from its own first octets, so an
attacker's address can never be a subscriber's, and enabling a scenario never moves the
benign traffic.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from apishield.exchange import Request

HOST = "api.telco.example"
LOAD_BALANCERS = ("10.0.0.5", "10.0.0.6")
TRUSTED_PROXIES = "10.0.0.0/8"
RESIDENTIAL = (24, 47, 50, 63, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76, 96, 97, 98, 99, 107)
OFFICES = (12, 65, 204, 206, 207, 208, 209)
_ACCEPT = "application/json"


class Addresses:
    """Unique IPv4 addresses under the given first octets, in a seeded order."""

    def __init__(self, rng: random.Random, first_octets: Sequence[int]) -> None:
        self._rng = rng
        self._octets = tuple(first_octets)
        self._taken: set[str] = set()

    def take(self, prefix: str = "") -> str:
        """A new address; `prefix` ("34.117.") pins the leading octets."""
        rng = self._rng
        while True:
            if prefix:
                rest = 4 - prefix.count(".")
                tail = [str(rng.randint(1, 254)) for _ in range(rest)]
                address = prefix + ".".join(tail)
            else:
                first = rng.choice(self._octets)
                address = (
                    f"{first}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
                )
            if address not in self._taken:
                self._taken.add(address)
                return address

    def many(self, count: int) -> list[str]:
        return [self.take() for _ in range(count)]


def cgnat_pool(rng: random.Random, size: int) -> list[str]:
    """Carrier-grade NAT addresses (100.64.0.0/10) the operator's mobile users share."""
    pool: set[str] = set()
    while len(pool) < size:
        pool.add(f"100.{rng.randint(64, 127)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}")
    return sorted(pool)


@dataclass(slots=True)
class Client:
    """One device or program on one network: what its requests look like on arrival."""

    ip: str
    user_agent: str
    forwarded_prefix: str = ""
    """Hops the client itself put in X-Forwarded-For (a corporate proxy, a forgery), with ", "."""
    direct: bool = False
    """Connects without the load balancer (internal callers)."""
    balancer: str = LOAD_BALANCERS[0]
    scheme: str = "https"

    def request(
        self,
        method: str,
        path: str,
        *,
        query: str = "",
        token: str | None = None,
        api_key: str | None = None,
        body: bytes | None = None,
        extra: dict[str, str] | None = None,
    ) -> Request:
        headers = {"host": HOST, "user-agent": self.user_agent, "accept": _ACCEPT}
        if not self.direct:
            headers["x-forwarded-for"] = self.forwarded_prefix + self.ip
            headers["x-forwarded-proto"] = "https"
        if token is not None:
            headers["authorization"] = f"Bearer {token}"
        if api_key is not None:
            headers["x-api-key"] = api_key
        if body is not None:
            headers["content-type"] = "application/json"
            headers["content-length"] = str(len(body))
        if extra:
            headers.update(extra)
        return Request(
            method,
            path,
            query,
            headers,
            body if body is not None else b"",
            len(body) if body is not None else 0,
            self.scheme,
            HOST,
            self.ip if self.direct else self.balancer,
            "HTTP/1.1",
        )

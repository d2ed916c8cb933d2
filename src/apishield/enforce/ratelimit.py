"""Token-bucket limits per actor, per endpoint and per actor on an endpoint, and their headers.

A refusal carries the IETF RateLimit fields (draft-ietf-httpapi-ratelimit-headers, structured
fields since draft 08): `RateLimit-Policy: "actor";q=100;w=60` states the quota as configured,
`RateLimit: "actor";r=0;t=3` the units left and the seconds until one is back, and
`Retry-After: 3` says the same to clients that predate the draft.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from apishield.config import RateLimitConfig, RateLimitsConfig
from apishield.exchange import Actor, Exchange
from apishield.limits import Buckets


@dataclass(slots=True, frozen=True)
class Limit:
    name: str
    """The policy name in the headers and in the decision's rule id."""
    rate: float
    """Tokens per second."""
    burst: float
    quota: int
    window: int
    """`quota` requests per `window` seconds, as configured; what RateLimit-Policy states."""

    @classmethod
    def from_config(cls, name: str, config: RateLimitConfig) -> Limit | None:
        if config.requests <= 0:
            return None
        burst = config.burst if config.burst is not None else max(1.0, config.requests)
        return cls(
            name,
            config.requests / config.per_seconds,
            burst,
            max(1, round(config.requests)),
            max(1, math.ceil(config.per_seconds)),
        )


@dataclass(slots=True, frozen=True)
class Exceeded:
    limit: Limit
    remaining: float
    retry_after: float

    def headers(self) -> tuple[tuple[str, str], ...]:
        wait = max(1, math.ceil(self.retry_after))
        name = self.limit.name
        return (
            ("ratelimit-policy", f'"{name}";q={self.limit.quota};w={self.limit.window}'),
            ("ratelimit", f'"{name}";r={max(0, math.floor(self.remaining))};t={wait}'),
            ("retry-after", str(wait)),
        )


class RateLimits:
    """Which buckets a request draws from; the first that is empty refuses it."""

    def __init__(self, config: RateLimitsConfig, buckets: Buckets) -> None:
        self.buckets = buckets
        self.actor = Limit.from_config("actor", config.actor)
        self.endpoint = Limit.from_config("endpoint", config.endpoint)
        self.actor_endpoint = Limit.from_config("actor-endpoint", config.actor_endpoint)
        self.routes: dict[str, Limit] = {}
        for key, limit in config.routes.items():
            made = Limit.from_config("route", limit)
            if made is not None:
                self.routes[key] = made

    def __bool__(self) -> bool:
        return bool(self.actor or self.endpoint or self.actor_endpoint or self.routes)

    def take(self, exchange: Exchange, actor: Actor, now: float) -> Exceeded | None:
        """Draw one token from each bucket the request falls under, most specific first."""
        request = exchange.request
        route = exchange.route or request.path
        endpoint = f"{request.method} {route}"
        per_route = self.routes.get(endpoint) or self.routes.get(route)
        drawn = (
            (per_route or self.actor_endpoint, f"rl:ae:{actor.key}|{endpoint}"),
            (self.actor, f"rl:a:{actor.key}"),
            (self.endpoint, f"rl:e:{endpoint}"),
        )
        for limit, key in drawn:
            if limit is None:
                continue
            allowed, remaining, retry_after = self.buckets.take(key, now, limit.rate, limit.burst)
            if not allowed:
                return Exceeded(limit, remaining, retry_after)
        return None

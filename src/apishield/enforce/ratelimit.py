"""Token-bucket limits per actor, per client address, per endpoint and per actor on an endpoint,
and their headers.

A refusal carries the IETF RateLimit fields (draft-ietf-httpapi-ratelimit-headers, structured
fields since draft 08): `RateLimit-Policy: "actor";q=100;w=60` states the quota as configured,
`RateLimit: "actor";r=0;t=3` the units left and the seconds until one is back, and
`Retry-After: 3` says the same to clients that predate the draft.

A request draws from its buckets in order and stops at the first empty one; the buckets before
that one keep the token they gave (a client refused by its actor bucket has still spent a token
of its own bucket on that endpoint), the ones after it are not touched.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from apishield.config import RateLimitConfig, RateLimitsConfig
from apishield.exchange import Actor, Exchange
from apishield.limits import Buckets, Draw, Take


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


Plan = tuple[tuple[Limit, ...], tuple[Draw, ...]]
"""The limits a request falls under and the draws on their buckets, in the same order."""
PLANS_KEPT = 4096
"""Plans remembered at most; past it they are forgotten all at once and made again."""


class RateLimits:
    """Which buckets a request draws from; the first that is empty refuses it."""

    def __init__(self, config: RateLimitsConfig, buckets: Buckets) -> None:
        self.buckets = buckets
        self.actor = Limit.from_config("actor", config.actor)
        self.ip = Limit.from_config("ip", config.ip)
        self.endpoint = Limit.from_config("endpoint", config.endpoint)
        self.actor_endpoint = Limit.from_config("actor-endpoint", config.actor_endpoint)
        self.routes: dict[str, Limit] = {}
        for key, limit in config.routes.items():
            made = Limit.from_config("route", limit)
            if made is not None:
                self.routes[key] = made
        self._plans: dict[tuple[str, str, str, str], Plan] = {}
        """Plans by (actor key, method, route, client address when an `ip` limit is set): the
        limits never change, and an actor keeps to a few endpoints, so most requests find
        theirs here instead of building their keys."""

    def __bool__(self) -> bool:
        return bool(self.actor or self.ip or self.endpoint or self.actor_endpoint or self.routes)

    def plan(self, exchange: Exchange, actor: Actor) -> Plan:
        """The buckets the request draws one token from, most specific first, and their
        limits: the actor on the endpoint (or the route's own limit), the actor, its address,
        the endpoint."""
        request = exchange.request
        address = actor.ip if self.ip else ""
        at = (actor.key, request.method, exchange.route or request.path, address)
        planned = self._plans.get(at)
        if planned is None:
            planned = self._plan(*at)
            if len(self._plans) >= PLANS_KEPT:
                self._plans.clear()
            self._plans[at] = planned
        return planned

    def _plan(self, actor: str, method: str, route: str, ip: str) -> Plan:
        endpoint = f"{method} {route}"
        per_route = self.routes.get(endpoint) or self.routes.get(route)
        limits: list[Limit] = []
        draws: list[Draw] = []
        for limit, key in (
            (per_route or self.actor_endpoint, f"rl:ae:{actor}|{endpoint}"),
            (self.actor, f"rl:a:{actor}"),
            (self.ip, f"rl:ip:{ip}"),
            (self.endpoint, f"rl:e:{endpoint}"),
        ):
            if limit is not None:
                limits.append(limit)
                draws.append(Draw(key, limit.rate, limit.burst))
        return tuple(limits), tuple(draws)

    def take(self, exchange: Exchange, actor: Actor, now: float) -> Exceeded | None:
        """Draw one token from each bucket the request falls under, most specific first,
        stopping at the first that is empty; the buckets before it keep what they spent."""
        limits, draws = self.plan(exchange, actor)
        takes: list[Take] = []
        for key, rate, burst, cost in draws:
            takes.append(self.buckets.take(key, now, rate, burst, cost))
            if not takes[-1].allowed:
                break
        return exceeded(limits, takes)


def exceeded(limits: Sequence[Limit], takes: Sequence[Take]) -> Exceeded | None:
    """The first refusal among `takes`, the answers for the buckets of `limits` in order."""
    for limit, (allowed, remaining, retry_after) in zip(limits, takes, strict=False):
        if not allowed:
            return Exceeded(limit, remaining, retry_after)
    return None

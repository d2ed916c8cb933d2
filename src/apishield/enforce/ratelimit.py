"""Token-bucket limits per actor, per client address, per endpoint and per actor on an endpoint,
and their headers.

A refusal carries the IETF RateLimit fields (draft-ietf-httpapi-ratelimit-headers, structured
fields since draft 08): `RateLimit-Policy: "actor";q=100;w=60` states a quota a client can keep
to and never be refused, `RateLimit: "actor";r=0;t=3` the units left and the whole seconds until
one is back, and `Retry-After: 3` says the same to clients that predate the draft.

A bucket of rate r and burst b lets through q requests in every window of w seconds, all at once
if the client likes, exactly when q <= b and q <= r * w: the quota is bounded by the burst, not
only by the configured `requests`. Both are integers in the fields, so the policy stated is the
highest rate q / w within those bounds (the configured one when it can be written so, such as one
request per 2 seconds for 0.5 a second), with the largest quota at that rate.

A request draws from its buckets in order and stops at the first empty one; the buckets before
that one keep the token they gave (a client refused by its actor bucket has still spent a token
of its own bucket on that endpoint), the ones after it are not touched.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

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
    """`quota` requests per `window` seconds, which the bucket never refuses; what
    RateLimit-Policy states."""

    @classmethod
    def from_config(cls, name: str, config: RateLimitConfig) -> Limit | None:
        if config.requests <= 0:
            return None
        burst = config.burst if config.burst is not None else max(1.0, config.requests)
        # The numbers as written in the configuration: 1 per 3 s is 1/3, not the float below it.
        rate = Fraction(str(config.requests)) / Fraction(str(config.per_seconds))
        quota, window = stated_policy(rate, math.floor(burst))
        return cls(name, config.requests / config.per_seconds, burst, quota, window)


def stated_policy(rate: Fraction, burst: int) -> tuple[int, int]:
    """The quota and window, in whole requests and seconds, of the highest rate at most `rate`
    whose quota fits in `burst` (at least 1), with the largest quota at that rate."""
    step = 1 / _spacing_at_least(1 / rate, burst)
    times = burst // step.numerator
    return step.numerator * times, step.denominator * times


def _spacing_at_least(seconds: Fraction, most: int) -> Fraction:
    """The smallest fraction at least `seconds` whose denominator is at most `most`.

    As in `Fraction.limit_denominator`: the last convergent of `seconds` within the bound and
    the semiconvergent after it are neighbours in the Farey sequence of order `most` and lie on
    either side of `seconds`, so no fraction within the bound is nearer on either side."""
    if seconds.denominator <= most:
        return seconds
    p0, q0, p1, q1 = 0, 1, 1, 0
    n, d = seconds.numerator, seconds.denominator
    while q0 + (n // d) * q1 <= most:
        a = n // d
        p0, q0, p1, q1 = p1, q1, p0 + a * p1, q0 + a * q1
        n, d = d, n - a * d
    k = (most - q0) // q1
    convergent, semiconvergent = Fraction(p1, q1), Fraction(p0 + k * p1, q0 + k * q1)
    return convergent if convergent > seconds else semiconvergent


@dataclass(slots=True, frozen=True)
class Exceeded:
    limit: Limit
    remaining: float
    retry_after: float

    def headers(self) -> tuple[tuple[str, str], ...]:
        wait = max(1, math.ceil(self.retry_after))
        name = self.limit.name
        remaining = min(self.limit.quota, max(0, math.floor(self.remaining)))
        return (
            ("ratelimit-policy", f'"{name}";q={self.limit.quota};w={self.limit.window}'),
            ("ratelimit", f'"{name}";r={remaining};t={wait}'),
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
        self._folded: dict[str, tuple[Limit, str]] = {}
        """Route limits by their key in lower case, with the route their buckets are keyed by."""
        for key, limit in config.routes.items():
            made = Limit.from_config("route", limit)
            if made is not None:
                self.routes[key] = made
                self._folded.setdefault(key.lower(), (made, key.rpartition(" ")[2]))
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
        own = endpoint
        if per_route is None and self._folded:
            per_route, own = self._folded_route(method, route)
        limits: list[Limit] = []
        draws: list[Draw] = []
        for limit, key in (
            (per_route or self.actor_endpoint, f"rl:ae:{actor}|{own}"),
            (self.actor, f"rl:a:{actor}"),
            (self.ip, f"rl:ip:{ip}"),
            (self.endpoint, f"rl:e:{endpoint}"),
        ):
            if limit is not None:
                limits.append(limit)
                draws.append(Draw(key, limit.rate, limit.burst))
        return tuple(limits), tuple(draws)

    def _folded_route(self, method: str, route: str) -> tuple[Limit | None, str]:
        """A route limit whose key matches in another case, and the endpoint its bucket is
        keyed by, spelled as configured so every spelling draws from one bucket. A server that
        ignores case routes `/LIMITED` to `/limited`; one that minds it answers 404, which
        costs the limit nothing."""
        endpoint = f"{method} {route}"
        found = self._folded.get(endpoint.lower()) or self._folded.get(route.lower())
        if found is None:
            return None, endpoint
        return found[0], f"{method} {found[1]}"

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

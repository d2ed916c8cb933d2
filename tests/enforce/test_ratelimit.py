from __future__ import annotations

import pytest

from apishield.config import RateLimitConfig, RateLimitsConfig
from apishield.enforce.ratelimit import Exceeded, Limit, RateLimits
from apishield.exchange import Actor, MaskedSecret
from apishield.state.memory_limits import MemoryBuckets
from apishield.testing import T0, make_exchange


def test_a_limit_of_zero_requests_is_off_and_burst_defaults_to_the_quota() -> None:
    assert Limit.from_config("actor", RateLimitConfig()) is None
    limit = Limit.from_config("actor", RateLimitConfig(requests=120, per_seconds=60))
    assert limit == Limit("actor", 2.0, 120.0, 120, 60)
    bursty = Limit.from_config("actor", RateLimitConfig(requests=1, per_seconds=1, burst=5))
    assert bursty is not None and bursty.burst == 5


def test_refusal_headers_follow_the_ietf_draft() -> None:
    limit = Limit("actor", 100 / 60, 100, 100, 60)
    headers = dict(Exceeded(limit, remaining=0.4, retry_after=0.36).headers())
    assert headers == {
        "ratelimit-policy": '"actor";q=100;w=60',
        "ratelimit": '"actor";r=0;t=1',
        "retry-after": "1",
    }
    assert dict(Exceeded(limit, 0.0, 12.2).headers())["retry-after"] == "13"


def _limits(**scopes: RateLimitConfig | dict[str, RateLimitConfig]) -> RateLimits:
    return RateLimits(RateLimitsConfig.model_validate(scopes), MemoryBuckets())


def _take(limits: RateLimits, actor: str, path: str, now: float = T0) -> Exceeded | None:
    exchange = make_exchange("GET", path)
    exchange.route = path
    return limits.take(exchange, Actor(actor), now)


def test_the_actor_limit_counts_across_endpoints_and_actors_apart() -> None:
    limits = _limits(actor=RateLimitConfig(requests=2, per_seconds=60))
    assert _take(limits, "1.1.1.1", "/a") is None
    assert _take(limits, "1.1.1.1", "/b") is None
    exceeded = _take(limits, "1.1.1.1", "/c")
    assert exceeded is not None and exceeded.limit.name == "actor"
    assert _take(limits, "2.2.2.2", "/a") is None


def test_the_endpoint_limit_counts_across_actors() -> None:
    limits = _limits(endpoint=RateLimitConfig(requests=2, per_seconds=60))
    assert _take(limits, "1.1.1.1", "/a") is None
    assert _take(limits, "2.2.2.2", "/a") is None
    refused = _take(limits, "3.3.3.3", "/a")
    assert refused is not None and refused.limit.name == "endpoint"
    assert _take(limits, "3.3.3.3", "/b") is None


def test_a_route_limit_replaces_the_actor_endpoint_limit_there() -> None:
    limits = _limits(
        actor_endpoint=RateLimitConfig(requests=100, per_seconds=60),
        routes={"GET /login": RateLimitConfig(requests=1, per_seconds=60)},
    )
    assert _take(limits, "1.1.1.1", "/login") is None
    refused = _take(limits, "1.1.1.1", "/login")
    assert refused is not None and refused.limit.name == "route"
    assert _take(limits, "1.1.1.1", "/other") is None
    assert _take(limits, "1.1.1.1", "/login", now=T0 + 60) is None  # refilled


def test_a_remembered_plan_is_the_one_made_for_its_actor_method_and_route(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("apishield.enforce.ratelimit.PLANS_KEPT", 2)
    limits = _limits(
        actor=RateLimitConfig(requests=10, per_seconds=60),
        endpoint=RateLimitConfig(requests=10, per_seconds=60),
        actor_endpoint=RateLimitConfig(requests=10, per_seconds=60),
    )
    for actor, method, path in [
        ("1.1.1.1", "GET", "/a"),
        ("1.1.1.1", "POST", "/a"),
        ("2.2.2.2", "GET", "/a"),
        ("1.1.1.1", "GET", "/a"),
        ("1.1.1.1", "GET", "/b"),
    ]:
        exchange = make_exchange(method, path)
        exchange.route = path
        planned = limits.plan(exchange, Actor(actor))
        assert planned == limits._plan(f"ip:{actor}", method, path, "")
        assert [draw.key for draw in planned[1]] == [
            f"rl:ae:ip:{actor}|{method} {path}",
            f"rl:a:ip:{actor}",
            f"rl:e:{method} {path}",
        ]
        assert len(limits._plans) <= 2


def test_an_ip_limit_holds_a_client_that_names_itself_anew_on_every_request() -> None:
    limits = _limits(
        actor=RateLimitConfig(requests=600, per_seconds=60),
        ip=RateLimitConfig(requests=60, per_seconds=60, burst=5),
    )
    let_through = 0
    for n in range(50):  # a made-up API key on each request: a new actor every time
        exchange = make_exchange("GET", "/a")
        exchange.route = "/a"
        actor = Actor("198.51.100.7", api_key=MaskedSecret(f"k{n}", f"{n:064x}"))
        let_through += limits.take(exchange, actor, T0) is None
    assert let_through == 5
    refused = limits.take(exchange, actor, T0)
    assert refused is not None and refused.limit.name == "ip"
    assert ("ratelimit-policy", '"ip";q=60;w=60') in refused.headers()

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apishield.config import RateLimitConfig, RateLimitsConfig
from apishield.enforce.ratelimit import Exceeded, Limit, RateLimits
from apishield.exchange import Actor, Exchange, MaskedSecret
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


@pytest.mark.parametrize(
    ("requests", "per_seconds", "burst", "stated"),
    [
        (100, 60, None, (100, 60)),  # as configured
        (60, 60, 5, (5, 5)),  # a burst below the quota: at most 5 at once
        (1, 1, 5, (5, 5)),  # a burst above it: 5 at once, then 5 seconds to refill
        (0.5, 1, None, (1, 2)),  # half a request a second, not one
        (3.5, 1, None, (3, 1)),  # a burst of 3.5 lets 3 through at once, not 4
        (1, 0.5, None, (1, 1)),  # two a second, but the bucket holds one
        (7, 3, 5, (4, 2)),  # 7 per 3 s needs 7 at once; 2 a second is the most within 5
    ],
)
def test_the_stated_policy_is_what_the_bucket_lets_through(
    requests: float, per_seconds: float, burst: float | None, stated: tuple[int, int]
) -> None:
    config = RateLimitConfig(requests=requests, per_seconds=per_seconds, burst=burst)
    limit = Limit.from_config("actor", config)
    assert limit is not None and (limit.quota, limit.window) == stated
    buckets = MemoryBuckets()
    for window in range(5):  # the whole quota at once, window after window: never refused
        for _ in range(limit.quota):
            now = T0 + window * limit.window
            assert buckets.take("k", now, limit.rate, limit.burst).allowed


@given(
    requests=st.integers(1, 400).map(lambda tenths: tenths / 10),
    per_seconds=st.integers(1, 400).map(lambda tenths: tenths / 10),
    burst=st.none() | st.integers(10, 300).map(lambda tenths: tenths / 10),
)
def test_no_integer_policy_states_a_higher_rate_that_the_bucket_allows(
    requests: float, per_seconds: float, burst: float | None
) -> None:
    config = RateLimitConfig(requests=requests, per_seconds=per_seconds, burst=burst)
    limit = Limit.from_config("actor", config)
    assert limit is not None
    rate = Fraction(str(requests)) / Fraction(str(per_seconds))
    most = int(limit.burst)
    assert limit.quota <= most and limit.quota <= rate * limit.window
    stated = Fraction(limit.quota, limit.window)
    for quota in range(1, most + 1):  # over its smallest window, each quota's highest rate
        window = math.ceil(quota / rate)
        assert Fraction(quota, window) <= stated
        assert Fraction(quota, window) < stated or quota <= limit.quota


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
    assert ("ratelimit-policy", '"ip";q=5;w=5') in refused.headers()


def test_a_route_limit_holds_every_case_of_its_route_in_one_bucket() -> None:
    # A server that ignores case serves /LIMITED from /limited: spelling it another way
    # must neither escape the limit nor open a bucket of its own.
    limits = _limits(
        actor_endpoint=RateLimitConfig(requests=100, per_seconds=60),
        routes={"/limited": RateLimitConfig(requests=2, per_seconds=60), "POST /Login": _ONE},
    )
    assert _take(limits, "1.1.1.1", "/limited") is None
    assert _take(limits, "1.1.1.1", "/LIMITED") is None
    refused = _take(limits, "1.1.1.1", "/Limited")
    assert refused is not None and refused.limit.name == "route"
    assert limits.plan(_routed("POST", "/LOGIN"), Actor("1.1.1.1"))[1][0].key.endswith(
        "|POST /Login"
    )


_ONE = RateLimitConfig(requests=1, per_seconds=60)


def _routed(method: str, route: str) -> Exchange:
    exchange = make_exchange(method, route)
    exchange.route = route
    return exchange

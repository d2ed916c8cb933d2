from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apishield.config import ConfigError, EnforceConfig, parse_config
from apishield.enforce.policy import _BLOCK_ACTIONS, Policy
from apishield.exchange import (
    ALLOW,
    Action,
    Actor,
    Decision,
    Exchange,
    Finding,
    MaskedSecret,
    Severity,
)
from apishield.limits import (
    BLOCK_ACTIONS,
    BLOCK_KINDS,
    Block,
    BlockAction,
    BlockKind,
    Check,
    Draw,
    Limits,
)
from apishield.state.memory_limits import MemoryBlocks, MemoryBuckets
from apishield.testing import T0, make_exchange


def _policy(config: dict[str, object], blocks: MemoryBlocks | None = None) -> Policy:
    return Policy(EnforceConfig.model_validate(config), MemoryBuckets(), blocks or MemoryBlocks())


def _exchange(ip: str = "203.0.113.7", path: str = "/orders", **actor: object) -> Exchange:
    exchange = make_exchange("GET", path, peer_ip=ip)
    exchange.actor = Actor(ip, **actor)  # type: ignore[arg-type]
    exchange.route = path
    return exchange


def test_nothing_configured_allows_everything() -> None:
    decision = _policy({}).decide(_exchange(), T0)
    assert decision.action is Action.ALLOW and not decision.refuses


def test_a_denied_cidr_blocks_and_says_which_entry() -> None:
    policy = _policy({"deny": {"ips": ["203.0.113.0/24"]}})
    decision = policy.decide(_exchange("203.0.113.7"), T0)
    assert decision.action is Action.BLOCK and decision.refuses
    assert decision.rule == "enforce.deny.ip"
    assert "203.0.113.0/24" in decision.reason
    assert policy.decide(_exchange("198.51.100.7"), T0).action is Action.ALLOW


def test_the_allow_list_wins_over_deny_blocks_and_rate_limits() -> None:
    blocks = MemoryBlocks()
    blocks.block("identity", "partner", T0 + 60, "manual")
    policy = _policy(
        {
            "allow": {"identities": ["partner"]},
            "deny": {"ips": ["203.0.113.0/24"]},
            "rate_limits": {"actor": {"requests": 1}},
        },
        blocks,
    )
    for _ in range(3):
        decision = policy.decide(_exchange(identity="partner"), T0)
        assert decision.action is Action.ALLOW and decision.rule == "enforce.allow"


def test_blocks_of_each_kind_refuse_until_they_expire() -> None:
    blocks = MemoryBlocks()
    key = MaskedSecret("sk_li", "0123456789abcdef" * 4)
    blocks.block("ip", "198.51.100.1", T0 + 60, "ip block")
    blocks.block("identity", "mallory", T0 + 60, "identity block")
    blocks.block("key", key.digest[:16], T0 + 60, "key block")
    blocks.block("session", "feedbeef00000000", T0 + 60, "session block")
    policy = _policy({}, blocks)
    cases = {
        "enforce.block.ip": _exchange("198.51.100.1"),
        "enforce.block.identity": _exchange(identity="mallory"),
        "enforce.block.key": _exchange(api_key=key),
        "enforce.block.session": _exchange(session="feedbeef00000000" + "1" * 16),
    }
    for rule, exchange in cases.items():
        decision = policy.decide(exchange, T0 + 59)
        assert (decision.action, decision.rule) == (Action.BLOCK, rule)
        assert policy.decide(exchange, T0 + 60).action is Action.ALLOW


def test_rate_limit_refuses_after_the_burst_with_headers_and_refills() -> None:
    policy = _policy({"rate_limits": {"actor": {"requests": 3, "per_seconds": 3}}})
    actions = [policy.decide(_exchange(), T0).action for _ in range(4)]
    assert actions == [Action.ALLOW] * 3 + [Action.THROTTLE]
    refused = policy.decide(_exchange(), T0 + 0.5)
    assert refused.rule == "enforce.rate.actor"
    headers = dict(refused.headers)
    assert headers["retry-after"] == "1"
    assert headers["ratelimit-policy"] == '"actor";q=3;w=3'
    assert headers["ratelimit"] == '"actor";r=0;t=1'
    assert policy.decide(_exchange(), T0 + 1.0).action is Action.ALLOW


def test_denied_requests_do_not_spend_tokens() -> None:
    policy = _policy(
        {"deny": {"user_agents": ["nikto"]}, "rate_limits": {"endpoint": {"requests": 1}}}
    )
    for _ in range(3):
        policy.decide(_exchange(user_agent="Nikto/2.5"), T0)
    assert policy.decide(_exchange(), T0).action is Action.ALLOW


def test_monitor_mode_records_what_it_would_do_and_lets_it_pass() -> None:
    policy = _policy({"mode": "monitor", "deny": {"identities": ["mallory"]}})
    decision = policy.decide(_exchange(identity="mallory"), T0)
    assert decision.action is Action.BLOCK and decision.rule == "enforce.deny.identity"
    assert decision.enforced is False and not decision.refuses


def test_mode_off_decides_nothing() -> None:
    policy = _policy({"mode": "off", "deny": {"identities": ["mallory"]}})
    assert policy.decide(_exchange(identity="mallory"), T0).action is Action.ALLOW


@pytest.mark.parametrize(
    ("block_on_threat", "action"), [(False, Action.FLAG), (True, Action.BLOCK)]
)
def test_a_high_threat_is_flagged_unless_blocking_is_configured(
    block_on_threat: bool, action: Action
) -> None:
    policy = _policy({"block_on_threat": block_on_threat})
    exchange = _exchange()
    exchange.findings.append(Finding("injection.sqli", "SQL injection", Severity.HIGH))
    decision = policy.decide(exchange, T0)
    assert decision.action is action and decision.rule == "enforce.threat"
    assert "injection.sqli" in decision.reason
    assert decision.refuses is block_on_threat


def test_a_rate_limit_refusal_wins_over_a_flag() -> None:
    policy = _policy({"rate_limits": {"actor": {"requests": 1}}})
    policy.decide(_exchange(), T0)
    exchange = _exchange()
    exchange.findings.append(Finding("injection.xss", "XSS", Severity.HIGH))
    assert policy.decide(exchange, T0).action is Action.THROTTLE


def test_enforce_config_mistakes_name_the_fix() -> None:
    with pytest.raises(ConfigError, match="Did you mean 'requests'"):
        parse_config("enforce:\n  rate_limits:\n    actor: {requets: 5}\n")
    with pytest.raises(ConfigError, match="12\\+ hex digits"):
        parse_config("enforce:\n  deny:\n    api_keys: [sk_live]\n")
    with pytest.raises(ConfigError, match="'POST /login'"):
        parse_config("enforce:\n  rate_limits:\n    routes: {login: {requests: 1}}\n")
    with pytest.raises(ConfigError, match=r"enforce\.mode"):
        parse_config("enforce:\n  mode: block\n")


@pytest.mark.parametrize(
    ("answer", "action"),
    [("block", Action.BLOCK), ("tarpit", Action.TARPIT), ("decoy", Action.DECOY)],
)
def test_a_block_is_decided_with_its_action(answer: BlockAction, action: Action) -> None:
    blocks = MemoryBlocks()
    blocks.block("ip", "198.51.100.1", T0 + 60, "incident 4: scanner (high)", answer)
    decision = _policy({}, blocks).decide(_exchange("198.51.100.1"), T0)
    assert (decision.action, decision.rule) == (action, "enforce.block.ip")
    assert decision.reason == "incident 4: scanner (high)" and decision.refuses


def test_monitor_mode_records_a_tarpit_and_the_allow_list_beats_a_decoy() -> None:
    blocks = MemoryBlocks()
    blocks.block("identity", "bot", T0 + 60, "scanner", "tarpit")
    blocks.block("identity", "partner", T0 + 60, "scanner", "decoy")
    watching = _policy({"mode": "monitor"}, blocks).decide(_exchange(identity="bot"), T0)
    assert watching.action is Action.TARPIT and not watching.enforced and not watching.refuses
    allowed = _policy({"allow": {"identities": ["partner"]}}, blocks)
    assert allowed.decide(_exchange(identity="partner"), T0).action is Action.ALLOW


def test_a_tarpitted_request_spends_no_tokens() -> None:
    blocks = MemoryBlocks()
    blocks.block("ip", "198.51.100.1", T0 + 60, "scanner", "tarpit")
    policy = _policy({"rate_limits": {"endpoint": {"requests": 1}}}, blocks)
    for _ in range(3):
        assert policy.decide(_exchange("198.51.100.1"), T0).action is Action.TARPIT
    assert policy.decide(_exchange(), T0).action is Action.ALLOW


def test_bots_config_mistakes_name_the_fix() -> None:
    with pytest.raises(ConfigError, match=r"enforce\.bots\.action: 'maze' is not valid"):
        parse_config("enforce:\n  bots: {action: maze}\n")
    with pytest.raises(ConfigError, match="'customers' names no route"):
        parse_config("enforce:\n  bots: {decoys: {customers: []}}\n")
    with pytest.raises(ConfigError, match=r"enforce\.bots\.tarpit_seconds"):
        parse_config("enforce:\n  bots: {tarpit_seconds: 0}\n")


# One check per decision, and the decisions of the calls one by one


class Recorded:
    """Limits that remember what each check asked."""

    def __init__(self, inner: Limits) -> None:
        self.inner = inner
        self.asked: list[tuple[list[tuple[BlockKind, str]], list[Draw]]] = []

    def check(
        self, blocks: Sequence[tuple[BlockKind, str]], draws: Sequence[Draw], now: float
    ) -> Check:
        self.asked.append((list(blocks), list(draws)))
        return self.inner.check(blocks, draws, now)


KEY = MaskedSecret("sk_li", "0123456789abcdef" * 4)
EVERY_LIMIT = {
    "rate_limits": {
        "actor": {"requests": 10},
        "endpoint": {"requests": 100},
        "actor_endpoint": {"requests": 5},
    }
}


def test_a_decision_reads_its_blocks_and_buckets_in_one_check() -> None:
    policy = _policy(EVERY_LIMIT)
    recorded = policy.limits = Recorded(policy.limits)
    exchange = _exchange(identity="alice", api_key=KEY, session="feedbeef" * 4)
    assert policy.decide(exchange, T0).action is Action.ALLOW
    ((lookups, draws),) = recorded.asked
    assert lookups == [
        ("ip", "203.0.113.7"),
        ("identity", "alice"),
        ("key", KEY.digest[:16]),
        ("session", "feedbeef" * 2),
    ]
    assert [(d.key, d.rate, d.burst) for d in draws] == [
        ("rl:ae:id:alice|GET /orders", 5 / 60, 5),
        ("rl:a:id:alice", 10 / 60, 10),
        ("rl:e:GET /orders", 100 / 60, 100),
    ]


def test_a_denied_request_still_answers_to_its_block_and_draws_nothing() -> None:
    blocks = MemoryBlocks()
    blocks.block("ip", "203.0.113.7", T0 + 60, "incident 2", "tarpit")
    policy = _policy({"deny": {"user_agents": ["nikto"]}, **EVERY_LIMIT}, blocks)
    recorded = policy.limits = Recorded(policy.limits)
    decision = policy.decide(_exchange(user_agent="Nikto/2.5"), T0)
    assert (decision.action, decision.rule) == (Action.TARPIT, "enforce.block.ip")
    assert (
        policy.decide(_exchange(user_agent="Nikto/2.5"), T0 + 60).rule == "enforce.deny.user_agent"
    )
    assert [draws for _, draws in recorded.asked] == [[], []]


class Broken:
    """A spec validation that fails."""

    def decide(self, exchange: Exchange) -> Decision | None:
        raise RuntimeError("broken validator")


def test_a_block_answers_even_when_what_comes_after_it_fails() -> None:
    blocks = MemoryBlocks()
    blocks.block("ip", "198.51.100.1", T0 + 60, "scanner")
    config = EnforceConfig.model_validate(EVERY_LIMIT)
    policy = Policy(config, MemoryBuckets(), blocks, schema=Broken())  # type: ignore[arg-type]
    assert policy.decide(_exchange("198.51.100.1"), T0).rule == "enforce.block.ip"
    with pytest.raises(RuntimeError, match="broken validator"):
        policy.decide(_exchange("198.51.100.2"), T0)


class Refusing:
    """A spec validation that refuses requests carrying a `schema.request_invalid` finding."""

    def decide(self, exchange: Exchange) -> Decision | None:
        if any(f.rule_id == "schema.request_invalid" for f in exchange.findings):
            return Decision(Action.BLOCK, "invalid body", "enforce.schema")
        return None


def _decide_call_by_call(policy: Policy, exchange: Exchange, now: float) -> Decision:
    """The policy's order with one storage call per block and bucket, as it was first built."""
    actor = exchange.actor
    assert actor is not None
    allowed = policy.allow.match(actor) if policy.allow else None
    if allowed is not None:
        return Decision(Action.ALLOW, f"allow list: {allowed[0]} {allowed[1]}", "enforce.allow")
    block = _blocked_call_by_call(policy, actor, now)
    if block is not None:
        return Decision(_BLOCK_ACTIONS[block.action], block.reason, f"enforce.block.{block.kind}")
    denied = policy.deny.match(actor) if policy.deny else None
    if denied is not None:
        kind, entry = denied
        return Decision(Action.BLOCK, f"deny list: {kind} {entry}", f"enforce.deny.{kind}")
    refused = policy.schema.decide(exchange) if policy.schema is not None else None
    if refused is not None:
        return refused
    threat = policy._threat(exchange)
    if threat is not None and threat.action is Action.BLOCK:
        return threat
    exceeded = policy.rate_limits.take(exchange, actor, now) if policy.rate_limits else None
    if exceeded is not None:
        name = exceeded.limit.name
        return Decision(
            Action.THROTTLE,
            f"rate limit {name}: {exceeded.limit.quota} per {exceeded.limit.window}s",
            f"enforce.rate.{name}",
            exceeded.headers(),
        )
    return threat or ALLOW


def _blocked_call_by_call(policy: Policy, actor: Actor, now: float) -> Block | None:
    blocks = policy.blocks
    block = blocks.is_blocked("ip", actor.ip, now)
    if block is None and actor.identity is not None:
        block = blocks.is_blocked("identity", actor.identity, now)
    if block is None and actor.api_key is not None:
        block = blocks.is_blocked("key", actor.api_key.digest[:16], now)
    if block is None and actor.session is not None:
        block = blocks.is_blocked("session", actor.session[:16], now)
    return block


IPS = ("203.0.113.7", "198.51.100.1")
limit = st.one_of(
    st.just({}),
    st.builds(
        lambda requests, seconds: {"requests": requests, "per_seconds": seconds},
        st.integers(1, 4),
        st.sampled_from((1.0, 2.0, 10.0)),
    ),
)
configs = st.fixed_dictionaries(
    {
        "block_on_threat": st.booleans(),
        "deny": st.fixed_dictionaries(
            {"identities": st.lists(st.sampled_from(("mallory",)), max_size=1)}
        ),
        "rate_limits": st.fixed_dictionaries(
            {
                "actor": limit,
                "endpoint": limit,
                "actor_endpoint": limit,
                "routes": st.one_of(st.just({}), limit.map(lambda made: {"POST /login": made})),
            }
        ),
    }
)
requests = st.tuples(
    st.just("request"),
    st.sampled_from(IPS),
    st.sampled_from((None, "alice", "mallory")),
    st.sampled_from((None, "feedbeef" * 4)),
    st.sampled_from(("GET /orders", "POST /login")),
    st.sampled_from((None, "injection.sqli", "schema.request_invalid")),
    st.integers(0, 30),
)
raised = st.tuples(
    st.just("block"),
    st.sampled_from(BLOCK_KINDS),
    st.sampled_from((*IPS, "alice", "mallory", KEY.digest[:16], "feedbeef" * 2)),
    st.integers(-2, 30),
    st.sampled_from(BLOCK_ACTIONS),
)


def _request(step: tuple[Any, ...]) -> Exchange:
    _, ip, identity, session, endpoint, finding, _ = step
    method, path = endpoint.split()
    exchange = make_exchange(method, path, peer_ip=ip)
    exchange.actor = Actor(ip, identity=identity, api_key=KEY, session=session)
    exchange.route = path
    if finding is not None:
        exchange.findings.append(Finding(finding, finding, Severity.HIGH))
    return exchange


@settings(max_examples=300, deadline=None)
@given(config=configs, history=st.lists(st.one_of(requests, raised), max_size=30))
def test_decisions_are_those_of_the_calls_one_by_one(
    config: dict[str, Any], history: list[tuple[Any, ...]]
) -> None:
    enforce = EnforceConfig.model_validate(config)
    combined = Policy(enforce, MemoryBuckets(), MemoryBlocks(), schema=Refusing())  # type: ignore[arg-type]
    one_by_one = Policy(enforce, MemoryBuckets(), MemoryBlocks(), schema=Refusing())  # type: ignore[arg-type]
    for step in history:
        if step[0] == "block":
            _, kind, value, until, action = step
            for policy in (combined, one_by_one):
                policy.blocks.block(kind, value, T0 + until * 0.5, "raised", action)
        else:
            now = T0 + step[-1] * 0.5
            expected = _decide_call_by_call(one_by_one, _request(step), now)
            assert combined.decide(_request(step), now) == expected
    assert combined.rate_limits.buckets._buckets == one_by_one.rate_limits.buckets._buckets  # type: ignore[attr-defined]
    assert combined.blocks._blocks == one_by_one.blocks._blocks  # type: ignore[attr-defined]

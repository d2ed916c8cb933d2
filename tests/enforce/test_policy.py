from __future__ import annotations

import pytest

from apishield.config import ConfigError, EnforceConfig, parse_config
from apishield.enforce.policy import Policy
from apishield.exchange import Action, Actor, Exchange, Finding, MaskedSecret, Severity
from apishield.limits import BlockAction
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

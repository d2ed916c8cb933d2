from __future__ import annotations

import pytest

from apishield.config import AutoBlockConfig, BotsConfig
from apishield.detect.incidents import Incident
from apishield.enforce.autoblock import auto_block, blocked_by
from apishield.exchange import Severity
from apishield.limits import BlockAction
from apishield.state.memory_limits import MemoryBlocks
from apishield.testing import T0


def _incident(scope: str, severity: Severity) -> Incident:
    incident = Incident(7, scope, T0 - 100, T0, severity=severity, title="Bulk access")
    return incident


def test_each_actor_scope_names_what_to_block() -> None:
    assert blocked_by(_incident("actor:id:mallory", Severity.HIGH)) == ("identity", "mallory")
    assert blocked_by(_incident("actor:key:0123456789abcdef", Severity.HIGH)) == (
        "key",
        "0123456789abcdef",
    )
    assert blocked_by(_incident("actor:session:feedbeef", Severity.HIGH)) == ("session", "feedbeef")
    assert blocked_by(_incident("actor:ip:2001:db8::1", Severity.HIGH)) == ("ip", "2001:db8::1")
    assert blocked_by(_incident("campaign:enum:/users/{id}", Severity.HIGH)) is None


def test_a_high_incident_blocks_its_actor_from_its_last_detection() -> None:
    blocks = MemoryBlocks()
    block = auto_block(_incident("actor:id:mallory", Severity.HIGH), blocks, AutoBlockConfig())
    assert block is not None and block.until == T0 + 3_600
    held = blocks.is_blocked("identity", "mallory", T0 + 10)
    assert held is not None and held.reason == "incident 7: Bulk access (high)"
    assert blocks.is_blocked("identity", "mallory", T0 + 3_600) is None


def test_milder_incidents_campaigns_and_a_disabled_config_block_nothing() -> None:
    blocks = MemoryBlocks()
    assert auto_block(_incident("actor:id:a", Severity.MEDIUM), blocks, AutoBlockConfig()) is None
    campaign = _incident("campaign:enum:/x", Severity.CRITICAL)
    assert auto_block(campaign, blocks, AutoBlockConfig()) is None
    off = AutoBlockConfig(enabled=False)
    assert auto_block(_incident("actor:id:b", Severity.CRITICAL), blocks, off) is None
    assert blocks.list(T0) == []
    medium = AutoBlockConfig(min_severity="medium")
    assert auto_block(_incident("actor:id:a", Severity.MEDIUM), blocks, medium) is not None


def _bot_incident(*rules: str, severity: Severity = Severity.HIGH) -> Incident:
    incident = _incident("actor:ip:198.51.100.66", severity)
    incident.title = "Repeated attack payloads from one IP (scanner)"
    incident.rules.update(rules)
    return incident


@pytest.mark.parametrize("action", ["tarpit", "decoy"])
def test_an_incident_with_a_bot_rule_blocks_with_the_bots_action(action: BlockAction) -> None:
    blocks = MemoryBlocks()
    bots = BotsConfig(action=action)
    incident = _bot_incident("scan.attack-requests", "bulk.records")
    block = auto_block(incident, blocks, AutoBlockConfig(), bots)
    assert block is not None and block.action == action
    held = blocks.is_blocked("ip", "198.51.100.66", T0)
    assert held == block
    assert held.reason.endswith("(high); bot: scan.attack-requests")


def test_an_incident_without_a_bot_rule_is_a_plain_block() -> None:
    blocks = MemoryBlocks()
    bots = BotsConfig(action="tarpit")
    block = auto_block(_bot_incident("bulk.records"), blocks, AutoBlockConfig(), bots)
    assert block is not None and block.action == "block"
    without = auto_block(_bot_incident("scan.attack-requests"), MemoryBlocks(), AutoBlockConfig())
    assert without is not None and without.action == "block"  # no bots config given


def test_bot_rules_do_not_lower_the_bar_and_can_be_configured() -> None:
    blocks = MemoryBlocks()
    bots = BotsConfig(action="decoy", rules=["bulk.records"])
    mild = _bot_incident("bulk.records", severity=Severity.MEDIUM)
    assert auto_block(mild, blocks, AutoBlockConfig(), bots) is None
    scanner = auto_block(_bot_incident("scan.attack-requests"), blocks, AutoBlockConfig(), bots)
    assert scanner is not None and scanner.action == "block"  # not among the configured rules
    bulk = auto_block(_bot_incident("bulk.records"), blocks, AutoBlockConfig(), bots)
    assert bulk is not None and bulk.action == "decoy"

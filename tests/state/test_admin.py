"""Blocks managed by an operator: what `apishield blocks list|add|remove` runs."""

from __future__ import annotations

import math

import pytest

from apishield.config import Config
from apishield.enforce import Policy
from apishield.exchange import Action
from apishield.normalise.actor import ActorResolver, JwtReader
from apishield.privacy import Hasher
from apishield.state.admin import BlocksError, add_block, list_blocks, remove_block
from apishield.state.factory import open_backends
from apishield.stateful import StateUnavailable
from apishield.testing import T0, make_exchange

HASHER = Hasher(b"s" * 32)


@pytest.fixture
def config(redis_url: str, redis_prefix: str) -> Config:
    return _shared(redis_url, redis_prefix)


def _shared(url: str, prefix: str, **identity: bool) -> Config:
    return Config.model_validate(
        {
            "data_dir": "/nonexistent",
            "identity": identity,
            "state": {"backend": "redis", "url": url, "prefix": prefix, "timeout": 0.5},
        }
    )


def test_add_list_and_remove(config: Config) -> None:
    added = add_block(config, "ip", "2001:DB8::0001", seconds=600, reason="scraping", now=T0)
    assert (added.kind, added.value, added.until) == ("ip", "2001:db8::1", T0 + 600)
    add_block(config, "identity", "mallory", now=T0)
    listed = list_blocks(config, now=T0)
    assert [(b.kind, b.value, b.until) for b in listed] == [
        ("identity", "mallory", math.inf),
        ("ip", "2001:db8::1", T0 + 600),
    ]
    assert listed[0].reason == "blocked by an operator"
    assert remove_block(config, "ip", "2001:db8::1") is True
    assert remove_block(config, "ip", "2001:db8::1") is False
    assert [b.value for b in list_blocks(config, now=T0)] == ["mallory"]


def test_an_added_block_is_the_one_the_policy_enforces(config: Config) -> None:
    add_block(config, "ip", "198.51.100.23", seconds=60, now=T0)
    add_block(config, "key", "key:0123456789abcdef", seconds=60, now=T0)
    backends = open_backends(config)
    try:
        policy = Policy(config.enforce, backends.buckets, backends.blocks)
        resolver = ActorResolver(config.identity, HASHER, JwtReader())
        exchange = make_exchange(peer_ip="198.51.100.23", started=T0 + 1)
        resolver(exchange)
        decision = policy.decide(exchange, T0 + 1)
        assert decision.action is Action.BLOCK and decision.rule == "enforce.block.ip"
    finally:
        backends.close()
    keys = [b.value for b in list_blocks(config, now=T0) if b.kind == "key"]
    assert keys == ["0123456789abcdef"]


def test_a_block_added_with_an_action_is_answered_that_way(config: Config) -> None:
    added = add_block(config, "ip", "198.51.100.24", seconds=60, action="tarpit", now=T0)
    assert added.action == "tarpit"
    assert [b.action for b in list_blocks(config, now=T0)] == ["tarpit"]
    backends = open_backends(config)
    try:
        policy = Policy(config.enforce, backends.buckets, backends.blocks)
        exchange = make_exchange(peer_ip="198.51.100.24", started=T0 + 1)
        ActorResolver(config.identity, HASHER, JwtReader())(exchange)
        decision = policy.decide(exchange, T0 + 1)
        assert decision.action is Action.TARPIT and decision.refuses
    finally:
        backends.close()


def test_hashed_addresses_are_hashed_as_the_resolver_hashes_them(
    redis_url: str, redis_prefix: str
) -> None:
    config = _shared(redis_url, redis_prefix, hash_ips=True)
    with pytest.raises(BlocksError, match="install secret"):
        add_block(config, "ip", "198.51.100.23", now=T0)
    block = add_block(config, "ip", "198.51.100.23", hasher=HASHER, now=T0)
    exchange = make_exchange(peer_ip="198.51.100.23")
    ActorResolver(config.identity, HASHER, JwtReader())(exchange)
    assert exchange.actor is not None and block.value == exchange.actor.ip
    assert remove_block(config, "ip", block.value) is True  # the hash itself works too


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [
        ("ips", "198.51.100.1", "'ips' is not a kind of block. Did you mean 'ip'?"),
        ("ip", "not-an-ip", "'not-an-ip' is not an IP address"),
        ("key", "sk_li…#0123456789ab", "16 hex digits of its keyed hash"),
        ("session", "zz", "16 hex digits"),
        ("identity", "  ", "give the identity to block"),
    ],
)
def test_bad_requests_say_what_to_give(config: Config, kind: str, value: str, message: str) -> None:
    with pytest.raises(BlocksError, match=message):
        add_block(config, kind, value, seconds=60)


def test_an_unknown_action_names_the_valid_ones(config: Config) -> None:
    with pytest.raises(
        BlocksError, match=r"'tarpitt' is not a block action\. Did you mean 'tarpit'"
    ):
        add_block(config, "ip", "198.51.100.1", action="tarpitt")
    with pytest.raises(BlocksError, match="Valid: block, tarpit, decoy"):
        add_block(config, "ip", "198.51.100.1", action="maze")
    assert list_blocks(config, now=T0) == []


def test_a_block_lasts_a_positive_time(config: Config) -> None:
    with pytest.raises(BlocksError, match="more than zero seconds"):
        add_block(config, "ip", "198.51.100.1", seconds=0)


def test_memory_state_cannot_be_managed_from_outside() -> None:
    with pytest.raises(BlocksError, match=r"state\.backend: redis"):
        list_blocks(Config.model_validate({"data_dir": "/nonexistent"}))


def test_an_unreachable_redis_is_reported_not_hidden() -> None:
    config = _shared("redis://127.0.0.1:1/0", "x:")
    with pytest.raises(StateUnavailable, match=r"127\.0\.0\.1:1/0"):
        list_blocks(config)

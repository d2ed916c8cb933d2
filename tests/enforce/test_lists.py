from __future__ import annotations

import ipaddress

import pytest

from apishield.config import AccessListConfig
from apishield.enforce.lists import AccessList, AddressSet
from apishield.exchange import Actor, MaskedSecret


def _set(*networks: str) -> AddressSet:
    return AddressSet(ipaddress.ip_network(n) for n in networks)


def test_addresses_and_cidrs_of_both_versions_match() -> None:
    addresses = _set("10.0.0.0/8", "192.0.2.7/32", "2001:db8::/32")
    assert addresses.match("10.200.3.4") == "10.0.0.0/8"
    assert addresses.match("192.0.2.7") == "192.0.2.7/32"
    assert addresses.match("192.0.2.8") is None
    assert addresses.match("2001:db8:1::5") == "2001:db8::/32"
    assert addresses.match("2001:db9::1") is None


def test_ipv4_mapped_ipv6_matches_as_ipv4_and_non_addresses_match_nothing() -> None:
    addresses = _set("10.0.0.0/8")
    assert addresses.match("::ffff:10.1.2.3") == "10.0.0.0/8"
    assert addresses.match("h:3f2a9c") is None
    assert addresses.match("") is None
    assert not AddressSet() and addresses


def test_each_kind_of_entry_names_what_matched() -> None:
    config = AccessListConfig(
        ips=[ipaddress.ip_network("203.0.113.0/24")],
        identities=["mallory"],
        api_keys=["sk_li…#abcdef012345"],
        user_agents=["SQLMap"],
    )
    access = AccessList(config)
    assert access.match(Actor("203.0.113.9")) == ("ip", "203.0.113.0/24")
    assert access.match(Actor("198.51.100.1", identity="mallory")) == ("identity", "mallory")
    key = MaskedSecret("sk_li", "abcdef0123456789" + "0" * 48)
    assert access.match(Actor("198.51.100.1", api_key=key)) == ("key", str(key))
    other = MaskedSecret("sk_li", "bbcdef0123456789" + "0" * 48)
    assert access.match(Actor("198.51.100.1", api_key=other)) is None
    agent = Actor("198.51.100.1", user_agent="sqlmap/1.7.2#stable")
    assert access.match(agent) == ("user_agent", "sqlmap")
    assert access.match(Actor("198.51.100.1", identity="alice", user_agent="curl/8")) is None


def test_remembered_answers_are_the_answers_and_the_memory_is_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("apishield.enforce.lists.ANSWERS_KEPT", 3)
    addresses = _set("10.0.0.0/8", "2001:db8::/32")
    asked = ["10.1.1.1", "192.0.2.1", "10.1.1.1", "2001:db8::9", "::1", "10.9.9.9", "192.0.2.1"]
    for address in asked * 2:
        assert addresses.match(address) == addresses._match(address)
        assert len(addresses._answers) <= 3


def test_a_list_of_only_the_whole_internet_is_a_list() -> None:
    everything = AddressSet([ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0")])
    assert everything
    assert everything.match("198.51.100.1") == "0.0.0.0/0"
    assert everything.match("2001:db8::1") == "::/0"


def test_an_ipv4_mapped_entry_matches_the_ipv4_client_it_means() -> None:
    listed = AddressSet([ipaddress.ip_network("::ffff:203.0.113.0/120")])
    assert listed.match("203.0.113.9") == "203.0.113.0/24"
    assert listed.match("::ffff:203.0.113.9") == "203.0.113.0/24"
    assert listed.match("198.51.100.1") is None

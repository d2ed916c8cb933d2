from __future__ import annotations

import ipaddress

from hypothesis import given
from hypothesis import strategies as st

from apishield.checks.registry import CheckContext
from apishield.checks.reputation import (
    BadLines,
    PrefixTable,
    check_ip_reputation,
    parse_list,
)
from apishield.exchange import Actor, Severity
from apishield.testing import make_exchange

FIREHOL = """\
#
# firehol_level1
# ipv4 hash:net ipset
#
0.0.0.0/8
192.0.2.0/24
198.51.100.17
"""

DROP = """\
; Spamhaus DROP List 2024/01/01
203.0.113.0/25 ; SBL000001
"""


def table(**lists: str) -> PrefixTable:
    prefixes = PrefixTable()
    for name, text in lists.items():
        prefixes.add(parse_list(text.splitlines(), name), name)
    return prefixes


def test_parse_firehol_and_drop_formats() -> None:
    assert [str(n) for n in parse_list(FIREHOL.splitlines(), "l1")] == [
        "0.0.0.0/8",
        "192.0.2.0/24",
        "198.51.100.17/32",
    ]
    assert [str(n) for n in parse_list(DROP.splitlines(), "drop")] == ["203.0.113.0/25"]


def test_parse_ranges_ipv6_and_host_bits() -> None:
    lines = ["10.0.0.0-10.0.0.5", "2001:db8::/32", "10.1.2.3/8", "2001:db8::1  # trailing"]
    assert [str(n) for n in parse_list(lines, "x")] == [
        "10.0.0.0/30",
        "10.0.0.4/31",
        "2001:db8::/32",
        "10.0.0.0/8",
        "2001:db8::1/128",
    ]


def test_bad_lines_are_counted_not_fatal() -> None:
    bad = BadLines()
    lines = ["1.2.3.4", "not-an-ip", "300.1.1.1", "10.0.0.9-10.0.0.1", "1.2.3.4-::1", "\x00\xff"]
    assert [str(n) for n in parse_list(lines, "mixed", bad)] == ["1.2.3.4/32"]
    assert bad.count == 5
    assert bad.examples[0].startswith("mixed:2: ")
    assert "'not-an-ip'" in bad.examples[0]
    assert parse_list(["nonsense"], "quiet") == []


def test_bad_line_examples_are_capped() -> None:
    bad = BadLines()
    parse_list(["x" * 500] * 1000, "junk", bad)
    assert bad.count == 1000
    assert len(bad.examples) == 20
    assert all("x" * 60 in e and "x" * 61 not in e for e in bad.examples)


def test_lookup_prefers_the_longest_prefix() -> None:
    prefixes = table(wide="10.0.0.0/8", narrow="10.9.0.0/16")
    assert prefixes.lookup("10.9.1.1") == "narrow"
    assert prefixes.lookup("10.8.1.1") == "wide"
    assert prefixes.lookup("11.0.0.1") is None
    assert prefixes.size == 2


def test_first_list_keeps_a_shared_entry() -> None:
    prefixes = table(first="192.0.2.1", second="192.0.2.1")
    assert prefixes.lookup("192.0.2.1") == "first"


def test_lookup_of_ipv6_mapped_and_junk() -> None:
    prefixes = table(v4="192.0.2.0/24", v6="2001:db8::/32")
    assert prefixes.lookup("2001:db8:0:1::5") == "v6"
    assert prefixes.lookup("2001:db9::1") is None
    assert prefixes.lookup("::ffff:192.0.2.7") == "v4"
    assert prefixes.lookup("fe80::1%eth0") is None
    for junk in ["", "h:0123abcd", "999.1.1.1", "1.2.3", "::zz", "192.0.2.1.5"]:
        assert prefixes.lookup(junk) is None


def test_the_whole_address_space() -> None:
    prefixes = table(everything="0.0.0.0/0")
    assert prefixes.lookup("255.255.255.255") == "everything"
    assert prefixes.lookup("::1") is None


networks = st.builds(
    lambda value, length: ipaddress.ip_network((value, length), strict=False),
    st.integers(0, 2**32 - 1),
    st.integers(8, 32),
)


@given(st.lists(networks, min_size=1, max_size=20), st.integers(0, 2**32 - 1))
def test_lookup_agrees_with_ipaddress(listed: list[ipaddress.IPv4Network], value: int) -> None:
    prefixes = PrefixTable()
    prefixes.add(listed, "bad")
    address = ipaddress.IPv4Address(value)
    expected = any(address in network for network in listed)
    assert (prefixes.lookup(str(address)) == "bad") is expected
    inside = listed[0].network_address
    assert prefixes.lookup(str(inside)) == "bad"


def test_check_reports_the_list_and_actor_address() -> None:
    context = CheckContext(reputation=table(tor_exits="198.51.100.0/24"))
    exchange = make_exchange(peer_ip="10.0.0.2")
    exchange.actor = Actor(ip="198.51.100.9")
    [finding] = check_ip_reputation(exchange, context)
    assert (finding.rule_id, finding.severity) == ("reputation.listed-ip", Severity.MEDIUM)
    assert finding.evidence == {"list": "tor_exits", "ip": "198.51.100.9"}


def test_check_falls_back_to_the_peer_without_showing_it_when_ips_are_hashed() -> None:
    context = CheckContext(reputation=table(drop="198.51.100.0/24"))
    exchange = make_exchange(peer_ip="198.51.100.9")
    exchange.actor = Actor(ip="h:0123456789abcdef")
    [finding] = check_ip_reputation(exchange, context)
    assert finding.evidence == {"list": "drop"}
    exchange.actor = None
    assert len(check_ip_reputation(exchange, context)) == 1


def test_hashed_ips_are_looked_up_by_the_client_address_behind_the_proxy() -> None:
    context = CheckContext(reputation=table(tor_exits="198.51.100.0/24"))
    exchange = make_exchange(peer_ip="10.0.0.2")  # the load balancer, not listed
    exchange.actor = Actor(ip="h:0123456789abcdef", client_ip="198.51.100.9")
    [finding] = check_ip_reputation(exchange, context)
    assert finding.evidence == {"list": "tor_exits"}  # the address is not shown


def test_check_without_a_table_or_a_listed_address() -> None:
    exchange = make_exchange(peer_ip="198.51.100.9")
    assert check_ip_reputation(exchange, CheckContext()) == []
    context = CheckContext(reputation=table(drop="192.0.2.0/24"))
    assert check_ip_reputation(exchange, context) == []

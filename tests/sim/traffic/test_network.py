"""Addresses and how requests arrive through the load balancer."""

from __future__ import annotations

import random

from apishield.sim.traffic import network, partners
from apishield.sim.traffic.attacks import (
    bola,
    enumeration,
    exfiltration,
    exposure,
    noise,
    reset,
    stuffing,
)
from apishield.sim.traffic.network import Addresses, Client


def test_addresses_are_unique_and_under_their_octets() -> None:
    addresses = Addresses(random.Random(1), (31, 37))
    taken = addresses.many(2000)
    assert len(set(taken)) == 2000
    assert {int(a.split(".")[0]) for a in taken} == {31, 37}
    pinned = Addresses(random.Random(1), (34,)).take("34.82.17.")
    assert pinned.startswith("34.82.17.") and pinned.count(".") == 3


def test_no_two_kinds_of_actor_share_first_octets() -> None:
    pools = [
        network.RESIDENTIAL, network.OFFICES, partners.OCTETS, exfiltration.OCTETS,
        enumeration.OCTETS, bola.OCTETS, stuffing.OCTETS, reset.OCTETS, exposure.TEST_API_OCTETS,
        exposure.ZOMBIE_OCTETS, noise.SCANNER_OCTETS, noise.FLOOD_OCTETS,
    ]  # fmt: skip
    flat = [octet for pool in pools for octet in pool]
    assert len(flat) == len(set(flat))
    assert not {10, 100, 127, 169, 172, 192, 198, 224} & set(flat)


def test_requests_arrive_through_the_balancer_or_directly() -> None:
    outside = Client("203.0.113.9", "ua", forwarded_prefix="10.1.2.3, ", balancer="10.0.0.6")
    request = outside.request("POST", "/v2/auth/login", body=b"{}", token="t", query="a=1")
    assert request.peer_ip == "10.0.0.6" and request.scheme == "https"
    assert request.headers["x-forwarded-for"] == "10.1.2.3, 203.0.113.9"
    assert request.headers["authorization"] == "Bearer t"
    assert request.headers["content-type"] == "application/json" and request.body_size == 2
    inside = Client("10.40.0.21", "batch", direct=True).request("GET", "/v2/plans")
    assert inside.peer_ip == "10.40.0.21" and "x-forwarded-for" not in inside.headers
    assert inside.body == b"" and inside.body_size == 0

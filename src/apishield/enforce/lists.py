"""Allow and deny lists: client IPs and CIDRs, identities, masked API keys, user-agent substrings.

Networks are kept as integer prefixes grouped by prefix length, so a lookup masks the address
once per distinct length in the list (a handful in practice) instead of testing every network.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable

from apishield.config import AccessListConfig
from apishield.exchange import Actor

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
ANSWERS_KEPT = 8192
"""Addresses an `AddressSet` remembers its answer for; past it, all are forgotten at once."""


class AddressSet:
    """IP addresses and networks, IPv4 and IPv6; IPv4-mapped IPv6 addresses match as IPv4."""

    def __init__(self, networks: Iterable[Network] = ()) -> None:
        # version -> prefix length -> network addresses as integers
        self._prefixes: dict[int, dict[int, set[int]]] = {4: {}, 6: {}}
        self._width = {4: 32, 6: 128}
        for listed in networks:
            network = _unmapped(listed)
            by_length = self._prefixes[network.version]
            by_length.setdefault(network.prefixlen, set()).add(int(network.network_address))
        self._answers: dict[str, str | None] = {}
        """`match` by address: the set never changes, and most requests come from clients
        seen before."""

    def __bool__(self) -> bool:
        # not `any()` over the lengths: a list of only 0.0.0.0/0 has the length 0
        return bool(self._prefixes[4]) or bool(self._prefixes[6])

    def match(self, address: str) -> str | None:
        """The listed network holding `address` (as "10.0.0.0/8"), or None."""
        answers = self._answers
        if address in answers:
            return answers[address]
        if len(answers) >= ANSWERS_KEPT:
            answers.clear()
        answers[address] = answer = self._match(address)
        return answer

    def _match(self, address: str) -> str | None:
        ip = _parse(address)
        if ip is None:
            return None
        width = self._width[ip.version]
        value = int(ip)
        for length, networks in self._prefixes[ip.version].items():
            mask = ((1 << length) - 1) << (width - length)
            if value & mask in networks:
                # by its family: the integer 0 alone would read as 0.0.0.0, not ::
                family = ipaddress.IPv4Network if ip.version == 4 else ipaddress.IPv6Network
                return str(family((value & mask, length)))
        return None


def _unmapped(network: Network) -> Network:
    """An IPv4-mapped IPv6 network (`::ffff:203.0.113.0/120`) as the IPv4 network it means:
    client addresses are matched as IPv4 once unmapped, so the entry must be too."""
    if network.version == 6 and network.prefixlen >= 96:
        mapped = network.network_address.ipv4_mapped
        if mapped is not None:
            return ipaddress.IPv4Network((mapped, network.prefixlen - 96))
    return network


def _parse(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address, or None for what is not one (a hashed IP, "unknown", a bracketed port)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


class AccessList:
    """One allow or deny list; `match` names the entry that matched, for the decision's reason."""

    def __init__(
        self, config: AccessListConfig, pseudonym: Callable[[str], str] | None = None
    ) -> None:
        """`pseudonym` turns a listed identity into the keyed hash actor resolution shows for
        it, where `identity.hash_identities` is on."""
        self.ips = AddressSet(config.ips)
        self.identities = frozenset(
            config.identities if pseudonym is None else map(pseudonym, config.identities)
        )
        self.key_digests = tuple(k.rpartition("#")[2].lower() for k in config.api_keys)
        self.user_agents = tuple(ua.lower() for ua in config.user_agents if ua)

    def __bool__(self) -> bool:
        return bool(self.ips or self.identities or self.key_digests or self.user_agents)

    def match(self, actor: Actor) -> tuple[str, str] | None:
        """(kind, entry) of the first entry naming `actor`: kind is "ip", "identity", "key" or
        "user_agent"."""
        network = self.ips.match(actor.address) if self.ips else None
        if network is not None:
            return "ip", network
        if actor.identity is not None and actor.identity in self.identities:
            return "identity", actor.identity
        if actor.api_key is not None and self.key_digests:
            digest = actor.api_key.digest
            for entry in self.key_digests:
                if digest.startswith(entry):
                    return "key", str(actor.api_key)
        if self.user_agents and actor.user_agent:
            agent = actor.user_agent.lower()
            for entry in self.user_agents:
                if entry in agent:
                    return "user_agent", entry
        return None

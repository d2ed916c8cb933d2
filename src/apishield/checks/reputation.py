"""IP reputation: requests from addresses on local block lists (FireHOL, Spamhaus DROP, own lists).

Lists are parsed here from lines the caller has read, so this module does no I/O. A bad line is
counted and skipped, never fatal: block lists are third-party files that change under you.
Lookups go to a `PrefixTable`, one hash table per prefix length and address family, so an address
costs one integer conversion and one dict probe per prefix length in use (a few µs).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

from apishield.checks.registry import CheckContext
from apishield.exchange import Exchange, Finding, Severity

Network = IPv4Network | IPv6Network

_EXAMPLES_MAX = 20
_LINE_SHOWN = 60


@dataclass(slots=True)
class BadLines:
    """Lines a list parse skipped: all are counted, the first few kept to show the user."""

    count: int = 0
    examples: list[str] = field(default_factory=list)

    def add(self, name: str, number: int, line: str, reason: str) -> None:
        self.count += 1
        if len(self.examples) < _EXAMPLES_MAX:
            self.examples.append(f"{name}:{number}: {reason}: {line[:_LINE_SHOWN]!r}")


def parse_list(lines: Iterable[str], name: str, bad: BadLines | None = None) -> list[Network]:
    """Networks of a plain or FireHOL netset list: IPs, CIDRs and `a-b` ranges, `#`/`;` comments.

    Spamhaus DROP puts `; SBL123` after the CIDR, FireHOL `#` before it; both are stripped. Host
    bits set in a CIDR (`10.1.2.3/8`) are cleared rather than refused: the list's intent is clear.
    """
    networks: list[Network] = []
    for number, raw in enumerate(lines, start=1):
        line = raw.split("#", 1)[0].split(";", 1)[0].strip()
        if not line:
            continue
        entry = line.split()[0]
        try:
            networks.extend(_networks(entry))
        except _RangeError as exc:
            if bad is not None:
                bad.add(name, number, raw.rstrip("\r\n"), str(exc))
        except ValueError:
            if bad is not None:
                bad.add(name, number, raw.rstrip("\r\n"), "not an IP address, CIDR or range")
    return networks


class _RangeError(ValueError):
    """A range whose ends are addresses but do not make a range."""


def _networks(entry: str) -> list[Network]:
    if "-" in entry:
        first, _, last = entry.partition("-")
        start, end = ipaddress.ip_address(first.strip()), ipaddress.ip_address(last.strip())
        if int(start) > int(end):
            raise _RangeError("range runs high to low")
        if isinstance(start, IPv4Address) and isinstance(end, IPv4Address):
            return list(ipaddress.summarize_address_range(start, end))
        if isinstance(start, IPv6Address) and isinstance(end, IPv6Address):
            return list(ipaddress.summarize_address_range(start, end))
        raise _RangeError("range mixes IPv4 and IPv6")
    return [ipaddress.ip_network(entry, strict=False)]


class PrefixTable:
    """Longest-prefix match of an address to the name of the list holding it.

    Per family, a dict per prefix length from the network's top bits to the list name; lookups
    try the lengths in use from longest to shortest. Lists have few distinct lengths (a FireHOL
    level-1 set has about 20), so this beats walking a 32- or 128-level bit trie in Python.
    """

    def __init__(self) -> None:
        self._tables: dict[int, dict[int, dict[int, str]]] = {4: {}, 6: {}}
        self._lengths: dict[int, tuple[int, ...]] = {4: (), 6: ()}
        self._bits = {4: 32, 6: 128}
        self.size = 0

    def add(self, networks: Iterable[Network], name: str) -> None:
        """Add a list's networks. An entry already present keeps the name it was added with."""
        for network in networks:
            version = network.version
            by_length = self._tables[version].setdefault(network.prefixlen, {})
            key = int(network.network_address) >> (self._bits[version] - network.prefixlen)
            if key not in by_length:
                by_length[key] = name
                self.size += 1
        for family, tables in self._tables.items():
            self._lengths[family] = tuple(sorted(tables, reverse=True))

    def lookup(self, ip: str) -> str | None:
        """The name of the list an address is on, or None (also for text that is no address)."""
        parsed = _address(ip)
        if parsed is None:
            return None
        version, value = parsed
        tables = self._tables[version]
        bits = self._bits[version]
        for length in self._lengths[version]:
            name = tables[length].get(value >> (bits - length))
            if name is not None:
                return name
        return None


def _address(ip: str) -> tuple[int, int] | None:
    """(family, integer) of an address; IPv4-mapped IPv6 counts as IPv4."""
    value = _ipv4_int(ip)
    if value is not None:
        return 4, value
    if ":" not in ip:
        return None
    try:
        address = IPv6Address(ip.partition("%")[0].strip("[]"))
    except ValueError:
        return None
    mapped = address.ipv4_mapped
    if mapped is not None:
        return 4, int(mapped)
    return 6, int(address)


def _ipv4_int(address: str) -> int | None:
    parts = address.split(".")
    if len(parts) != 4:
        return None
    value = 0
    for part in parts:
        if not (part.isdigit() and part.isascii() and len(part) <= 3):
            return None
        octet = int(part)
        if octet > 255:
            return None
        value = value << 8 | octet
    return value


def check_ip_reputation(exchange: Exchange, context: CheckContext) -> list[Finding]:
    """A request from a listed address. MEDIUM: lists hold shared and recycled addresses too."""
    table = context.reputation
    if table is None:
        return []
    actor = exchange.actor
    shown = actor.ip if actor is not None and not actor.ip.startswith("h:") else None
    address = actor.address if actor is not None else ""
    ip = address if address and not address.startswith("h:") else exchange.request.peer_ip
    listed = table.lookup(ip) if ip else None
    if listed is None:
        return []
    evidence = {"list": listed}
    if shown is not None:
        # Evidence shows the actor's address as actor resolution left it; when addresses are
        # hashed by configuration, the address that matched is not shown.
        evidence["ip"] = shown
    return [
        Finding(
            rule_id="reputation.listed-ip",
            title="request from an address on an IP reputation list",
            severity=Severity.MEDIUM,
            evidence=evidence,
            category="API6:2023",
        )
    ]

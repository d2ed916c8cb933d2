"""Plain HTTP: API traffic a network observer can read and change (API8:2023).

The scheme that matters is the client's. Behind a trusted proxy (`identity.trusted_proxies`) the
connection apishield sees is the proxy's, so the protocol that proxy reported wins: the actor
stage reads it (`Actor.forwarded_proto`) from X-Forwarded-Proto, or from Forwarded when
`identity.forwarded_header` says the proxies write that. From any other peer a forwarded protocol
is the client's own claim and is ignored; the connection's scheme decides. A request from a
loopback or private address without a protocol from a trusted proxy is an internal hop (a local
proxy, a load balancer's health check), whose scheme says nothing about the client's, so it is
not judged.
"""

from __future__ import annotations

from apishield.checks.auth import has_credentials
from apishield.checks.registry import CheckContext
from apishield.exchange import Exchange, Finding, Severity

_PLAIN = frozenset({"http", "ws"})
_INTERNAL_V4 = ("10.", "127.", "192.168.", "169.254.", *(f"172.{n}." for n in range(16, 32)))
_INTERNAL_V6 = ("::1", "fc", "fd", "fe80:", "::ffff:127.", "::ffff:10.", "::ffff:192.168.")
_INTERNAL_FIRST_OCTETS = frozenset(prefix.partition(".")[0] for prefix in _INTERNAL_V4)
"""Every internal IPv4 prefix starts with one of these octets, so others need no prefix test."""


def is_internal(ip: str) -> bool:
    """Loopback, private or link-local, by text prefix: no parsing on the per-request path."""
    if ":" in ip:
        return ip.lower().startswith(_INTERNAL_V6)
    return ip.partition(".")[0] in _INTERNAL_FIRST_OCTETS and ip.startswith(_INTERNAL_V4)


def client_scheme(exchange: Exchange, context: CheckContext) -> str | None:
    """The scheme the client used, or None when the traffic does not tell."""
    actor = exchange.actor
    if actor is not None and actor.forwarded_proto:
        return actor.forwarded_proto
    request = exchange.request
    if not context.scheme_recorded or is_internal(request.peer_ip):
        return None
    return request.scheme.lower()


def check_plain_http(exchange: Exchange, context: CheckContext) -> list[Finding]:
    """MEDIUM for plain HTTP; HIGH when the request carries credentials, which are then exposed."""
    scheme = client_scheme(exchange, context)
    if scheme not in _PLAIN:
        return []
    if has_credentials(exchange):
        actor = exchange.actor
        kind = actor.auth_scheme if actor is not None and actor.auth_scheme else "unknown"
        return [
            Finding(
                rule_id="transport.credentials-in-clear",
                title="credentials sent over plain HTTP",
                severity=Severity.HIGH,
                evidence={"scheme": scheme, "credentials": kind},
                category="API8:2023",
            )
        ]
    return [
        Finding(
            rule_id="transport.plain-http",
            title="API request over plain HTTP",
            severity=Severity.MEDIUM,
            evidence={"scheme": scheme},
            category="API8:2023",
        )
    ]

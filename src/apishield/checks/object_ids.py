"""Guessable object IDs: small sequential integers where an attacker can count through objects.

Not an attack by itself but the design weakness that makes BOLA (API1:2023) cheap to exploit:
with `/orders/1041` one learns that `/orders/1040` exists. A random UUID does not give that away.
LOW, one finding per request naming the parameters; the values are object IDs and never shown.
"""

from __future__ import annotations

from apishield.checks.registry import CheckContext
from apishield.exchange import Exchange, Finding, Severity

MAX_DIGITS = 9
"""Up to a billion: auto-increment keys. Longer numbers are usually random, snowflake or
timestamp-based, or phone and account numbers, which other checks judge."""
_QUERY_PARAMS_MAX = 32
_NOT_IDS = frozenset({"valid", "invalid", "paid", "prepaid", "grid", "void", "rapid", "fluid"})
"""Words ending in "id" that are not object references."""


def is_id_name(name: str) -> bool:
    """`id`, `id2`, `user_id`, `userId`, `customer-id`, `orderid`, but not `valid` or `paid`."""
    lowered = name.rstrip("0123456789").lower()
    return lowered.endswith("id") and lowered not in _NOT_IDS


def is_small_integer(value: str) -> bool:
    return 0 < len(value) <= MAX_DIGITS and value.isdigit() and value.isascii()


def _guessable(exchange: Exchange) -> list[str]:
    found = [
        f"path:{name}"
        for name, value in exchange.path_params.items()
        if is_small_integer(value) and is_id_name(name)
    ]
    query = exchange.request.query
    if query and "id=" in query.lower():
        for pair in query.split("&", _QUERY_PARAMS_MAX)[:_QUERY_PARAMS_MAX]:
            name, _, value = pair.partition("=")
            if is_small_integer(value) and is_id_name(name):
                found.append(f"query:{name[:40]}")
    return found


def check_guessable_ids(exchange: Exchange, context: CheckContext) -> list[Finding]:
    found = _guessable(exchange)
    if not found:
        return []
    params = ", ".join(found[:8])
    finding = _findings.get(params)
    if finding is None:
        # One finding per parameter list, shared like a constant: an endpoint repeats its own.
        if len(_findings) >= _MAX_FINDINGS:
            _findings.clear()
        finding = _findings[params] = Finding(
            rule_id="object-id.sequential",
            title="guessable numeric object id",
            severity=Severity.LOW,
            evidence={"params": params},
            category="API1:2023",
        )
    return [finding]


_MAX_FINDINGS = 1024
_findings: dict[str, Finding] = {}

"""Missing authentication: a request without credentials to an endpoint that normally has them.

Whether an endpoint needs credentials comes from the spec when it says so, otherwise from what
traffic taught the inventory: one that at least 95% of 50 or more earlier requests authenticated
to is taken as authenticated. The request phase reports the attempt (MEDIUM); the response phase
reports a success answer to it (HIGH), which is the broken authentication itself (API2:2023).
"""

from __future__ import annotations

from apishield.checks.registry import CheckContext, EndpointFacts
from apishield.exchange import Exchange, Finding, Severity
from apishield.normalise.segments import shaped

MIN_REQUESTS = 50
"""Requests an endpoint needs before its learned authentication share is believed."""
MIN_SHARE = 0.95
"""Share of authenticated requests above which an endpoint counts as authenticated."""

_CREDENTIAL_HEADERS = ("authorization", "cookie", "x-api-key", "api-key")
"""Used only when actor resolution did not run: any of these might carry credentials, and a
missed finding costs less than flagging every request of a misconfigured pipeline."""


def requires_auth(facts: EndpointFacts | None) -> bool | None:
    """True when an endpoint needs credentials, False when it is known not to, None if unknown."""
    if facts is None:
        return None
    if facts.requires_auth is not None:
        return facts.requires_auth
    share = facts.authenticated_share
    if share is None or facts.requests < MIN_REQUESTS:
        return None
    return share >= MIN_SHARE


def has_credentials(exchange: Exchange) -> bool:
    actor = exchange.actor
    if actor is not None:
        return actor.auth_scheme is not None
    headers = exchange.request.headers
    return any(name in headers for name in _CREDENTIAL_HEADERS)


def _unauthenticated_basis(exchange: Exchange, context: CheckContext) -> str | None:
    """Why the endpoint is expected to be authenticated, when this request is not; else None."""
    if exchange.request.method == "OPTIONS" or has_credentials(exchange):
        return None  # CORS preflights never carry credentials, by the Fetch standard
    facts = context.facts.facts(exchange)
    if not requires_auth(facts) or facts is None:
        return None
    if facts.requires_auth:
        return "spec"
    return f"learned: {facts.authenticated_share or 0.0:.0%} of {facts.requests} requests"


def _evidence(exchange: Exchange, basis: str) -> dict[str, str]:
    evidence = {"basis": basis}
    if exchange.route is not None:
        evidence["route"] = shaped(exchange.route)
    return evidence


def check_missing_auth(exchange: Exchange, context: CheckContext) -> list[Finding]:
    """Request phase: the attempt. MEDIUM, because a correct server answers it with 401."""
    basis = _unauthenticated_basis(exchange, context)
    if basis is None:
        return []
    return [
        Finding(
            rule_id="auth.missing",
            title="unauthenticated request to an authenticated endpoint",
            severity=Severity.MEDIUM,
            evidence=_evidence(exchange, basis),
            category="API2:2023",
        )
    ]


def check_missing_auth_answered(exchange: Exchange, context: CheckContext) -> list[Finding]:
    """Response phase: the server answered the unauthenticated request with success."""
    response = exchange.response
    if response is None or not 200 <= response.status < 300:
        return []
    basis = _unauthenticated_basis(exchange, context)
    if basis is None:
        return []
    evidence = _evidence(exchange, basis)
    evidence["status"] = str(response.status)
    return [
        Finding(
            rule_id="auth.missing-answered",
            title="unauthenticated request answered with success",
            severity=Severity.HIGH,
            evidence=evidence,
            category="API2:2023",
        )
    ]

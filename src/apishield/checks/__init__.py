"""Stateless per-request checks: the explicit list of built-ins and the threat level they give.

A new check is one function with the `CheckFn` signature, one line in `BUILTIN_CHECKS`, and a
test. Nothing is discovered by import side effects.
"""

from __future__ import annotations

from collections.abc import Sequence

from apishield.checks.auth import check_missing_auth, check_missing_auth_answered
from apishield.checks.injection import check_injection
from apishield.checks.jwt_checks import check_jwt, check_jwt_accepted
from apishield.checks.object_ids import check_guessable_ids
from apishield.checks.protocol import check_protocol
from apishield.checks.registry import Check, CheckContext, EndpointFacts, ParamRule, Phase
from apishield.checks.reputation import check_ip_reputation
from apishield.checks.response_headers import (
    check_cors,
    check_rate_limit_headers,
    check_security_headers,
)
from apishield.checks.response_leaks import check_error_leaks, check_secret_leaks
from apishield.checks.stage import CheckStage
from apishield.checks.transport import check_plain_http
from apishield.exchange import Exchange, Finding

BUILTIN_CHECKS: tuple[Check, ...] = (
    # request phase: before the upstream answers, so a finding here can still refuse the request
    Check("reputation", Phase.REQUEST, check_ip_reputation),
    Check("protocol", Phase.REQUEST, check_protocol),
    Check("injection", Phase.REQUEST, check_injection),
    Check("auth", Phase.REQUEST, check_missing_auth),
    Check("jwt", Phase.REQUEST, check_jwt),
    Check("transport", Phase.REQUEST, check_plain_http),
    Check("object-ids", Phase.REQUEST, check_guessable_ids),
    # response phase: after the data-class stage, which secret-leaks reads
    Check("auth-answered", Phase.RESPONSE, check_missing_auth_answered),
    Check("jwt-accepted", Phase.RESPONSE, check_jwt_accepted),
    Check("error-leaks", Phase.RESPONSE, check_error_leaks),
    Check("secret-leaks", Phase.RESPONSE, check_secret_leaks),
    Check("cors", Phase.RESPONSE, check_cors),
    Check("security-headers", Phase.RESPONSE, check_security_headers),
    Check("rate-limit-headers", Phase.RESPONSE, check_rate_limit_headers),
)


def select_checks(names: Sequence[str] | None, disabled: Sequence[str] = ()) -> tuple[Check, ...]:
    """The built-ins to run: all of them, or those named, minus the disabled ones."""
    known = {check.name: check for check in BUILTIN_CHECKS}
    for name in (*(names or ()), *disabled):
        if name not in known:
            raise ValueError(f"unknown check {name!r}; known checks: {', '.join(known)}")
    chosen = BUILTIN_CHECKS if names is None else tuple(known[name] for name in names)
    return tuple(check for check in chosen if check.name not in disabled)


def request_findings(exchange: Exchange, context: CheckContext | None = None) -> list[Finding]:
    """Run every request-phase built-in on one exchange, as replay and the benchmarks do."""
    CheckStage(Phase.REQUEST, BUILTIN_CHECKS, context or CheckContext())(exchange)
    return exchange.findings


__all__ = [
    "BUILTIN_CHECKS",
    "Check",
    "CheckContext",
    "CheckStage",
    "EndpointFacts",
    "ParamRule",
    "Phase",
    "request_findings",
    "select_checks",
]

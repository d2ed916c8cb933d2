from __future__ import annotations

from apishield.checks.auth import (
    check_missing_auth,
    check_missing_auth_answered,
    requires_auth,
)
from apishield.checks.registry import CheckContext, EndpointFacts
from apishield.exchange import Actor, Exchange, Severity
from apishield.testing import make_exchange


class StaticFacts:
    def __init__(self, facts: EndpointFacts | None) -> None:
        self._facts = facts

    def facts(self, exchange: Exchange) -> EndpointFacts | None:
        return self._facts


def context(facts: EndpointFacts | None) -> CheckContext:
    return CheckContext(facts=StaticFacts(facts))


SPEC = EndpointFacts(requires_auth=True)
LEARNED = EndpointFacts(requests=200, authenticated_share=0.99)


def anonymous(method: str = "GET", status: int | None = 200) -> Exchange:
    exchange = make_exchange(method, "/customers/12/profile", status=status)
    exchange.actor = Actor(ip="203.0.113.7")
    exchange.route = "/customers/{id}/profile"
    return exchange


def test_requires_auth_believes_the_spec_first() -> None:
    documented_public = EndpointFacts(requires_auth=False, requests=500, authenticated_share=1.0)
    assert requires_auth(documented_public) is False
    assert requires_auth(SPEC) is True
    assert requires_auth(None) is None


def test_requires_auth_needs_enough_learned_requests() -> None:
    assert requires_auth(EndpointFacts(requests=49, authenticated_share=1.0)) is None
    assert requires_auth(EndpointFacts(requests=50, authenticated_share=0.95)) is True
    assert requires_auth(EndpointFacts(requests=50, authenticated_share=0.94)) is False
    assert requires_auth(EndpointFacts(requests=500)) is None


def test_unauthenticated_request_to_a_spec_protected_endpoint() -> None:
    [finding] = check_missing_auth(anonymous(), context(SPEC))
    assert finding.rule_id == "auth.missing"
    assert finding.severity is Severity.MEDIUM
    assert finding.category == "API2:2023"
    assert finding.evidence == {"basis": "spec", "route": "/customers/{id}/profile"}


def test_unauthenticated_request_to_a_learned_protected_endpoint() -> None:
    [finding] = check_missing_auth(anonymous(), context(LEARNED))
    assert finding.evidence["basis"] == "learned: 99% of 200 requests"


def test_public_or_unknown_endpoints_are_not_judged() -> None:
    assert check_missing_auth(anonymous(), context(None)) == []
    assert check_missing_auth(anonymous(), context(EndpointFacts(requires_auth=False))) == []
    mixed = EndpointFacts(requests=300, authenticated_share=0.6)
    assert check_missing_auth(anonymous(), context(mixed)) == []


def test_authenticated_request_passes() -> None:
    exchange = anonymous()
    assert exchange.actor is not None
    exchange.actor.auth_scheme = "bearer"
    assert check_missing_auth(exchange, context(SPEC)) == []


def test_cors_preflight_is_not_a_missing_credential() -> None:
    assert check_missing_auth(anonymous("OPTIONS"), context(SPEC)) == []


def test_without_actor_resolution_credential_headers_count() -> None:
    bare = make_exchange("GET", "/x")
    assert len(check_missing_auth(bare, context(SPEC))) == 1
    keyed = make_exchange("GET", "/x", headers={"authorization": "Bearer abc"})
    assert check_missing_auth(keyed, context(SPEC)) == []


def test_success_answer_to_an_unauthenticated_request_is_high() -> None:
    [finding] = check_missing_auth_answered(anonymous(status=200), context(SPEC))
    assert finding.rule_id == "auth.missing-answered"
    assert finding.severity is Severity.HIGH
    assert finding.evidence["status"] == "200"


def test_refusal_is_the_correct_answer() -> None:
    assert check_missing_auth_answered(anonymous(status=401), context(SPEC)) == []
    assert check_missing_auth_answered(anonymous(status=None), context(SPEC)) == []
    assert check_missing_auth_answered(anonymous(status=302), context(SPEC)) == []


def test_the_route_in_evidence_shows_a_value_by_its_kind() -> None:
    exchange = anonymous()
    exchange.route = "/customers/555-867-5309/profile"  # a first value, kept as a literal
    [finding] = check_missing_auth(exchange, context(SPEC))
    assert finding.evidence["route"] == "/customers/{phone}/profile"

"""A 0-100 risk score per endpoint whose every point is explained by a listed factor."""

from __future__ import annotations

from dataclasses import dataclass

from apishield.inventory.classify import PERSONAL, SECRETS
from apishield.inventory.endpoint import Endpoint
from apishield.inventory.status import SHADOW, ZOMBIE, EndpointStatus

_HIGHLY_SENSITIVE = frozenset({"ssn", "national_id", "payment_card", "iban", "imsi", "iccid"})
_TOKENS = frozenset({"jwt", "api_key"})
_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_GUESSABLE = frozenset({"integer"})


@dataclass(slots=True, frozen=True)
class RiskFactor:
    name: str
    points: int
    detail: str


@dataclass(slots=True, frozen=True)
class Risk:
    score: int
    factors: tuple[RiskFactor, ...]

    @property
    def level(self) -> str:
        if self.score >= 70:
            return "high"
        if self.score >= 40:
            return "medium"
        return "low"


def score(endpoint: Endpoint, status: EndpointStatus) -> Risk:
    factors = [
        *_sensitive_data(endpoint),
        *_authentication(endpoint),
        *_guessable_ids(endpoint),
        *_lifecycle(status),
        *_exposure(endpoint),
    ]
    return Risk(score=min(100, sum(f.points for f in factors)), factors=tuple(factors))


def _sensitive_data(endpoint: Endpoint) -> list[RiskFactor]:
    classes = set(endpoint.data_classes)
    personal = sorted(classes & PERSONAL)
    secrets = sorted(classes & SECRETS)
    factors = []
    if personal:
        points = 30 if classes & _HIGHLY_SENSITIVE else 20
        factors.append(RiskFactor("sensitive data", points, "returns " + ", ".join(personal)))
    if secrets and _issues_credentials(endpoint):
        detail = "returns " + ", ".join(secrets) + " to callers without credentials: a login target"
        factors.append(RiskFactor("issues credentials", 10, detail))
    elif secrets:
        factors.append(RiskFactor("secrets exposed", 30, "returns " + ", ".join(secrets)))
    if endpoint.max_person_records > 10:
        factors.append(
            RiskFactor(
                "bulk records", 10, f"up to {endpoint.max_person_records} people per response"
            )
        )
    return factors


def _issues_credentials(endpoint: Endpoint) -> bool:
    """A login or token endpoint hands out tokens by design; that is not a leak."""
    secrets = set(endpoint.data_classes) & SECRETS
    return (
        endpoint.method == "POST"
        and bool(secrets)
        and secrets <= _TOKENS
        and endpoint.unauthenticated_share >= 0.5
    )


def _authentication(endpoint: Endpoint) -> list[RiskFactor]:
    share = endpoint.unauthenticated_share
    if share == 0 or not endpoint.requests:
        return []
    if _issues_credentials(endpoint):
        return []  # a login is unauthenticated by design; "issues credentials" says the rest
    answered = endpoint.status_share(200, 399)
    if share >= 0.5:
        # Personal data for anyone who asks is the exposed-test-API case: with the data factor
        # it alone makes an endpoint high risk.
        classes = set(endpoint.data_classes)
        points = 40 if classes & PERSONAL else 25 if classes & SECRETS else 15
        return [
            RiskFactor("no authentication", points, f"{share:.0%} of requests carry no credentials")
        ]
    if answered > 0:
        return [
            RiskFactor("partly unauthenticated", 8, f"{share:.0%} of requests carry no credentials")
        ]
    return []


def _guessable_ids(endpoint: Endpoint) -> list[RiskFactor]:
    guessable = sorted(
        p.name for p in endpoint.params.values() if p.location == "path" and p.type in _GUESSABLE
    )
    if not guessable:
        return []
    points = 15 if endpoint.data_classes else 8
    return [RiskFactor("guessable IDs", points, "sequential integer " + ", ".join(guessable))]


def _lifecycle(status: EndpointStatus) -> list[RiskFactor]:
    if status.state == ZOMBIE:
        return [RiskFactor("zombie", 20, "; ".join(status.reasons) or "outdated but answering")]
    if status.state == SHADOW:
        return [RiskFactor("shadow", 10, "not in the API specification")]
    return []


def _exposure(endpoint: Endpoint) -> list[RiskFactor]:
    factors = []
    if endpoint.method in _WRITE_METHODS:
        factors.append(RiskFactor("writes data", 5, f"{endpoint.method} changes state"))
    if endpoint.actors_capped or endpoint.distinct_actors >= 100:
        factors.append(
            RiskFactor("wide exposure", 5, f"{endpoint.distinct_actors}+ distinct clients")
        )
    return factors

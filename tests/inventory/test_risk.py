from __future__ import annotations

from collections import Counter

from apishield.inventory.endpoint import Endpoint, ParamStats
from apishield.inventory.risk import score
from apishield.inventory.status import DOCUMENTED, SHADOW, ZOMBIE, EndpointStatus

DOC = EndpointStatus(DOCUMENTED)


def endpoint(**kwargs: object) -> Endpoint:
    e = Endpoint("GET", "api", "/customers/{id}", requests=100)
    e.statuses[200] = 100
    e.auth["bearer"] = 100
    for key, value in kwargs.items():
        setattr(e, key, value)
    return e


def names(e: Endpoint, status: EndpointStatus = DOC) -> set[str]:
    return {f.name for f in score(e, status).factors}


def test_a_plain_documented_authenticated_endpoint_is_low_risk() -> None:
    risk = score(endpoint(), DOC)
    assert risk.score < 40 and risk.level == "low"


def test_unauthenticated_personal_data_with_guessable_ids_is_high() -> None:
    e = endpoint(
        auth=Counter({"none": 100}),
        data_classes=Counter({"email": 100, "ssn": 100}),
        max_person_records=50,
    )
    e.params[("path", "id")] = ParamStats("path", "id", seen=100, types=Counter({"integer": 100}))
    risk = score(e, EndpointStatus(SHADOW))
    assert risk.level == "high"
    assert {
        "sensitive data",
        "no authentication",
        "guessable IDs",
        "shadow",
        "bulk records",
    } <= names(e, EndpointStatus(SHADOW))
    assert risk.score == min(100, sum(f.points for f in risk.factors))
    assert all(f.detail for f in risk.factors)


def test_zombie_and_secrets_are_factors() -> None:
    e = endpoint(data_classes=Counter({"api_key": 3}))
    assert {"zombie", "secrets exposed"} <= names(e, EndpointStatus(ZOMBIE, reasons=("old",)))


def test_score_is_capped() -> None:
    e = endpoint(
        auth=Counter({"none": 100}),
        data_classes=Counter({"ssn": 1, "password": 1}),
        max_person_records=99,
    )
    e.params[("path", "id")] = ParamStats("path", "id", seen=100, types=Counter({"integer": 100}))
    e.method = "DELETE"
    assert score(e, EndpointStatus(ZOMBIE)).score == 100


def test_a_login_endpoint_is_not_a_leak() -> None:
    e = endpoint(auth=Counter({"none": 100}), data_classes=Counter({"jwt": 90}))
    e.method = "POST"
    factors = names(e)
    assert "issues credentials" in factors
    assert "secrets exposed" not in factors and "no authentication" not in factors
    e.method = "GET"  # a GET that hands out tokens to anyone is a leak
    assert {"secrets exposed", "no authentication"} <= names(e)


def test_personal_data_to_anyone_is_high_even_when_documented() -> None:
    e = endpoint(
        auth=Counter({"none": 100}), data_classes=Counter({"email": 100}), max_person_records=50
    )
    assert score(e, DOC).level == "high"

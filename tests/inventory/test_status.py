from __future__ import annotations

from apishield.inventory.endpoint import Endpoint
from apishield.inventory.spec import spec_from_document
from apishield.inventory.status import DOCUMENTED, SHADOW, UNDOCUMENTED, ZOMBIE, classify

SPEC = spec_from_document(
    {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "paths": {
            "/v2/users/{userId}": {"get": {"responses": {"200": {"description": "ok"}}}},
            "/v1/users/{userId}": {
                "get": {"deprecated": True, "responses": {"200": {"description": "ok"}}}
            },
            "/v2/reports": {"get": {"responses": {"200": {"description": "ok"}}}},
        },
    }
)


def endpoint(template: str, status: int = 200, method: str = "GET") -> Endpoint:
    e = Endpoint(method, "api", template, requests=5)
    e.statuses[status] = 5
    return e


def test_documented_shadow_zombie_and_unused() -> None:
    endpoints = [
        endpoint("/v2/users/{id}"),
        endpoint("/v1/users/{id}"),
        endpoint("/internal/debug"),
    ]
    statuses, coverage = classify(endpoints, SPEC)
    assert statuses[endpoints[0].key].state == DOCUMENTED
    zombie = statuses[endpoints[1].key]
    assert zombie.state == ZOMBIE and zombie.deprecated
    assert statuses[endpoints[2].key].state == SHADOW
    assert coverage is not None
    assert [op.path for op in coverage.unused] == ["/v2/reports"]
    assert round(coverage.documented_percent) == 67
    assert coverage.operations_used == 2


def test_deprecated_but_gone_is_not_a_zombie() -> None:
    gone = endpoint("/v1/users/{id}", status=410)
    statuses, _ = classify([gone], SPEC)
    assert statuses[gone.key].state == DOCUMENTED and statuses[gone.key].deprecated


def test_old_version_beside_a_live_new_one_without_a_spec() -> None:
    old, new, other = (
        endpoint("/api/v1/orders/{id}"),
        endpoint("/api/v2/orders/{id}"),
        endpoint("/other/v1/x"),
    )
    statuses, coverage = classify([old, new, other], None)
    assert coverage is None
    assert statuses[old.key].state == ZOMBIE
    assert "beside live v2" in statuses[old.key].reasons[0]
    assert statuses[new.key].state == UNDOCUMENTED
    assert statuses[other.key].state == UNDOCUMENTED  # another API, no newer version


def test_old_version_that_no_longer_answers_is_not_a_zombie() -> None:
    old, new = endpoint("/api/v1/orders/{id}", status=404), endpoint("/api/v2/orders/{id}")
    statuses, _ = classify([old, new], None)
    assert statuses[old.key].state == UNDOCUMENTED

from __future__ import annotations

import orjson

from apishield.endpoint_roles import InventoryRoles
from apishield.exchange import Actor
from apishield.inventory.learner import Inventory
from apishield.inventory.spec import ApiSpec, SpecOperation
from apishield.testing import make_exchange


def _seen(inventory: Inventory, roles: InventoryRoles, exchange, route: str, **actor: object):  # type: ignore[no-untyped-def]
    exchange.route = route
    exchange.actor = Actor(ip="198.51.100.1", **actor)  # type: ignore[arg-type]
    inventory(exchange)
    return roles.roles(exchange)


def test_a_login_is_known_by_its_fields_not_its_path() -> None:
    inventory = Inventory()
    roles = InventoryRoles(inventory, None)
    body = orjson.dumps({"user_name": "ann", "passwd": "x"})
    exchange = make_exchange(
        "POST", "/anything", body=body, headers={"content-type": "application/json"}, status=401
    )
    found = _seen(inventory, roles, exchange, "/anything")
    assert found is not None and found.login and not found.credential_reset


def test_a_reset_sets_a_new_password() -> None:
    inventory = Inventory()
    roles = InventoryRoles(inventory, None)
    body = orjson.dumps({"username": "ann", "code": "1", "new_password": "x"})
    exchange = make_exchange(
        "POST", "/x", body=body, headers={"content-type": "application/json"}, status=200
    )
    found = _seen(inventory, roles, exchange, "/x")
    assert found is not None and found.credential_reset and not found.login


def test_object_params_and_auth_come_from_traffic() -> None:
    inventory = Inventory()
    roles = InventoryRoles(inventory, None)
    found = None
    for n in range(40):
        exchange = make_exchange("GET", f"/c/{n}", response_body=b"{}")
        exchange.path_params = {"id": str(n)}
        found = _seen(inventory, roles, exchange, "/c/{id}", auth_scheme="bearer", identity="u")
    assert found is not None
    assert found.object_params == ("id",)
    assert found.requires_auth
    assert not found.personal  # bodies were recorded and none held personal data
    assert found.endpoint == "GET api.example.com /c/{id}"


def test_without_bodies_an_authenticated_object_endpoint_counts_as_personal() -> None:
    inventory = Inventory()
    roles = InventoryRoles(inventory, None)
    found = None
    for n in range(40):
        exchange = make_exchange("GET", f"/c/{n}")
        exchange.path_params = {"id": str(n)}
        found = _seen(inventory, roles, exchange, "/c/{id}", auth_scheme="bearer", identity="u")
    assert found is not None and found.personal


def test_an_endpoint_is_named_as_reports_name_it() -> None:
    """Detections, incidents and alerts name endpoints by these names: a value the learner
    still keeps as a literal segment is shown by its kind, a documented path as written."""
    operation = SpecOperation("GET", "/2010-04-01/Accounts", None, "", False, (), ())
    spec = ApiSpec("t", "1", "3.1.0", operations=[operation])
    inventory = Inventory()
    roles = InventoryRoles(inventory, spec)
    found = _seen(inventory, roles, make_exchange(), "/v2/lookup/555-867-5309")
    assert found is not None and found.endpoint == "GET api.example.com /v2/lookup/{phone}"
    found = _seen(inventory, roles, make_exchange(), "/2010-04-01/Accounts")
    assert found is not None and found.endpoint == "GET api.example.com /2010-04-01/Accounts"

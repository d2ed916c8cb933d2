from __future__ import annotations

from apishield.exchange import Actor
from apishield.facts import LEARNED_MIN_SEEN, REFRESH, InventoryFacts
from apishield.inventory.learner import Inventory
from apishield.inventory.spec import spec_from_document
from apishield.testing import make_exchange

SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "t", "version": "1"},
    "components": {"securitySchemes": {"key": {"type": "apiKey", "in": "header", "name": "k"}}},
    "security": [{"key": []}],
    "paths": {
        "/customers/{id}": {
            "get": {
                "parameters": [
                    {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}},
                    {"name": "sort", "in": "query", "schema": {"enum": ["asc", "desc"]}},
                    {"name": "q", "in": "query", "schema": {"type": "string"}},
                ],
                "responses": {"200": {"description": "ok"}},
            }
        }
    },
}


def test_documented_types_and_auth_come_from_the_spec() -> None:
    facts = InventoryFacts(Inventory(), spec_from_document(SPEC))
    exchange = make_exchange(path="/customers/7")
    exchange.route = "/customers/{id}"
    found = facts.facts(exchange)
    assert found is not None
    assert found.params[("path", "id")].kind == "integer"
    assert found.params[("query", "sort")].values == frozenset({"asc", "desc"})
    assert ("query", "q") not in found.params
    assert found.requires_auth is True


def test_learned_types_need_enough_traffic_and_are_refreshed() -> None:
    inventory = Inventory()
    facts = InventoryFacts(inventory, None)
    for i in range(LEARNED_MIN_SEEN - 1):
        exchange = make_exchange(path=f"/orders/{i}", query=f"page={i}")
        exchange.route = "/orders/{id}"
        inventory(exchange)
    probe = make_exchange(path="/orders/1")
    probe.route = "/orders/{id}"
    early = facts.facts(probe)
    assert early is not None and ("query", "page") not in early.params
    for i in range(REFRESH + 1):
        exchange = make_exchange(path=f"/orders/{i}", query=f"page={i}")
        exchange.route = "/orders/{id}"
        exchange.actor = Actor(ip="198.51.100.7")
        inventory(exchange)
    later = facts.facts(probe)
    assert later is not None
    assert later.params[("query", "page")].kind == "integer"
    assert later.params[("query", "page")].source == "learned"
    assert later.authenticated_share is not None and later.authenticated_share < 0.9


def test_unrouted_requests_have_no_facts() -> None:
    assert InventoryFacts(Inventory(), None).facts(make_exchange()) is None


def test_one_of_constants_and_nullable_types() -> None:
    spec = {
        "openapi": "3.1.0",
        "info": {"title": "t", "version": "1"},
        "paths": {
            "/guilds/{guild_id}": {
                "get": {
                    "parameters": [
                        {
                            "name": "guild_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string", "format": "snowflake"},
                        },
                        {
                            "name": "level",
                            "in": "query",
                            "schema": {"oneOf": [{"const": 0}, {"const": 1}]},
                        },
                        {
                            "name": "since",
                            "in": "query",
                            "schema": {"oneOf": [{"type": "null"}, {"type": "integer"}]},
                        },
                    ],
                    "responses": {"200": {"description": "ok"}},
                }
            }
        },
    }
    facts = InventoryFacts(Inventory(), spec_from_document(spec))
    exchange = make_exchange(path="/guilds/1")
    exchange.route = "/guilds/{guild_id}"
    found = facts.facts(exchange)
    assert found is not None
    assert found.params[("path", "guild_id")].kind == "integer"
    assert found.params[("query", "level")].values == frozenset({"0", "1"})
    assert found.params[("query", "since")].kind == "integer"

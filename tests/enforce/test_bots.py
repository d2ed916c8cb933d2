from __future__ import annotations

import json

from apishield.config import BOT_RULES, BotsConfig, EnforceConfig
from apishield.enforce.bots import Decoys, bot_rules
from apishield.testing import make_exchange


def test_the_default_bot_rules_are_scanners_enumeration_cadence_and_stuffing() -> None:
    found = bot_rules(
        ["bulk.records", "scan.forced-browsing", "enum.regular-clients", "auth.stuffing-many-ips"],
        BotsConfig(),
    )
    assert found == ["auth.stuffing-many-ips", "enum.regular-clients", "scan.forced-browsing"]
    assert bot_rules(["bulk.records", "bola.foreign-objects"], BotsConfig()) == []
    assert EnforceConfig().bots.action == "block"  # a plain 403 until configured
    assert list(BOT_RULES) == BotsConfig().rules


def test_a_decoy_is_an_empty_object_unless_its_endpoint_has_one() -> None:
    decoys = Decoys(
        BotsConfig(
            decoys={
                "GET /v2/customers": {"data": [], "total": 0},
                "/v2/customers/{id}/lines": [],
            }
        )
    )

    def body(method: str, route: str) -> object:
        exchange = make_exchange(method, route.replace("{id}", "40213377"))
        exchange.route = route
        return json.loads(decoys.body(exchange))

    assert body("GET", "/v2/customers") == {"data": [], "total": 0}
    assert body("POST", "/v2/customers") == {}
    assert body("GET", "/v2/customers/{id}/lines") == []
    assert body("DELETE", "/v2/customers/{id}/lines") == []
    assert body("GET", "/v2/plans") == {}
    unrouted = make_exchange("GET", "/v2/customers")  # before routing: the raw path
    assert json.loads(decoys.body(unrouted)) == {"data": [], "total": 0}


def test_the_default_decoy_can_be_replaced() -> None:
    decoys = Decoys(BotsConfig(decoy={"items": [], "next": None}))
    assert decoys.body(make_exchange()) == b'{"items":[],"next":null}'

from __future__ import annotations

import orjson

from apishield.config import Config
from apishield.engine import Engine
from apishield.exchange import Exchange
from apishield.privacy import Hasher
from apishield.testing import make_exchange


def test_templates_settle_and_endpoints_are_judged() -> None:
    engine = Engine(Config(), Hasher(b"e" * 32))
    person = orjson.dumps(
        {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.org"}
    )
    for i in range(40):
        engine.process(
            make_exchange(
                path=f"/customers/{4021337 + i}",
                response_body=person,
                response_headers={"content-type": "application/json"},
            )
        )
    result = engine.result()
    (view,) = result.endpoints
    assert view.endpoint.template == "/customers/{id}"
    assert view.endpoint.requests == 40
    assert "email" in view.endpoint.data_classes
    assert view.endpoint.params[("path", "id")].type == "integer"
    assert {f.name for f in view.risk.factors} >= {
        "sensitive data",
        "no authentication",
        "guessable IDs",
    }
    assert result.stage_errors == {}


def test_a_broken_stage_is_reported_not_fatal() -> None:
    engine = Engine(Config(), Hasher(b"e" * 32))

    class Broken:
        name = "broken"

        def __call__(self, exchange: Exchange) -> None:
            raise ValueError("bug")

    engine.pipeline.response_stages = [Broken(), *engine.pipeline.response_stages]
    engine.process(make_exchange(path="/x"))
    result = engine.result()
    assert result.stage_errors == {"broken": 1}
    assert len(result.endpoints) == 1

from __future__ import annotations

import copy

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


def _mixed(engine: Engine, names: range) -> None:
    """Word-like segments learned one by one settle into a parameter once enough are seen, so a
    snapshot has endpoints to re-key and merge beside ones that keep their key."""
    for n in names:
        for path in (f"/users/user{n:03d}x/profile", "/plans", f"/orders/{9000 + n}"):
            engine.process(make_exchange(path=f"{path}?page={n}", started=1_767_225_600.0 + n))


def _shape(views: list) -> list:  # type: ignore[type-arg]
    return [(v.endpoint.summary(), v.status.state, v.risk.score) for v in views]


def test_a_snapshot_settles_like_a_full_copy_and_leaves_the_live_inventory_alone() -> None:
    engine = Engine(Config(), Hasher(b"e" * 32))
    _mixed(engine, range(12))
    live = [e.summary() for e in engine.inventory.endpoints.values()]
    copied = Engine(Config(), Hasher(b"e" * 32))
    _mixed(copied, range(12))
    copied.inventory.endpoints = copy.deepcopy(copied.inventory.endpoints)
    snapshot = engine.snapshot().endpoints
    assert len(snapshot) < len(live)  # some endpoints were re-keyed and merged
    assert _shape(snapshot) == _shape(copied.result().endpoints)
    assert [e.summary() for e in engine.inventory.endpoints.values()] == live
    # Going on after a snapshot judges as if none had been taken.
    untouched = Engine(Config(), Hasher(b"e" * 32))
    _mixed(untouched, range(12))
    _mixed(engine, range(12, 30))
    _mixed(untouched, range(12, 30))
    assert _shape(engine.result().endpoints) == _shape(untouched.result().endpoints)

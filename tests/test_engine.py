from __future__ import annotations

import copy

import orjson

from apishield.config import Config
from apishield.engine import Engine
from apishield.exchange import Actor, Exchange
from apishield.inventory.spec import ApiSpec, SpecOperation
from apishield.privacy import Hasher
from apishield.testing import T0, make_exchange


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


def _lookups(engine: Engine, numbers: list[str]) -> None:
    for i, number in enumerate(numbers):
        exchange = make_exchange(path=f"/v2/lookup/{number}", started=T0 + i)
        exchange.actor = Actor(ip="198.51.100.1")
        engine.process(exchange)


def test_values_kept_as_literals_are_shown_by_kind_and_endpoints_that_show_alike_merge() -> None:
    """A number asked for 40 times is established, and the learner keeps a second one apart;
    results name both by their kind, as one endpoint, and the live inventory keeps its keys."""
    engine = Engine(Config(), Hasher(b"e" * 32))
    _lookups(engine, ["555-867-5309"] * 40 + ["555-123-4567"])
    live = sorted(template for _, _, template in engine.inventory.endpoints)
    assert live == ["/v2/lookup/555-123-4567", "/v2/lookup/555-867-5309"]
    result = engine.result()
    (view,) = result.endpoints
    assert (view.endpoint.template, view.endpoint.requests) == ("/v2/lookup/{phone}", 41)
    assert sorted(template for _, _, template in engine.inventory.endpoints) == live
    (actor,) = result.actors.summaries()
    assert actor["endpoints"] == {"GET api.example.com /v2/lookup/{phone}": 41}
    points = engine.series_points()
    assert {point.key for point in points} == {("GET", "api.example.com", "/v2/lookup/{phone}")}
    assert sum(point.requests for point in points) == 41


def test_a_documented_path_keeps_the_spec_text_in_results() -> None:
    operation = SpecOperation("GET", "/2010-04-01/Accounts", None, "", False, (), ())
    spec = ApiSpec("t", "1", "3.1.0", operations=[operation])
    engine = Engine(Config(), Hasher(b"e" * 32), spec=spec)
    engine.process(make_exchange(path="/2010-04-01/Accounts"))
    engine.process(make_exchange(path="/2010-04-02/Accounts"))
    shown = {v.endpoint.template: v.status.state for v in engine.result().endpoints}
    assert shown == {"/2010-04-01/Accounts": "documented", "/{date}/Accounts": "shadow"}

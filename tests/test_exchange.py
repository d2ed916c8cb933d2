"""The constructors called per event (in `exchange.py`, the actor tally, the detectors and memory
state) are written out; they must stay the dataclass constructors: the fields in order, with
their defaults, fresh containers each."""

import dataclasses
import inspect
from collections.abc import Callable
from typing import Any

import pytest

from apishield.detect.anomaly import Slot
from apishield.detect.cadence import Cadence
from apishield.detect.observation import Observation
from apishield.detect.ownership import Holders
from apishield.detect.profile import Profile
from apishield.exchange import ALLOW, Actor, Exchange, Request, Response
from apishield.inventory.actors import ActorStats
from apishield.state.memory import _Distinct
from apishield.testing import make_exchange

WRITTEN_OUT = [
    Actor,
    Request,
    Response,
    Exchange,
    ActorStats,
    Observation,
    Cadence,
    Slot,
    Holders,
    Profile,
    _Distinct,
]
"""Dataclasses made per event or per new state key, whose constructors are written out."""


@pytest.mark.parametrize("cls", WRITTEN_OUT)
def test_constructor_takes_every_field_in_order_with_its_default(cls: type) -> None:
    if not inspect.isfunction(cls.__init__):
        pytest.skip("a compiled build keeps no Python signature to read")
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    fields = dataclasses.fields(cls)
    assert [param.name for param in params] == [field.name for field in fields]
    for param, field in zip(params, fields, strict=True):
        if field.default_factory is not dataclasses.MISSING:
            assert param.default is None  # None stands for a fresh one from the factory
        elif field.default is dataclasses.MISSING:
            assert param.default is inspect.Parameter.empty
        else:
            assert param.default == field.default


@pytest.mark.parametrize(
    "make",
    [
        lambda: ActorStats(None),
        lambda: Cadence(1.0),
        Holders,
        lambda: Profile(1.0),
        lambda: _Distinct(1.0, 2.0),
    ],
)
def test_state_records_get_fresh_containers_as_the_factories_made_them(
    make: Callable[[], Any],
) -> None:
    first, second = make(), make()
    made = [f for f in dataclasses.fields(first) if f.default_factory is not dataclasses.MISSING]
    assert made
    for field in made:
        assert getattr(first, field.name) == field.default_factory()
        assert getattr(first, field.name) is not getattr(second, field.name)


def test_defaults_are_fresh_containers_as_the_factories_made_them() -> None:
    first = Exchange(Request("GET", "/"), Response(200), 1.0)
    second = Exchange(Request("GET", "/"), Response(200), 1.0)
    factories = {
        field.name: field.default_factory
        for field in dataclasses.fields(Exchange)
        if field.default_factory is not dataclasses.MISSING
    }
    assert set(factories) == {"path_params", "data_classes", "data_fields", "findings"}
    for name, factory in factories.items():
        assert getattr(first, name) == factory()
        assert getattr(first, name) is not getattr(second, name)
    assert first.request.headers is not second.request.headers
    assert first.response is not None and second.response is not None
    assert first.response.headers is not second.response.headers
    assert (first.duration, first.source, first.actor, first.route) == (None, "", None, None)
    assert (first.person_records, first.decision) == (0, ALLOW)


def test_given_values_are_kept_and_dataclass_helpers_still_work() -> None:
    headers = {"host": "a"}
    request = Request("GET", "/x", "q=1", headers, b"", 0, "https", "a", "1.2.3.4", "HTTP/1.1")
    assert request.headers is headers
    assert dataclasses.astuple(request) == (
        "GET",
        "/x",
        "q=1",
        {"host": "a"},
        b"",
        0,
        "https",
        "a",
        "1.2.3.4",
        "HTTP/1.1",
    )
    exchange = make_exchange()
    moved = dataclasses.replace(exchange, route="/x/{id}", path_params={"id": "7"})
    assert (moved.route, moved.path_params, moved.request) == (
        "/x/{id}",
        {"id": "7"},
        exchange.request,
    )
    assert moved == dataclasses.replace(moved)
    assert "route='/x/{id}'" in repr(moved)

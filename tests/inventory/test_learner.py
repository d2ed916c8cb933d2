from __future__ import annotations

from bisect import bisect_left
from collections import Counter

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from apishield.exchange import Actor
from apishield.inventory import learner
from apishield.inventory.endpoint import LATENCY_BUCKETS
from apishield.inventory.learner import Inventory
from apishield.inventory.params import value_type
from apishield.testing import make_exchange

PARAM_VALUES = (
    st.from_regex(r"-?0*[0-9]{0,20}", fullmatch=True)
    | st.text(alphabet="0123456789abcdef-+.eE ", max_size=40)
    | st.text(max_size=12)
)
DURATIONS = st.floats(min_value=0, max_value=200, allow_nan=False) | st.sampled_from(
    [0.0, 0.0001, 0.000112, 0.003, 0.1, 1e9]
)


def observe(inventory: Inventory, route: str, **kwargs: object) -> None:
    exchange = make_exchange(**kwargs)  # type: ignore[arg-type]
    exchange.route = route
    exchange.actor = Actor(ip="198.51.100.1", auth_scheme=None)
    inventory(exchange)


def test_counts_statuses_auth_and_params() -> None:
    inventory = Inventory()
    for i in range(10):
        exchange = make_exchange(
            path=f"/customers/{i}", query=f"limit={i}&q=a%20b", status=200 if i else 404
        )
        exchange.route = "/customers/{id}"
        exchange.path_params = {"id": str(i)}
        exchange.actor = Actor(ip="198.51.100.1", auth_scheme="bearer" if i % 2 else None)
        inventory(exchange)
    (endpoint,) = inventory.endpoints.values()
    assert endpoint.requests == 10
    assert endpoint.statuses == {200: 9, 404: 1}
    assert endpoint.auth == {"bearer": 5, "none": 5}
    assert endpoint.params[("path", "id")].type == "integer"
    assert endpoint.params[("query", "limit")].type == "integer"
    assert endpoint.params[("query", "q")].type == "string"


def test_json_body_fields_are_typed() -> None:
    inventory = Inventory()
    body = orjson.dumps({"name": "x", "age": 3, "admin": True, "tags": []})
    observe(
        inventory, "/users", method="POST", body=body, headers={"content-type": "application/json"}
    )
    (endpoint,) = inventory.endpoints.values()
    types = {
        name: stats.type for (where, name), stats in endpoint.params.items() if where == "body"
    }
    assert types == {"name": "string", "age": "integer", "admin": "boolean", "tags": "array"}


def test_exchanges_without_route_are_ignored() -> None:
    inventory = Inventory()
    inventory(make_exchange())
    assert inventory.endpoints == {}


def test_reconcile_merges_what_learning_generalised() -> None:
    inventory = Inventory()
    for code in ("US", "GB", "DE"):
        exchange = make_exchange(path=f"/countries/{code}")
        exchange.route = f"/countries/{code}"
        inventory(exchange)
    inventory.reconcile(lambda host, path: "/countries/{param}")
    (endpoint,) = inventory.endpoints.values()
    assert endpoint.requests == 3 and endpoint.template == "/countries/{param}"


def test_endpoint_count_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(learner, "MAX_ENDPOINTS", 5)
    inventory = Inventory()
    for i in range(50):
        observe(inventory, f"/junk{i}")
    assert len(inventory.endpoints) == 6
    assert inventory.endpoints[("GET", "api.example.com", "/{overflow}")].requests == 45


def test_query_and_param_names_are_bounded() -> None:
    inventory = Inventory()
    query = "&".join(f"p{i}=1" for i in range(500))
    observe(inventory, "/search", query=query)
    (endpoint,) = inventory.endpoints.values()
    assert len(endpoint.params) == learner.MAX_PARAMS


@given(st.dictionaries(st.sampled_from(["id", "id2", "uuid"]), PARAM_VALUES, min_size=1))
def test_path_parameter_types_are_the_ones_value_type_gives(params: dict[str, str]) -> None:
    inventory = Inventory()
    exchange = make_exchange(path="/a/1")
    exchange.route, exchange.path_params = "/a/{id}", params
    inventory(exchange)
    inventory(exchange)
    [endpoint] = inventory.endpoints.values()
    for name, value in params.items():
        assert endpoint.params[("path", name)].types == Counter({value_type(value): 2})


@given(st.lists(DURATIONS, min_size=1, max_size=30))
def test_latency_buckets_are_the_ones_a_binary_search_finds(durations: list[float]) -> None:
    inventory = Inventory()
    expected = [0] * (len(LATENCY_BUCKETS) + 1)
    for duration in durations * 2:  # the second time, from what was remembered
        exchange = make_exchange(path="/a", duration=duration)
        exchange.route = "/a"
        inventory(exchange)
        expected[bisect_left(LATENCY_BUCKETS, duration)] += 1
    [endpoint] = inventory.endpoints.values()
    assert endpoint.latency.counts == expected
    assert endpoint.latency.total == 2 * len(durations)


def test_overflow_is_bounded_whatever_hosts_and_methods_clients_send(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(learner, "MAX_ENDPOINTS", 5)
    inventory = Inventory()
    methods = ("GET", "POST", "PROPFIND", "X1", "X2")
    for i in range(3000):
        observe(inventory, f"/junk{i}", method=methods[i % 5], host=f"h{i}.example.com")
    overflow = [e for e in inventory.endpoints.values() if e.template == learner.OVERFLOW_TEMPLATE]
    assert len(inventory.endpoints) - len(overflow) == 5
    assert len(overflow) <= (learner.OVERFLOW_HOSTS + 1) * (len(learner.METHODS) + 1)
    assert {e.method for e in overflow} == {"GET", "POST", learner.OTHER}
    assert len({e.host for e in overflow}) == learner.OVERFLOW_HOSTS + 1
    assert inventory.endpoints[("GET", learner.OTHER, learner.OVERFLOW_TEMPLATE)].requests > 500
    assert inventory.overflow_requests() == 2995 == sum(e.requests for e in overflow)


def test_a_host_with_its_own_overflow_endpoint_keeps_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(learner, "MAX_ENDPOINTS", 1)
    inventory = Inventory()
    observe(inventory, "/a", host="api.example.com")
    observe(inventory, "/b", host="api.example.com")
    for i in range(100):
        observe(inventory, f"/c{i}", host=f"h{i}.example.com")
    observe(inventory, "/d", host="api.example.com")
    assert inventory.endpoints[("GET", "api.example.com", "/{overflow}")].requests == 2
    assert inventory.overflow_requests() == 102


def test_below_the_cap_nothing_overflows() -> None:
    inventory = Inventory()
    for i in range(10):
        observe(inventory, f"/a{i}", host=f"h{i}.example.com")
    assert inventory.overflow_requests() == 0


def test_parameter_names_that_are_values_are_kept_by_their_kind() -> None:
    inventory = Inventory()
    body = orjson.dumps({"carol.white@example.net": True, "+447911123456": 1, "limit": 3})
    observe(
        inventory,
        "/bulk-lookup",
        method="POST",
        query="dave%40example.com=1&536-22-1846=&q=x&line1=a",
        body=body,
        headers={"content-type": "application/json"},
    )
    (endpoint,) = inventory.endpoints.values()
    assert set(endpoint.params) == {
        ("body", "{email}"), ("body", "{phone}"), ("body", "limit"),
        ("query", "{email}"), ("query", "{ssn}"), ("query", "q"), ("query", "line1"),
    }  # fmt: skip

from __future__ import annotations

import pytest

from apishield.checks.object_ids import check_guessable_ids, is_id_name, is_small_integer
from apishield.checks.registry import CheckContext
from apishield.exchange import Exchange, Severity
from apishield.testing import make_exchange


def request(path_params: dict[str, str], query: str = "") -> Exchange:
    exchange = make_exchange("GET", "/orders/1041", query=query)
    exchange.path_params = path_params
    return exchange


def test_small_integer_path_id_is_low_without_its_value() -> None:
    [finding] = check_guessable_ids(request({"id": "1041"}), CheckContext())
    assert (finding.rule_id, finding.severity) == ("object-id.sequential", Severity.LOW)
    assert finding.category == "API1:2023"
    assert finding.evidence == {"params": "path:id"}


def test_one_parameter_list_gives_one_shared_finding() -> None:
    [first] = check_guessable_ids(request({"id": "1041"}), CheckContext())
    [again] = check_guessable_ids(request({"id": "7"}), CheckContext())
    assert again is first


def test_query_ids_are_found_too() -> None:
    exchange = request({}, query="customerId=77&page=2&order_id=9")
    [finding] = check_guessable_ids(exchange, CheckContext())
    assert finding.evidence["params"] == "query:customerId, query:order_id"


@pytest.mark.parametrize(
    ("params", "query"),
    [
        ({"uuid": "7d444840-9dc0-11d1-b245-5ffdce74fad2"}, ""),
        ({"id": "7d444840-9dc0-11d1-b245-5ffdce74fad2"}, ""),
        ({"id": "1700000000123"}, ""),
        ({"page": "3"}, "limit=10&offset=20"),
        ({}, "valid=1&paid=0"),
        ({}, "id=&user_id=abc"),
        ({}, ""),
    ],
)
def test_random_long_or_non_id_values_pass(params: dict[str, str], query: str) -> None:
    assert check_guessable_ids(request(params, query), CheckContext()) == []


def test_id_names() -> None:
    assert all(map(is_id_name, ["id", "id2", "user_id", "userId", "customer-id", "orderid"]))
    assert not any(map(is_id_name, ["valid", "paid", "page", "idx", "width"]))


def test_small_integers() -> None:
    assert is_small_integer("1")
    assert is_small_integer("999999999")
    assert not is_small_integer("1000000000")
    assert not is_small_integer("")
    assert not is_small_integer("١٢")  # Arabic-Indic digits are not an ASCII key
    assert not is_small_integer("-1")

import random

from apishield.inventory.spec import SpecOperation, SpecParameter
from benchmarks import schema_effect as se

TWILIO = se.APIS[0]


def values():
    return se.Values(random.Random(3))


def test_documented_enum_spellings_come_from_allof_and_oneof_consts():
    schema = {"allOf": [{"type": "string", "oneOf": [{"const": "A"}, {"const": "B"}]}]}
    for _ in range(10):
        assert values().draw("status", schema) in (("A", "enum"), ("B", "enum"))


def test_nullable_branches_are_never_drawn():
    schema = {"oneOf": [{"type": "null"}, {"type": "string", "format": "snowflake"}]}
    value, label = values().draw("guild_id", schema)
    assert label == "snowflake" and value.isdigit()


def test_twilio_sid_patterns_give_sids_and_ranges_are_kept():
    sid, label = values().draw("Sid", {"type": "string", "pattern": "^CA[0-9a-fA-F]{32}$"})
    assert label == "sid" and sid.startswith("CA") and len(sid) == 34
    number, _ = values().draw("PageSize", {"type": "integer", "minimum": 1, "maximum": 5})
    assert 1 <= number <= 5


def test_free_text_follows_the_parameter_name():
    assert values().draw("StatusCallback", {"type": "string"})[0] in se.URLS
    assert values().draw("To", {"type": "string"})[1] == "phone (national)"


def test_exchange_is_routed_like_the_route_stage_and_keeps_suffixed_names():
    op = SpecOperation(
        method="GET",
        path="/2010-04-01/Accounts/{AccountSid}/Calls/{Sid}.json",
        operation_id=None,
        summary="",
        deprecated=False,
        parameters=(SpecParameter("AccountSid", "path", True),),
        security=(),
    )
    params = [
        se.Param("path", "AccountSid", "AC" + "0" * 32, "sid"),
        se.Param("path", "Sid", "CA" + "1" * 32, "sid"),
        se.Param("query", "StartTime<", "2024-03-15T10:22:05Z", "date-time"),
    ]
    exchange = se.exchange_of(se.Sample(TWILIO, op, params))
    assert exchange.route == op.path
    assert exchange.path_params == {"AccountSid": "AC" + "0" * 32, "Sid": "CA" + "1" * 32}
    assert exchange.request.query == "StartTime%3C=2024-03-15T10%3A22%3A05Z"
    raw = se.exchange_of(se.Sample(TWILIO, op, params, raw_names=True))
    assert raw.request.query.startswith("StartTime<=")


def test_an_attack_replaces_or_extends_one_value_only():
    op = SpecOperation("GET", "/x", None, "", False, (), ())
    sample = se.Sample(TWILIO, op, [se.Param("query", "Page", 3, "integer")])
    slot = se.Slot(sample, 0, "integer")
    assert se.attacked(slot, "' OR 1=1", appended=True).params[0].value == "3' OR 1=1"
    assert se.attacked(slot, "' OR 1=1", appended=False).params[0].value == "' OR 1=1"
    assert sample.params[0].value == 3

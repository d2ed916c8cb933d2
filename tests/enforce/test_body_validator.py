from __future__ import annotations

import pytest

from apishield.enforce.body_validator import (
    BodyValidator,
    SchemaCompileError,
    Undocumented,
    json_path,
    strip,
)

CUSTOMER = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "id": {"type": "integer", "readOnly": True},
        "name": {"type": "string", "maxLength": 20},
        "plan": {"type": "string", "enum": ["basic", "plus"]},
        "address": {
            "nullable": True,
            "type": "object",
            "properties": {"city": {"type": "string"}},
        },
        "lines": {
            "type": "array",
            "items": {"type": "object", "properties": {"msisdn": {"type": "string"}}},
        },
        "nickname": {"oneOf": [{"type": "null"}, {"type": "string"}]},
    },
}


def test_a_valid_instance_gives_a_clean_verdict() -> None:
    verdict = BodyValidator(CUSTOMER, "request").judge(
        {"name": "Ann", "plan": "plus", "address": None, "lines": [{"msisdn": "+1"}]}
    )
    assert verdict.clean and verdict.complete


def test_undocumented_fields_are_found_where_they_are_and_read_only_ones_named() -> None:
    verdict = BodyValidator(CUSTOMER, "request").judge(
        {
            "name": "Ann",
            "id": 7,
            "role": "admin",
            "address": {"city": "Oslo", "verified": True},
            "lines": [{"msisdn": "+1"}, {"msisdn": "+2", "imsi": "x"}],
        }
    )
    assert not verdict.problems
    found = {(json_path(u.location), u.names, u.hidden) for u in verdict.undocumented}
    assert found == {
        ("$", ("id", "role"), ("id",)),
        ("$.address", ("verified",), ()),
        ("$.lines[]", ("imsi",), ()),
    }


def test_problems_name_the_rule_broken_and_never_the_value() -> None:
    secret = "supersecret-value-0123456789"
    verdict = BodyValidator(CUSTOMER, "request").judge(
        {"plan": secret, "name": secret, "nickname": 5, "address": {"city": 3}}
    )
    problems = {(json_path(p.location), p.keyword, p.detail) for p in verdict.problems}
    assert problems == {
        ("$.plan", "enum", "not a documented value"),
        ("$.name", "maxLength", "breaks maxLength 20"),
        ("$.nickname", "anyOf", "matches none of the documented alternatives"),
        ("$.address.city", "type", "expected string"),
    }
    assert not any(secret in p.detail for p in verdict.problems)


def test_objects_where_plain_values_belong_are_structural() -> None:
    verdict = BodyValidator(CUSTOMER, "request").judge(
        {"name": {"$ne": None}, "nickname": {"$gt": ""}}
    )
    assert {(json_path(p.location), p.structural) for p in verdict.problems} == {
        ("$.name", True),
        ("$.nickname", True),
    }
    assert not BodyValidator(CUSTOMER, "request").judge({"name": 5}).problems[0].structural


def test_the_branch_meant_is_judged_not_the_alternatives_as_a_whole() -> None:
    validator = BodyValidator(CUSTOMER, "request")
    extra = validator.judge({"name": "a", "address": {"city": "Oslo", "geo": [1, 2]}})
    assert not extra.problems
    assert [(json_path(u.location), u.names) for u in extra.undocumented] == [
        ("$.address", ("geo",))
    ]


def test_judging_stops_at_its_limit() -> None:
    verdict = BodyValidator(CUSTOMER, "request").judge(
        {"name": "a", "lines": [{"x": i} for i in range(50)]}, limit=5
    )
    assert len(verdict.undocumented) == 5 and not verdict.complete


def test_strip_removes_exactly_the_undocumented_fields() -> None:
    body = {
        "name": "Ann",
        "password_hash": "x",
        "address": {"city": "Oslo", "lat": 1},
        "lines": [{"msisdn": "+1", "ki": "k"}],
    }
    verdict = BodyValidator(CUSTOMER, "response").judge(body)
    assert strip(body, verdict.undocumented) == 3
    assert body == {"name": "Ann", "address": {"city": "Oslo"}, "lines": [{"msisdn": "+1"}]}
    assert strip(body, [Undocumented(("gone", 3), ("x",))]) == 0


def test_a_schema_the_validator_cannot_compile_says_so() -> None:
    with pytest.raises(SchemaCompileError):
        BodyValidator({"type": "object", "properties": {"a": {"type": "strnig"}}}, "request")

from __future__ import annotations

from typing import Any

import jsonschema_rs

from apishield.enforce.closed_schema import READ_ONLY, WRITE_ONLY, closed_schema


def valid(schema: dict[str, Any], instance: Any, direction: str = "request") -> bool:
    closed = closed_schema(schema, "request" if direction == "request" else "response")
    return bool(jsonschema_rs.Draft202012Validator(closed).is_valid(instance))


PERSON = {"type": "object", "properties": {"name": {"type": "string"}}}


def test_an_object_with_properties_is_closed_and_nested_objects_too() -> None:
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "address": PERSON, "tags": {"items": PERSON}},
    }
    assert valid(schema, {"name": "a", "address": {"name": "b"}, "tags": [{"name": "c"}]})
    assert not valid(schema, {"name": "a", "role": "admin"})
    assert not valid(schema, {"address": {"name": "b", "verified": True}})
    assert not valid(schema, {"tags": [{"name": "c"}, {"name": "d", "x": 1}]})


def test_what_the_spec_leaves_open_stays_open() -> None:
    assert valid({**PERSON, "additionalProperties": True}, {"name": "a", "x": 1})
    assert valid({**PERSON, "additionalProperties": {"type": "integer"}}, {"x": 1})
    assert not valid({**PERSON, "additionalProperties": {"type": "integer"}}, {"x": "1"})
    free_form = {"type": "object", "properties": {"metadata": {"type": "object"}}}
    assert valid(free_form, {"metadata": {"anything": [1, 2]}})
    patterned = {"type": "object", "properties": {}, "patternProperties": {"^x-": {}}}
    assert valid(patterned, {"x-trace": "1"}) and not valid(patterned, {"trace": "1"})


def test_all_of_is_closed_once_over_every_branch() -> None:
    schema = {
        "allOf": [
            {"type": "object", "properties": {"id": {"type": "integer"}}},
            {"type": "object", "properties": {"name": {"type": "string"}}},
        ]
    }
    assert valid(schema, {"id": 1, "name": "a"})
    assert not valid(schema, {"id": 1, "name": "a", "admin": True})
    assert not valid(schema, {"id": "1"})  # the branches still judge their own properties
    typed = {"type": "object", "allOf": [{"type": "object"}, PERSON]}
    assert not valid(typed, {"name": "a", "admin": True})  # a bare type assertion opens nothing


def test_alternatives_are_a_union_and_an_any_object_branch_opens_the_object() -> None:
    schema = {
        "oneOf": [
            {"type": "object", "properties": {"a": {"type": "string"}}},
            {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string"}}},
        ]
    }
    assert valid(schema, {"a": "x", "b": "y"})  # both branches match: oneOf is read as anyOf
    assert not valid(schema, {"a": "x", "c": "z"})
    assert valid({"anyOf": [PERSON, {"type": "object"}]}, {"c": "z"})
    cut = {"allOf": [PERSON, {"x-apishield-cut": "#/components/schemas/Node"}]}
    assert valid(cut, {"name": "a", "children": []})


def test_nullable_and_x_nullable_become_a_null_type() -> None:
    assert valid({"type": "string", "nullable": True}, None)
    assert valid({"type": "string", "x-nullable": True}, None)
    assert not valid({"type": "string"}, None)
    assert valid({"type": "string", "enum": ["a"], "nullable": True}, None)
    assert valid({"nullable": True, "allOf": [PERSON]}, None)
    assert not valid({"nullable": True, "allOf": [PERSON]}, {"name": "a", "x": 1})
    assert valid({"type": ["string", "null"]}, None)  # 3.1 needs nothing


def test_read_only_is_mass_assignment_in_requests_and_write_only_exposure_in_answers() -> None:
    schema = {
        "type": "object",
        "required": ["id", "password"],
        "properties": {
            "id": {"type": "integer", "readOnly": True},
            "password": {"type": "string", "writeOnly": True},
        },
    }
    request = closed_schema(schema, "request")
    assert request[READ_ONLY] == ["id"] and request["required"] == ["password"]
    assert valid(schema, {"password": "p"}) and not valid(schema, {"id": 1, "password": "p"})
    response = closed_schema(schema, "response")
    assert response[WRITE_ONLY] == ["password"] and response["required"] == ["id"]
    assert valid(schema, {"id": 1}, "response")
    assert not valid(schema, {"id": 1, "password": "p"}, "response")


def test_draft_4_bounds_tuples_and_swagger_files_are_translated() -> None:
    exclusive = {"type": "number", "minimum": 0, "exclusiveMinimum": True}
    assert valid(exclusive, 0.5) and not valid(exclusive, 0)
    inclusive = {"type": "number", "minimum": 0, "exclusiveMinimum": False}
    assert valid(inclusive, 0)
    assert valid({"type": "array", "items": [{"type": "integer"}]}, [1, "extra"])
    assert not valid({"type": "array", "items": [{"type": "integer"}]}, ["1"])
    assert closed_schema({"type": "file"}, "request") == {}


def test_what_cannot_be_compiled_or_inverted_is_left_alone() -> None:
    assert "pattern" not in closed_schema({"type": "string", "pattern": "(unclosed"}, "request")
    negated = {"not": {"type": "object", "properties": {"a": {}}}}
    assert "additionalProperties" not in closed_schema(negated, "request")["not"]
    assert valid(negated, 1) and not valid(negated, {"b": 1})


def test_shared_schemas_are_converted_once() -> None:
    shared = {"type": "object", "properties": {"x": {"type": "integer"}}}
    closed = closed_schema({"type": "object", "properties": {"a": shared, "b": shared}}, "request")
    assert closed["properties"]["a"] is closed["properties"]["b"]

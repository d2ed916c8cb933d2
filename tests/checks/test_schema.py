from __future__ import annotations

import pytest

from apishield.checks.registry import ParamRule
from apishield.checks.schema import conforms


@pytest.mark.parametrize(
    ("kind", "good", "bad"),
    [
        ("integer", "40213377", "1 or 1=1"),
        ("number", "-12.5e3", "12;drop"),
        ("uuid", "3f2504e0-4f89-11d3-9a0c-0305e82c3301", "3f2504e0' or '1"),
        ("date", "2024-02-29", "2024-02-29' --"),
        ("date-time", "2024-02-29T10:11:12Z", "2024-02-29T10:11:12<svg>"),
        ("phone", "+49 151 2345-6789", "+49151;ls"),
        ("boolean", "true", "true'"),
    ],
)
def test_valid_values_conform_and_attacks_do_not(kind: str, good: str, bad: str) -> None:
    rule = ParamRule(kind)
    assert conforms(rule, good)
    assert not conforms(rule, bad)


def test_enums_compare_whole_values() -> None:
    rule = ParamRule("enum", frozenset({"asc", "desc"}))
    assert conforms(rule, "asc")
    assert not conforms(rule, "asc,(select 1)")


def test_unknown_kinds_never_vouch_for_a_value() -> None:
    assert not conforms(ParamRule("email"), "a@b.example")


def test_a_plain_date_passes_as_a_date_time() -> None:
    assert conforms(ParamRule("date-time"), "2024-03-15")
    assert not conforms(ParamRule("date-time"), "2024-03-15' or 1=1")

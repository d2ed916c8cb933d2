from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apishield.inventory.params import value_type


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("40213377", "integer"),
        ("-5", "integer"),
        ("3.25", "number"),
        ("true", "boolean"),
        ("2b6f0cc9-4e7b-4f4d-9d0f-6f1f4b9c8a11", "uuid"),
        ("2026-01-31", "date"),
        ("2026-01-31T10:00:00Z", "date-time"),
        ("ada@example.com", "email"),
        ("+14155552671", "phone"),
        ("deadbeefdeadbeefcafe", "hex"),
        ("hello", "string"),
        ("", "string"),
        ("00000000000000001", "string"),  # a zero-padded 17-digit code is not a number
        ("1.2.3", "string"),
    ],
)
def test_value_types(value: str, kind: str) -> None:
    assert value_type(value) == kind


@given(st.text())
def test_never_raises(value: str) -> None:
    assert isinstance(value_type(value), str)


@given(st.text("0123456789eEabfxX.-_ ", min_size=1, max_size=24))
def test_a_number_is_whatever_float_reads(value: str) -> None:
    """Values that cannot be numbers are told apart without calling `float`; it must agree."""
    kind = value_type(value)
    if value[0].isdigit() and kind in ("number", "hex", "string"):
        try:
            float(value)
        except ValueError:
            assert kind != "number"
        else:
            assert kind == "number"

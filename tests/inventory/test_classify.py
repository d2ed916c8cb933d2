from __future__ import annotations

import datetime as dt

import pytest

from apishield.inventory.classify import (
    CHECKS,
    DATA_CLASSES,
    PERSONAL,
    SECRETS,
    by_value,
    classify,
)
from apishield.inventory.fieldnames import _EXACT, NO_CLASS, FieldName, decide


def test_class_sets() -> None:
    assert len(set(DATA_CLASSES)) == len(DATA_CLASSES)
    assert set(DATA_CLASSES) >= PERSONAL
    assert set(DATA_CLASSES) >= SECRETS
    assert not PERSONAL & SECRETS
    assert "ip_address" not in PERSONAL
    assert {class_id for class_id, _ in CHECKS.values()} <= set(DATA_CLASSES)


def test_every_nominated_check_exists() -> None:
    for field in _EXACT.values():
        for check in field.checks:
            assert check in CHECKS or check == "date_of_birth"


def test_the_first_passing_check_wins() -> None:
    account = decide("account_number")
    assert classify(account, "GB82WEST12345698765432") == "iban"
    assert classify(account, "12345678") == "account_number"
    assert classify(decide("access_token"), "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.") == "jwt"


def test_a_named_value_can_still_prove_itself() -> None:
    assert classify(decide("phone"), "alice@example.com") == "email"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("+14155552671", "msisdn"),
        ("447911123456", "msisdn"),
        ("+44 7911 123456", "msisdn"),
        ("(415) 555-2671", "phone"),
        ("0049 30 901820", "phone"),
        ("+12005551234", None),  # NANP area code 200 is not in service
        ("+44 7700 900123", None),
        ("+1234567", None),
        ("+alice@example.com", "email"),
        ("n/a", None),
    ],
)
def test_msisdn_fields_try_the_msisdn_then_the_phone_check(value: str, expected: str) -> None:
    """The msisdn field's shortcut gives what its two checks and the value's own format give
    one after another."""
    msisdn = decide("msisdn")
    assert msisdn.checks == ("msisdn", "phone")
    assert classify(msisdn, value) == expected
    assert classify(msisdn, value) == _one_by_one(msisdn, value)
    assert classify(decide("phone"), value) == _one_by_one(decide("phone"), value)


def _one_by_one(field: FieldName, value: str) -> str | None:
    for check in field.checks:
        class_id, passes = CHECKS[check]
        if passes(value):
            return class_id
    return by_value(value, field.identifier)


def test_numbers_are_classified_by_their_digits() -> None:
    assert classify(decide("card_number"), 4111111111111111) == "payment_card"
    assert classify(decide("msisdn"), 447911123456) == "msisdn"
    assert classify(NO_CLASS, 4111111111111111) is None


def test_birth_dates_respect_the_exchange_date() -> None:
    dob = decide("dob")
    assert classify(dob, "2023-05-01") == "date_of_birth"
    assert classify(dob, "2023-05-01", dt.date(2023, 1, 1)) is None


def test_long_strings_are_left_to_the_text_scan() -> None:
    assert classify(FieldName(("password",)), "x" * 20_000) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("alice@example.com", "email"),
        ("+14155552671", "phone"),
        ("eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.", "jwt"),
        ("-----BEGIN EC PRIVATE KEY-----\nMHc", "private_key"),
        ("AKIAIOSFODNN7EXAMPLE", "api_key"),
        ("GB82WEST12345698765432", "iban"),
        ("4111 1111 1111 1111", "payment_card"),
        ("8944110068256270054", "iccid"),
        ("4111111111111111", None),
        ("550e8400-e29b-41d4-a716-446655440000", None),
        ("2024-01-01T10:00:00Z", None),
        ("short", None),
    ],
)
def test_by_value(value: str, expected: str | None) -> None:
    assert by_value(value, identifier=False) == expected


def test_record_keys_are_not_sim_serials() -> None:
    assert by_value("8944110068256270054", identifier=True) is None

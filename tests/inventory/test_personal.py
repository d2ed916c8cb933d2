from __future__ import annotations

import datetime as dt
import random

import phonenumbers
import pytest

from apishield.inventory.personal import (
    is_birth_date,
    is_email,
    is_international_phone,
    is_ip,
    is_msisdn,
    is_national_phone,
    is_person_name,
    is_place,
    is_postcode,
    is_street,
)


@pytest.mark.parametrize(
    "email",
    ["alice@example.com", "a.b+tag@sub.example.co.uk", "x@xn--bcher-kva.example", "o'neil@a.io"],
)
def test_emails(email: str) -> None:
    assert is_email(email)


@pytest.mark.parametrize(
    "value",
    [
        "alice@localhost",
        "alice@@example.com",
        "alice.@example.com",
        "@example.com",
        "alice@example",
        "alice@-example.com",
        "git@github.com:org/repo.git",
        "a" * 65 + "@example.com",
        "not an email@",
    ],
)
def test_not_emails(value: str) -> None:
    assert not is_email(value)


@pytest.mark.parametrize(
    "number",
    ["+14155552671", "+1 (415) 555-2671", "+44 20 7946 0958", "+447911123456", "0049 30 901820"],
)
def test_international_phones(number: str) -> None:
    assert is_international_phone(number)


@pytest.mark.parametrize(
    "number",
    [
        "+12005551234",  # NANP area code 200 is not in service
        "+10005551234",
        "+999123456789",  # no such country code
        "+0123456789",
        "+1415",
        "4155552671",  # no country code
        "+1415555267a",
    ],
)
def test_not_international_phones(number: str) -> None:
    assert not is_international_phone(number)


def test_phone_plans_agree_with_phonenumbers() -> None:
    """Every region's example numbers, and single-digit slips of them, are judged as
    `phonenumbers.is_valid_number` judges them, bar a handful of its lenient parses."""
    rng = random.Random(7)
    samples = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is not None:
                e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
                assert is_international_phone(e164), (region, e164)
                digits = list(e164[1:])
                digits[rng.randrange(len(digits))] = str(rng.randrange(10))
                samples.append("+" + "".join(digits))
    disagreements = [s for s in samples if is_international_phone(s) != _valid(s)]
    assert len(disagreements) <= len(samples) // 100


def _valid(number: str) -> bool:
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(number))
    except phonenumbers.NumberParseException:
        return False


def test_national_phones_under_a_phone_field() -> None:
    assert is_national_phone("(415) 555-2671")
    assert is_national_phone("415.555.2671")
    assert is_national_phone("020 7946 0958")
    assert is_national_phone("+33 1 42 68 53 00")
    assert not is_national_phone("0000000000")
    assert not is_national_phone("12345")
    assert not is_national_phone("n/a")
    assert not is_national_phone("1.2.3")


def test_msisdn_is_international_without_the_plus() -> None:
    assert is_msisdn("447911123456")
    assert is_msisdn("+14155552671")
    assert not is_msisdn("07911123456")
    assert not is_msisdn("12")


def test_plain_and_punctuated_numbers_are_judged_alike() -> None:
    """E.164 strings skip the punctuation stripping; the verdicts must not depend on it."""
    for e164 in ("+14155552671", "+447911123456", "+12005551234", "+1415", "+33142685300"):
        spaced = f"{e164[:3]} ({e164[3:6]}) {e164[6:]}"
        assert is_international_phone(e164) == is_international_phone(spaced)
        assert is_msisdn(e164) == is_msisdn(spaced) == is_msisdn(e164[1:])
        assert is_national_phone(e164) == is_national_phone(spaced)
    assert not is_international_phone("+٣٣٣٣٣٣٣٣")


@pytest.mark.parametrize(
    "name", ["Alice", "O'Brien", "Jean-Luc Picard", "José María Aznar", "Zoë Saldaña", "Dr. No"]
)
def test_person_names(name: str) -> None:
    assert is_person_name(name)


@pytest.mark.parametrize(
    "value",
    [
        "R2D2",
        "A",
        "unknown",
        "N/A",
        "null",
        "alice@example.com",
        "one two three four five six seven",
    ],
)
def test_not_person_names(value: str) -> None:
    assert not is_person_name(value)


@pytest.mark.parametrize(
    "value",
    [
        "1985-04-12",
        "1985-04-12T00:00:00Z",
        "12/04/1985",
        "04/25/1985",
        "12.04.1985",
        "1985/04/12",
        "19850412",
    ],
)
def test_birth_dates(value: str) -> None:
    assert is_birth_date(value)


@pytest.mark.parametrize(
    "value",
    [
        "1.2.3",
        "2.0.1",
        "1985-02-30",
        "1899-12-31",
        "2150-01-01",
        "13/13/1985",
        "1985-4-12",
        "tomorrow",
    ],
)
def test_not_birth_dates(value: str) -> None:
    assert not is_birth_date(value)


def test_a_birth_date_is_not_after_the_exchange() -> None:
    assert is_birth_date("2030-01-01")
    assert not is_birth_date("2030-01-01", latest=dt.date(2024, 6, 1))
    assert is_birth_date("2024-05-31", latest=dt.date(2024, 6, 1))


def test_address_parts() -> None:
    assert is_street("742 Evergreen Terrace")
    assert is_street("Baker Street")
    assert not is_street("0x71C7656EC7ab88b098defB751B7401B5f6d8976F")
    assert not is_street("https://example.com/a b")
    assert not is_street("alice @example.com")
    assert is_postcode("SW1A 1AA")
    assert is_postcode("94043")
    assert not is_postcode("London")
    assert is_place("Springfield")
    assert not is_place("Unit 5")


def test_ip_addresses() -> None:
    assert is_ip("203.0.113.9")
    assert is_ip("2001:db8::1")
    assert not is_ip("999.1.1.1")
    assert not is_ip("1.2.3")
    assert not is_ip("12:30")

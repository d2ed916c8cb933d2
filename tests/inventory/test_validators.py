from __future__ import annotations

import pytest

from apishield.inventory.validators import (
    is_account_number,
    is_card_number,
    is_iban,
    is_iccid,
    is_imei,
    is_imeisv,
    is_imsi,
    is_national_id,
    is_ssn,
    luhn,
)


@pytest.mark.parametrize(
    ("digits", "valid"),
    [
        ("79927398713", True),
        ("79927398710", False),
        ("4111111111111111", True),
        ("4111111111111112", False),
        ("0", True),
        ("18", True),
        ("19", False),
    ],
)
def test_luhn(digits: str, valid: bool) -> None:
    assert luhn(digits) is valid


@pytest.mark.parametrize(
    "number",
    [
        "4111111111111111",  # Visa
        "4222222222222",  # Visa, 13 digits
        "5555555555554444",  # Mastercard
        "2223003122003222",  # Mastercard 2-series
        "378282246310005",  # American Express
        "6011111111111117",  # Discover
        "3530111333300000",  # JCB
        "30569309025904",  # Diners Club
        "6200000000000005",  # UnionPay
    ],
)
def test_issuer_test_cards_are_cards(number: str) -> None:
    assert is_card_number(number)


@pytest.mark.parametrize(
    "number",
    [
        "4111111111111112",  # Luhn fails
        "1234567812345670",  # Luhn passes, but no issuer starts with 1
        "0000000000000000",  # Luhn passes, a filler
        "411111111111116",  # Visa prefix, Luhn-valid, but 15 digits is not a Visa length
        "37828224631003",  # Amex prefix, Luhn-valid, at the wrong length
        "4111-1111-1111",  # too short
        "٤١١١١١١١١١١١١١١١",  # Arabic-Indic digits are digits to Python, not to issuers
    ],
)
def test_near_miss_numbers_are_not_cards(number: str) -> None:
    assert not is_card_number(number)


def test_separated_cards_need_consistent_groups() -> None:
    assert is_card_number("4111 1111 1111 1111", separated_only=True)
    assert is_card_number("4111-1111-1111-1111", separated_only=True)
    assert is_card_number("3782 822463 10005", separated_only=True)
    assert not is_card_number("4111111111111111", separated_only=True)
    assert not is_card_number("4111 1111-1111 1111", separated_only=True)
    assert not is_card_number("41111 111 1111 1111", separated_only=True)


@pytest.mark.parametrize(
    "iban",
    [
        "GB82WEST12345698765432",
        "DE89370400440532013000",
        "FR1420041010050500013M02606",
        "NL91ABNA0417164300",
        "NO9386011117947",
        "GB82 WEST 1234 5698 7654 32",
    ],
)
def test_ibans(iban: str) -> None:
    assert is_iban(iban)


@pytest.mark.parametrize(
    "iban",
    [
        "GB83WEST12345698765432",  # wrong check digits
        "GB82WEST1234569876543",  # wrong length for GB
        "XX82WEST12345698765432",  # no such country
        "gb82west12345698765432",  # lower case is only accepted where the field says IBAN
        "DE89 3704 0044 0532 0130 01",
    ],
)
def test_near_miss_ibans(iban: str) -> None:
    assert not is_iban(iban)


def test_lower_case_iban_when_asked() -> None:
    assert is_iban("gb82west12345698765432", any_case=True)


def test_imei() -> None:
    assert is_imei("490154203237518")
    assert is_imei("49-015420-323751-8")
    assert not is_imei("490154203237519")  # 15 digits, Luhn fails
    assert not is_imei("000000000000000")  # Luhn passes, a filler
    assert not is_imei("4901542032375180")


def test_imeisv_has_no_check_digit() -> None:
    assert is_imeisv("3569380356438091")
    assert not is_imeisv("356938035643809")
    assert not is_imeisv("3569380356438099")  # software version 99 is reserved


def test_imsi_needs_an_allocated_country_code() -> None:
    assert is_imsi("310150123456789")  # USA
    assert is_imsi("234150999999999")  # UK
    assert not is_imsi("001010123456789")  # test network
    assert not is_imsi("999990123456789")
    assert not is_imsi("31015012345678")  # 14 digits


def test_iccid() -> None:
    assert is_iccid("8944110068256270054")
    assert not is_iccid("8944110068256270055")  # Luhn fails
    assert not is_iccid("7944110068256270051")  # not the telecom prefix
    assert not is_iccid("894411006825627")  # too short


@pytest.mark.parametrize("ssn", ["123-45-6780", "123456780", "123 45 6780", "772-01-2345"])
def test_ssn(ssn: str) -> None:
    assert is_ssn(ssn)


@pytest.mark.parametrize(
    "ssn",
    [
        "000-12-3456",
        "666-12-3456",
        "912-12-3456",
        "123-00-4567",
        "123-45-0000",
        "078-05-1120",  # the Woolworth wallet card
        "123-45-6789",  # advertising sample, voided
        "123-456-789",
        "123-45 6780",
    ],
)
def test_invalid_ssns(ssn: str) -> None:
    assert not is_ssn(ssn)


@pytest.mark.parametrize(
    "value",
    [
        "AB123456C",  # UK NINO
        "AB 12 34 56 C",
        "12345678Z",  # Spanish DNI
        "X1234567L",  # Spanish NIE
        "111222333",  # Dutch BSN
        "130692544",  # Canadian SIN
        "2341 2341 2346",  # Indian Aadhaar
    ],
)
def test_national_ids(value: str) -> None:
    assert is_national_id(value)


@pytest.mark.parametrize(
    "value",
    [
        "QQ123456C",  # NINO prefixes never start with Q
        "GB123456A",  # administrative prefix
        "AB123456E",  # suffix beyond D
        "12345678A",  # DNI letter wrong
        "X1234567A",
        "111222334",  # neither BSN nor SIN
        "2341 2341 2345",  # Aadhaar check digit wrong
        "1341 2341 2346",  # Aadhaar never starts with 1
        "111111111",
    ],
)
def test_near_miss_national_ids(value: str) -> None:
    assert not is_national_id(value)


def test_account_numbers() -> None:
    assert is_account_number("12345678")
    assert is_account_number("0012-3456-78")
    assert is_account_number("AC12345678")
    assert not is_account_number("premium")
    assert not is_account_number("12345")
    assert not is_account_number("00000000")
    assert not is_account_number("ABCDEF123456")  # mostly letters

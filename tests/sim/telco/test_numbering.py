"""The fictional numbering plan: valid to libphonenumber and to apishield's own data classes."""

from __future__ import annotations

import datetime as dt

import phonenumbers

from apishield.inventory import validators
from apishield.inventory.classify import classify
from apishield.inventory.fieldnames import field_name
from apishield.inventory.personal import is_international_phone, is_msisdn
from apishield.sim.telco import numbering


def test_every_number_of_the_block_is_valid_and_classified() -> None:
    codes = numbering.area_codes()
    numbers = numbering.all_numbers(codes)
    assert len(codes) == 353 and len(numbers) == 35_300 == len(set(numbers))
    for code in codes:
        for line in (100, 142, 199):
            number = numbering.msisdn(code.npa, line)
            parsed = phonenumbers.parse(number)
            assert phonenumbers.is_valid_number(parsed), number
            assert phonenumbers.region_code_for_number(parsed) == "US"
            assert is_msisdn(number) and is_international_phone(number)
    sample = numbers[1234]
    assert classify(field_name("msisdn"), sample) == "msisdn"
    assert classify(field_name("phone"), sample) == "phone"
    assert classify(field_name("note"), sample) == "phone"  # E.164 is recognised by value alone


def test_sim_identities_pass_the_inventory_checks() -> None:
    iccid = numbering.iccid(123_456_789)
    assert len(iccid) == 20 and numbering.is_luhn(iccid) and validators.is_iccid(iccid)
    assert not numbering.is_luhn(iccid[:-1] + str((int(iccid[-1]) + 1) % 10))
    assert validators.is_imsi(numbering.imsi(42))


def test_daylight_time_follows_the_us_rules() -> None:
    assert numbering.utc_offset_hours("America/New_York", dt.date(2026, 1, 5)) == -5
    assert numbering.utc_offset_hours("America/New_York", dt.date(2026, 3, 8)) == -4
    assert numbering.utc_offset_hours("America/New_York", dt.date(2026, 3, 7)) == -5
    assert numbering.utc_offset_hours("America/Los_Angeles", dt.date(2026, 11, 1)) == -8
    assert numbering.utc_offset_hours("America/Phoenix", dt.date(2026, 7, 1)) == -7
    assert numbering.utc_offset_hours("Pacific/Honolulu", dt.date(2026, 7, 1)) == -10

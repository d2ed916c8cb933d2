from __future__ import annotations

import json

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apishield.inventory.sensitive import (
    DATA_CLASSES,
    PERSONAL,
    SECRETS,
    BodyScan,
    BodyScans,
    classify_value,
    scan_body,
)
from apishield.testing import T0

JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
)
CUSTOMER = {
    "id": "cus_8f3a2b1c9d",
    "created_at": "2021-06-14T09:12:44Z",
    "status": "active",
    "first_name": "Maria",
    "last_name": "Gonzalez",
    "email": "maria.gonzalez@example.com",
    "phone": "+14155550123",
    "date_of_birth": "1988-11-23",
    "address": {"line1": "1600 Amphitheatre Pkwy", "city": "Mountain View", "postal_code": "94043"},
    "plan": {"name": "Unlimited Plus", "price": 70.0, "features": ["5G", "hotspot"]},
    "notes": "Prefers contact after 6pm. Upgraded plan in January.",
}


def test_the_interface() -> None:
    assert len(DATA_CLASSES) == 19
    assert {"email", "ssn", "national_id", "imei"} <= PERSONAL
    assert {"jwt", "api_key", "private_key", "password"} == SECRETS
    assert BodyScan().classes == {}


# (field name, positive value, negative value): every class with a near miss.
CASES = [
    ("email", "alice@example.com", "alice@localhost"),
    ("contact", "bob@example.org", "bob at example dot org"),
    ("phone", "(415) 555-2671", "12345"),
    (None, "+14155552671", "+12005551234"),
    ("first_name", "Alice", "R2D2"),
    ("full_name", "Jean-Luc Picard", "N/A"),
    ("dob", "1985-04-12", "1.2.3"),
    ("date_of_birth", "12/04/1985", "1985-02-30"),
    ("street", "742 Evergreen Terrace", "0x71C7656EC7ab88b098defB751B7401B5f6d8976F"),
    ("ssn", "123-45-6780", "078-05-1120"),
    ("nino", "AB123456C", "QQ123456C"),
    ("card_number", "4111111111111111", "4111111111111112"),
    (None, "4111 1111 1111 1111", "4111111111111111"),
    ("iban", "GB82WEST12345698765432", "GB83WEST12345698765432"),
    (None, "DE89370400440532013000", "DE89370400440532013001"),
    ("account_number", "00123456", "premium"),
    ("msisdn", "447911123456", "12"),
    ("imsi", "310150123456789", "001010123456789"),
    ("imei", "490154203237518", "490154203237519"),
    ("device_id", "490154203237518", "000000000000000"),
    ("iccid", "8944110068256270054", "8944110068256270055"),
    ("session", JWT, "eyJub3QiOiJhIGp3dCJ9.eyJzdWIiOiIxIn0.sig"),
    ("api_key", "8f14e45fceea167a5a36dedd4bea2543", "changeme"),
    (None, "sk_live_4eC39HqLyjWDarjtT1zdp7dc", "sk_live_short"),
    (None, "-----BEGIN PRIVATE KEY-----\nMIIE", "-----BEGIN PUBLIC KEY-----\nMIIB"),
    ("password", "$2b$12$KIXQJfQp0bI8r8o3v5r2FO", "********"),
    ("client_ip", "203.0.113.9", "999.1.1.1"),
]
EXPECTED = {
    "contact": "email",
    "full_name": "person_name",
    "first_name": "person_name",
    "dob": "date_of_birth",
    "street": "postal_address",
    "nino": "national_id",
    "card_number": "payment_card",
    "device_id": "imei",
    "session": "jwt",
    "client_ip": "ip_address",
}


def _expected(name: str | None, value: str) -> str:
    if name is None:
        by_value = {
            "+": "phone",
            "4": "payment_card",
            "D": "iban",
            "s": "api_key",
            "-": "private_key",
        }
        return by_value[value[0]]
    return EXPECTED.get(name, name)


@pytest.mark.parametrize(("name", "positive", "negative"), CASES)
def test_classify_value(name: str | None, positive: str, negative: str) -> None:
    assert classify_value(name, positive) == _expected(name, positive)
    assert classify_value(name, negative) is None


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("name", "Widget Pro"),  # a bare "name" is a person's only beside personal fields
        ("product_name", "Alice Smith"),
        ("order_id", "4155552671"),  # looks like a US number, but is not under a phone field
        ("order_id", 14155552671),
        ("order_id", "490154203237518"),  # 15 digits, Luhn-valid, not a device field
        ("order_id", "8944110068256270054"),
        ("tracking_number", "4111111111111111"),
        ("description", "Lives at 10 Downing Street, London, born 1970-01-01"),
        ("id", "550e8400-e29b-41d4-a716-446655440000"),  # UUIDs are keys only under key names
        ("request_id", "8f14e45fceea167a5a36dedd4bea2543"),
        ("version", "1985-04-12"),  # a date, but not under a birth-date field
        ("dob", "2.0.1"),  # a version string under one
        ("city", "London"),  # part of an address only beside the other parts
        ("next_page_token", "8f14e45fceea167a5a36dedd4bea2543"),
        ("password_changed_at", "2024-01-01T00:00:00Z"),
        ("imsi", "31015012345678"),
        ("verified", True),
        ("balance", 12.5),
        ("count", 7),
        (None, None),
        (None, ["alice@example.com"]),
    ],
)
def test_classify_value_near_misses(name: str | None, value: object) -> None:
    assert classify_value(name, value) is None


def test_classify_value_numbers() -> None:
    assert classify_value("card_number", 4111111111111111) == "payment_card"
    assert classify_value("pin", 1234) == "password"
    assert classify_value(None, 4111111111111111) is None


def test_birth_date_after_the_exchange_is_not_a_birth_date() -> None:
    assert classify_value("dob", "2024-01-01") == "date_of_birth"
    assert classify_value("dob", "2024-01-01", now=T0) is None  # T0 is November 2023
    body = orjson.dumps({"dob": "2024-01-01"})
    assert scan_body(body, "application/json", now=T0).classes == {}
    assert scan_body(body, "application/json", now=float("nan")).classes == {"date_of_birth": 1}


def test_customer_record() -> None:
    scan = scan_body(orjson.dumps(CUSTOMER), "application/json; charset=utf-8")
    assert scan.classes == {
        "person_name": 2,
        "email": 1,
        "phone": 1,
        "date_of_birth": 1,
        "postal_address": 1,
    }
    assert scan.person_records == 1
    assert not scan.truncated
    assert scan.fields["email"] == "email"
    assert scan.fields["address.line1"] == "postal_address"
    assert "plan.name" not in scan.fields


def test_list_of_fifty_customers() -> None:
    body = orjson.dumps({"data": [dict(CUSTOMER, id=f"cus_{i}") for i in range(50)], "total": 50})
    scan = scan_body(body, "application/json")
    assert scan.person_records == 50
    assert scan.classes["email"] == 50
    assert scan.fields["data[].email"] == "email"
    assert scan.fields["data[].address.city"] == "postal_address"


def test_empty_list() -> None:
    assert scan_body(b'{"data": []}', "application/json") == BodyScan()
    assert scan_body(b"[]", "application/json") == BodyScan()


def test_problem_json_and_json_without_a_type() -> None:
    assert scan_body(b'{"email": "a@example.com"}', "application/problem+json").classes
    assert scan_body(b' {"email": "a@example.com"}', "").fields == {"email": "email"}


def test_form_body() -> None:
    body = (
        b"first_name=Alice&last_name=Smith&email=alice%40example.com"
        b"&card_number=4111+1111+1111+1111&password=hunter2&plan=gold&customer%5Bphone%5D=%2B14155552671"
    )
    scan = scan_body(body, "application/x-www-form-urlencoded")
    assert scan.classes == {
        "person_name": 2,
        "email": 1,
        "payment_card": 1,
        "password": 1,
        "phone": 1,
    }
    assert scan.person_records == 1
    assert scan.fields["customer[phone]"] == "phone"


def test_text_body_finds_only_name_free_classes() -> None:
    body = (
        "Dear Alice Smith, born 1985-04-12, of 742 Evergreen Terrace: your SSN 123-45-6780 "
        "and card 4111-1111-1111-1111 are on file; write to alice@example.com or call "
        f"+1 415 555 2671. IBAN GB82 WEST 1234 5698 7654 32. Token {JWT}"
    ).encode()
    scan = scan_body(body, "text/plain")
    assert scan.classes == {"email": 1, "phone": 1, "payment_card": 1, "iban": 1, "jwt": 1}
    assert scan.person_records == 0
    assert scan_body(body, "text/html").classes == scan.classes
    assert scan_body(body, "application/xml").classes == scan.classes


def test_json_lines() -> None:
    body = b'{"email": "a@example.com"}\n\n{"email": "b@example.com"}\n{"email": "c@exa'
    scan = scan_body(body, "application/x-ndjson")
    assert scan.person_records == 2
    assert scan.fields == {"[].email": "email"}


def test_media_is_not_scanned() -> None:
    assert scan_body(b"\x89PNG alice@example.com", "image/png") == BodyScan()


def test_broken_json_is_read_as_far_as_it_parses() -> None:
    scan = scan_body(b'{"email": "a@example.com", oops', "application/json")
    assert scan.classes == {"email": 1}
    assert scan.fields == {"email": "email"}
    assert not scan.truncated


def test_json_that_does_not_parse_at_all_is_scanned_as_text() -> None:
    scan = scan_body(b"{email: 'a@example.com'}", "application/json")
    assert scan.classes == {"email": 1}


def test_invalid_utf8_inside_json() -> None:
    scan = scan_body(b'{"email": "a@example.com", "note": "\xff\xfe"}', "application/json")
    assert scan.fields == {"email": "email"}


def test_deep_nesting() -> None:
    for body in (
        b"[" * 10_000 + b'"a@example.com"' + b"]" * 10_000,
        b'{"a":' * 10_000 + b'"a@example.com"' + b"}" * 10_000,
        b"[" * 10_000,
    ):
        scan = scan_body(body, "application/json")
        assert scan.truncated
        assert scan.classes == {}


def test_shallow_values_of_a_deep_document_are_still_found() -> None:
    body = b'{"email": "a@example.com", "a": ' + b"[" * 5_000 + b"]" * 5_000 + b"}"
    scan = scan_body(body, "application/json")
    assert scan.classes == {"email": 1}
    assert scan.truncated


def test_ten_megabyte_body_is_capped() -> None:
    record = {"id": 1, "name": "Alice Smith", "email": "alice@example.com", "phone": "+14155552671"}
    body = orjson.dumps({"customers": [dict(record, id=i) for i in range(120_000)]})
    assert len(body) > 10_000_000
    scan = scan_body(body, "application/json")
    assert scan.truncated
    assert 1_000 < scan.person_records < 5_000
    assert scan.classes["email"] == scan.person_records
    small = scan_body(body, "application/json", max_bytes=1_000)
    assert small.truncated
    assert 0 < small.person_records < 20


def test_ten_megabyte_text_is_capped() -> None:
    scan = scan_body(b"mail alice@example.com now. " * 400_000, "text/plain")
    assert scan.truncated
    assert 0 < scan.classes["email"] < 20_000


_CONTENT_TYPES = st.sampled_from(
    [
        "application/json",
        "application/x-ndjson",
        "application/x-www-form-urlencoded",
        "text/plain",
        "text/html",
        "",
        "application/octet-stream",
    ]
)
_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
    | st.sampled_from(["alice@example.com", "+14155552671", "4111111111111111", JWT]),
    lambda children: (
        st.lists(children, max_size=6)
        | st.dictionaries(
            st.text(max_size=12) | st.sampled_from(["name", "email", "phone", "address", "iban"]),
            children,
            max_size=6,
        )
    ),
    max_leaves=40,
)


def _is_sane(scan: BodyScan) -> bool:
    return (
        set(scan.classes) <= set(DATA_CLASSES)
        and all(count > 0 for count in scan.classes.values())
        and set(scan.fields.values()) <= set(scan.classes)
        and scan.person_records >= 0
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.binary(max_size=2_000), content_type=_CONTENT_TYPES)
def test_arbitrary_bytes_never_raise(body: bytes, content_type: str) -> None:
    assert _is_sane(scan_body(body, content_type))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=_JSON, cut=st.integers(min_value=1, max_value=400))
def test_arbitrary_json_never_raises(document: object, cut: int) -> None:
    body = json.dumps(document).encode()
    assert _is_sane(scan_body(body, "application/json"))
    assert _is_sane(scan_body(body, "application/json", max_bytes=cut))


@settings(max_examples=200, deadline=None)
@given(name=st.none() | st.text(max_size=30), value=st.text(max_size=60) | st.integers())
def test_arbitrary_values_never_raise(name: str | None, value: object) -> None:
    assert classify_value(name, value) in (None, *DATA_CLASSES)


def test_an_unusable_now_is_ignored() -> None:
    assert classify_value("dob", "1985-04-12", now=1e300) == "date_of_birth"


def test_a_repeated_body_is_scanned_once_and_alike() -> None:
    scans = BodyScans(max_bytes=262_144, size=2)
    body = orjson.dumps(CUSTOMER)
    first = scans.scan(body, "application/json", T0)
    assert first == scan_body(body, "application/json", now=T0)
    first.classes.clear()  # each caller owns its copy
    assert scans.scan(body, "application/json", T0 + 60) == scan_body(body, "application/json")
    for n in range(3):  # a full memo forgets, and still answers alike
        other = orjson.dumps({**CUSTOMER, "id": n})
        assert scans.scan(other, "application/json", T0) == scan_body(other, "application/json")
    assert len(scans._scans) <= 2


def test_a_repeated_body_is_judged_on_its_own_day() -> None:
    scans = BodyScans(max_bytes=262_144)
    body = orjson.dumps({"name": "Maria Gonzalez", "date_of_birth": "2026-01-02"})
    for now in (T0, 1_767_225_600.0, 1_767_398_400.5, float("nan")):
        assert scans.scan(body, "application/json", now) == scan_body(
            body, "application/json", now=now
        )

from __future__ import annotations

import pytest

from apishield.inventory import fieldnames
from apishield.inventory.fieldnames import NO_CLASS, decide, field_name, words


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("firstName", ["first", "name"]),
        ("first_name", ["first", "name"]),
        ("FIRST-NAME", ["first", "name"]),
        ("addressLine1", ["address", "line", "1"]),
        ("SSN", ["ssn"]),
        ("userID", ["user", "id"]),
        ("customer[email]", ["email"]),
        ("billing.address.street", ["street"]),
        ("x-api-key", ["x", "api", "key"]),
    ],
)
def test_words(name: str, expected: list[str]) -> None:
    assert words(name) == expected


@pytest.mark.parametrize(
    ("name", "check"),
    [
        ("email", "email"),
        ("emailAddress", "email"),
        ("phone", "phone"),
        ("mobile_phone", "phone"),
        ("homePhoneNumber", "phone"),
        ("msisdn", "msisdn"),
        ("IMSI", "imsi"),
        ("imei", "imei"),
        ("device_id", "imei"),
        ("iccid", "iccid"),
        ("sim_serial", "iccid"),
        ("card_number", "payment_card"),
        ("creditCardNumber", "payment_card"),
        ("pan", "payment_card"),
        ("iban", "iban"),
        ("account_number", "account_number"),
        ("acct_no", "account_number"),
        ("ban", "account_number"),
        ("ssn", "ssn"),
        ("social_security_number", "ssn"),
        ("nino", "national_id"),
        ("national_id", "national_id"),
        ("first_name", "person_name"),
        ("lastName", "person_name"),
        ("cardholder_name", "person_name"),
        ("dob", "date_of_birth"),
        ("dateOfBirth", "date_of_birth"),
        ("birth_date", "date_of_birth"),
        ("street", "postal_address"),
        ("address_line1", "postal_address"),
        ("shippingAddress", "postal_address"),
        ("password", "password"),
        ("password_hash", "password"),
        ("pin", "password"),
        ("api_key", "api_key"),
        ("x-api-key", "api_key"),
        ("client_secret", "api_key"),
        ("access_token", "jwt"),
        ("stripe_api_key", "api_key"),
        ("ip_address", "ip_address"),
        ("emails", "email"),
        ("addresses", "postal_address"),
    ],
)
def test_names_nominate_checks(name: str, check: str) -> None:
    assert check in decide(name).checks


@pytest.mark.parametrize(
    "name",
    [
        "description",
        "notes",
        "product_name",
        "hostname",
        "id",
        "order_id",
        "version",
        "email_verified",
        "phone_country_code",
        "cell_id",
        "card_brand",
        "card_last4",
        "password_changed_at",
        "has_password",
        "password_policy",
        "token_type",
        "next_page_token",
        "csrf_token",
        "expires_in",
        "place_of_birth",
        "email_address_type",
        "ip_address_count",
        "mac_address",
        "wallet_address",
        "mobile_app_version",
    ],
)
def test_names_that_nominate_nothing(name: str) -> None:
    assert decide(name).checks == ()


def test_bare_name_needs_context() -> None:
    assert decide("name").contextual_name
    assert decide("displayName").contextual_name
    assert not decide("product_name").contextual_name


def test_address_roles() -> None:
    assert decide("street").address == "street"
    assert decide("line1").address == "line"
    assert decide("city").address == "city"
    assert decide("zip").address == "postcode"
    assert decide("postal_code").address == "postcode"
    assert decide("street").contextual
    assert not decide("street").plain


def test_people_and_inheritance() -> None:
    assert decide("customers").people
    assert decide("owner").people
    assert decide("number").inherits == "value"
    assert decide("first").inherits == "name_part"
    account = decide("account")
    assert account.value_field is not None
    assert "account_number" in account.value_field.checks


def test_identifiers() -> None:
    assert decide("order_id").identifier
    assert decide("tracking_number").identifier
    assert not decide("notes").identifier


def test_decisions_are_cached_and_bounded() -> None:
    fieldnames.NAMES.clear()
    first = field_name("customerEmail")
    assert field_name("customerEmail") is first
    assert "customerEmail" in fieldnames.NAMES
    assert field_name("billing_address_" * 5) is NO_CLASS
    assert "billing_address_" * 5 not in fieldnames.NAMES
    for i in range(fieldnames._CACHE_SIZE + 10):
        field_name(f"field{i}")
    assert len(fieldnames.NAMES) <= fieldnames._CACHE_SIZE

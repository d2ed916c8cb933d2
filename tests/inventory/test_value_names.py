from __future__ import annotations

import pytest

from apishield.inventory.value_names import ValueName, ordinary, value_name


@pytest.mark.parametrize(
    ("name", "shown", "data_class"),
    [
        ("+447911123456", "{phone}", "phone"),
        ("carol.white@example.net", "{email}", "email"),
        ("josé@example.es", "{email}", "email"),
        ("536-22-1846", "{ssn}", "ssn"),
        ("020 7946 0958", "{phone}", "phone"),
        ("4111 1111 1111 1111", "{card}", "payment_card"),
        ("GB82WEST12345698765432", "{iban}", "iban"),
        ("192.168.0.1", "{ip}", "ip_address"),
        ("sk_live_abcdefghijklmnop1234", "{token}", "api_key"),
        ("123e4567-e89b-12d3-a456-426614174000", "{uuid}", None),
        ("4111111111111111", "{id}", None),
        ("447911123456", "{id}", None),
        ("cus_NffrFeUfNV2Hib", "{id}", None),
        ("d41d8cd98f00b204e9800998ecf8427e", "{hex}", None),
        ("kYqPzRtWbNmHvLcXqW", "{token}", None),
        ("Xk9_aZ3kQ9mP-Lq2Rt7vWx", "{token}", None),
        ("2024-01-15", "{date}", None),
    ],
)
def test_a_name_that_is_a_value_is_kept_by_its_kind(
    name: str, shown: str, data_class: str | None
) -> None:
    assert value_name(name) == ValueName(shown, data_class)


@pytest.mark.parametrize(
    "name",
    [
        "first_name", "createdAt", "x-request-id", "page[size]", "customerAccountNumber",
        "line1", "address2", "x509Cert", "utf8", "2fa_enabled", "jwt_hs256_secret_hex",
        "AsyncAmd", "200", "2024", "order_20240115", "billing_address_" * 5,
    ],
)  # fmt: skip
def test_names_stay_names(name: str) -> None:
    assert value_name(name) is None


def test_the_first_look_sets_words_aside_and_nothing_with_a_digit_or_at() -> None:
    assert ordinary("first_name") and ordinary("x-request-id") and ordinary("page[size]")
    assert not ordinary("line1") and not ordinary("a@b.c") and not ordinary("+44")
    assert not ordinary("kYqPzRtWbNmHvLcXqW")  # long enough to be a random token

from __future__ import annotations

import time

from apishield.inventory import textscan
from apishield.inventory.textscan import scan_text

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"


def _classes(text: str) -> list[str]:
    return [class_id for _, class_id in scan_text(text).hits]


def test_every_name_free_class_in_prose() -> None:
    text = (
        "Reach alice@example.com or +44 20 7946 0958 (mobile). "
        "Card 4111 1111 1111 1111, IBAN GB82 WEST 1234 5698 7654 32. "
        f"Authorization: Bearer {JWT}\n"
        "aws AKIAIOSFODNN7EXAMPLE and sk_live_4eC39HqLyjWDarjtT1zdp7dc\n"
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----"
    )
    assert sorted(_classes(text)) == sorted(
        ["email", "phone", "payment_card", "iban", "jwt", "api_key", "api_key", "private_key"]
    )


def test_offsets_point_at_the_value() -> None:
    text = "héllo wörld, mail bob@example.org now"
    (offset, class_id), *_ = scan_text(text).hits
    assert class_id == "email"
    assert text[offset:].startswith("bob@example.org")


def test_near_misses_in_prose() -> None:
    text = (
        "Order 4111111111111111 shipped; ref 4111 1111 1111 1112; "
        "iban GB83 WEST 1234 5698 7654 32; call +1 000 000 0000; "
        "version 1.2.3 at 12:30, weight +5 kg, user@localhost, sk_live_short"
    )
    assert _classes(text) == []


def test_a_card_inside_a_longer_number_is_not_a_card() -> None:
    assert _classes("id 99-4111-1111-1111-1111-99") == []
    assert _classes("tracking 123 4111 1111 1111 1111 5678") == ["payment_card"]


def test_key_must_stand_alone() -> None:
    assert _classes("xAKIAIOSFODNN7EXAMPLE") == []
    assert _classes("key=AKIAIOSFODNN7EXAMPLE;") == ["api_key"]


def test_hostile_text_is_rationed_and_stays_fast() -> None:
    for text in (
        "+1 " * 50_000,
        "@" * 100_000,
        "eyJ" * 50_000,
        "AB12" * 50_000,
        "a@b.co " * 30_000,
    ):
        started = time.process_time()
        scan = scan_text(text)
        assert time.process_time() - started < 5
        assert len(scan.hits) <= textscan.MAX_CANDIDATES


def test_ration_marks_the_scan_incomplete() -> None:
    scan = scan_text("+14155552671 " * (textscan.MAX_PHONE_CHECKS + 10))
    assert not scan.complete
    assert len(scan.hits) == textscan.MAX_PHONE_CHECKS


def test_an_at_sign_first_does_not_hide_later_emails() -> None:
    assert _classes("@team: mail alice@example.com") == ["email"]


def test_short_text() -> None:
    assert scan_text("").hits == []
    assert scan_text("a@b").hits == []

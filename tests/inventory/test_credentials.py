from __future__ import annotations

import base64

import orjson
import pytest

from apishield.inventory.credentials import (
    entropy,
    is_jwt,
    is_known_key,
    is_password,
    is_private_key,
    is_random_secret,
    without_scheme,
)

JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
)


def _segment(document: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(document)).rstrip(b"=").decode()


def test_jwts() -> None:
    assert is_jwt(JWT)
    unsigned = _segment({"alg": "none"}) + "." + _segment({"sub": "1"}) + "."
    assert is_jwt(unsigned)


@pytest.mark.parametrize(
    "value",
    [
        _segment({"typ": "JWT"}) + "." + _segment({"sub": "1"}) + ".sig",  # header without alg
        _segment({"alg": 5}) + "." + _segment({"sub": "1"}) + ".sig",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0",  # two parts
        "eyJ!!!.abc.def",
        "eyJhbGciOiJIUzI1NiJ9X.eyJzdWIiOiIxIn0.sig",  # header is not base64url of JSON
        "version.1.2",
    ],
)
def test_not_jwts(value: str) -> None:
    assert not is_jwt(value)


def test_private_keys() -> None:
    assert is_private_key("-----BEGIN RSA PRIVATE KEY-----\nMIIEow...")
    assert is_private_key("-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl...")
    assert is_private_key("-----BEGIN PGP PRIVATE KEY BLOCK-----\n...")
    assert is_private_key("cfg: -----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert not is_private_key("-----BEGIN PUBLIC KEY-----\nMIIB...")
    assert not is_private_key("-----BEGIN CERTIFICATE-----\nMIID...")


@pytest.mark.parametrize(
    "key",
    [
        "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
        "rk_test_51H8aBcDeFgHiJkLmNoPq",
        "AKIAIOSFODNN7EXAMPLE",
        "ghp_" + "A1b2C3d4" * 4 + "E5f6",
        "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
        "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
        "AIzaSyD-1234567890abcdefghijklmnopqrstu",
        "glpat-xxxxxxxxxxxxxxxxxxxx",
        "SG." + "a" * 22 + "." + "b" * 43,
        "npm_" + "a1" * 18,
        "sk-proj-" + "Ab3" * 16,
        "shpat_" + "0123456789abcdef" * 2,
    ],
)
def test_known_key_formats(key: str) -> None:
    assert is_known_key(key)


@pytest.mark.parametrize(
    "value",
    [
        "sk_live_short",
        "AKIAIOSFODNN7EXAMPL",  # one short
        "pk_live_4eC39HqLyjWDarjtT1zdp7dc",  # publishable, meant to be public
        "ghp_tooShort",
        "skeleton-key",
    ],
)
def test_not_known_keys(value: str) -> None:
    assert not is_known_key(value)


@pytest.mark.parametrize(
    "value",
    [
        "550e8400-e29b-41d4-a716-446655440000",
        "8f14e45fceea167a5a36dedd4bea2543",
        "dGhpcyBpcyBhIHJhbmRvbSBrZXkgMTIzNDU2Nzg5MA==",
        "Bearer 8f14e45fceea167a5a36dedd4bea2543",
    ],
)
def test_random_secrets(value: str) -> None:
    assert is_random_secret(value)


@pytest.mark.parametrize(
    "value",
    [
        "changeme",
        "not-configured-for-this-env",  # no digits
        "aaaaaaaaaaaaaaaa1",
        "1111111111111111a",
        "contains spaces 1234567890",
        "",
    ],
)
def test_not_random_secrets(value: str) -> None:
    assert not is_random_secret(value)


def test_scheme_is_dropped() -> None:
    assert without_scheme("Bearer abc") == "abc"
    assert without_scheme("token abc") == "abc"
    assert without_scheme("abc") == "abc"


def test_entropy() -> None:
    assert entropy("aaaa") == 0
    assert entropy("abcd") == 2


def test_passwords() -> None:
    assert is_password("hunter2")
    assert is_password("$2b$12$KIXQJfQp0bI8r8o3v5r2FO")
    assert is_password("x")
    assert not is_password("")
    assert not is_password("   ")
    assert not is_password("********")
    assert not is_password("••••")
    assert not is_password("[REDACTED]")
    assert not is_password("null")

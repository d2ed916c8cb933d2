from __future__ import annotations

import base64
import hashlib
import hmac
import json
from importlib import resources
from typing import Any

import pytest

from apishield.checks import jwt_checks
from apishield.checks.jwt_checks import (
    bearer_jwt,
    check_jwt,
    check_jwt_accepted,
    mask,
    parse_secret_list,
    read_token,
)
from apishield.checks.registry import CheckContext, EndpointFacts
from apishield.exchange import Exchange, Finding, Severity
from apishield.testing import T0, make_exchange

STRONG = "k7Qv0w9ZpR2xL5mN8bC1dF4gH6jT3yU0"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def token(claims: dict[str, Any], *, alg: str = "HS256", secret: str = STRONG) -> str:
    """A JWT signed by hand, so short test secrets raise no PyJWT key-length warning."""
    header = b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    body = b64(json.dumps(claims).encode())
    signing_input = f"{header}.{body}".encode()
    digests = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}
    if alg.upper() in digests:
        signature = b64(hmac.new(secret.encode(), signing_input, digests[alg.upper()]).digest())
    else:
        signature = ""
    return f"{header}.{body}.{signature}"


GOOD = {"sub": "u1", "iss": "https://id.example", "iat": T0 - 60, "exp": T0 + 900}


class StaticFacts:
    def __init__(self, facts: EndpointFacts | None) -> None:
        self._facts = facts

    def facts(self, exchange: Exchange) -> EndpointFacts | None:
        return self._facts


def request(jwt: str, status: int | None = 200) -> Exchange:
    return make_exchange(
        "GET", "/orders", headers={"authorization": f"Bearer {jwt}"}, status=status
    )


def rules(findings: list[Finding]) -> dict[str, Finding]:
    return {f.rule_id: f for f in findings}


def assert_no_secret(findings: list[Finding], *secrets: str) -> None:
    for finding in findings:
        for value in finding.evidence.values():
            for secret in secrets:
                assert secret not in value


def test_a_well_formed_token_has_no_findings() -> None:
    assert check_jwt(request(token(GOOD)), CheckContext(jwt_secrets=("secret",))) == []


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
def test_unsigned_token_is_high(alg: str) -> None:
    jwt = token(GOOD, alg=alg)
    found = rules(check_jwt(request(jwt), CheckContext()))
    finding = found["jwt.alg-none"]
    assert finding.severity is Severity.HIGH
    assert finding.category == "API2:2023"
    assert finding.evidence["alg"] == alg
    assert_no_secret(list(found.values()), jwt)


def test_token_without_expiry() -> None:
    claims = {"sub": "u1"}
    [finding] = check_jwt(request(token(claims)), CheckContext())
    assert (finding.rule_id, finding.severity) == ("jwt.no-exp", Severity.MEDIUM)


def test_non_numeric_expiry_counts_as_none() -> None:
    found = rules(check_jwt(request(token({"sub": "u1", "exp": "tomorrow"})), CheckContext()))
    assert "jwt.no-exp" in found


def test_long_lived_token_grows_with_its_lifetime() -> None:
    context = CheckContext(jwt_max_lifetime=3600.0)
    week = {"iat": T0, "exp": T0 + 7 * 86400}
    [finding] = check_jwt(request(token(week)), context)
    assert (finding.rule_id, finding.severity) == ("jwt.long-lived", Severity.LOW)
    assert finding.evidence["lifetime_hours"] == "168"
    year = {"iat": T0, "exp": T0 + 365 * 86400}
    [finding] = check_jwt(request(token(year)), context)
    assert finding.severity is Severity.MEDIUM
    hour = {"iat": T0, "exp": T0 + 3600}
    assert check_jwt(request(token(hour)), context) == []


def test_a_lifetime_that_is_not_a_number_is_long_lived() -> None:
    """JSON parsers take `NaN`; a lifetime that cannot be shown short is reported."""
    [finding] = check_jwt(request(token({"iat": T0, "exp": float("nan")})), CheckContext())
    assert (finding.rule_id, finding.evidence["lifetime_hours"]) == ("jwt.long-lived", "nan")


@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512"])
def test_weak_secret_is_found_and_masked(alg: str) -> None:
    jwt = token(GOOD, alg=alg, secret="changeme")
    context = CheckContext(jwt_secrets=("secret", "changeme"))
    [finding] = check_jwt(request(jwt), context)
    assert (finding.rule_id, finding.severity) == ("jwt.weak-secret", Severity.HIGH)
    assert finding.evidence["secret"] == "ch…(8 chars)"
    assert_no_secret([finding], "changeme", jwt)


def test_empty_secret_is_always_tried() -> None:
    [finding] = check_jwt(request(token(GOOD, secret="")), CheckContext())
    assert finding.evidence["secret"] == "(empty)"


def test_strong_secret_is_not_reported() -> None:
    assert check_jwt(request(token(GOOD)), CheckContext(jwt_secrets=("secret",))) == []


def test_new_candidates_are_tried_against_a_cached_token() -> None:
    jwt = token(GOOD, secret="hunter2")
    assert check_jwt(request(jwt), CheckContext(jwt_secrets=("secret",))) == []
    assert len(check_jwt(request(jwt), CheckContext(jwt_secrets=("hunter2",)))) == 1


def test_the_built_in_list_finds_documentation_secrets() -> None:
    text = resources.files("apishield.checks.data").joinpath("jwt_weak_secrets.txt").read_text()
    secrets = parse_secret_list(text.splitlines())
    assert {"secret", "your-256-bit-secret", "changeme", "keyboard cat"} <= set(secrets)
    assert len(secrets) == len(set(secrets)) > 100
    assert not any(s.startswith("#") for s in secrets)
    jwt = token(GOOD, secret="your-256-bit-secret")
    [finding] = check_jwt(request(jwt), CheckContext(jwt_secrets=secrets))
    assert finding.rule_id == "jwt.weak-secret"


def test_parse_secret_list_keeps_lines_as_written() -> None:
    lines = ["# comment\n", "\n", "a b\r\n", " padded \n", "a b\n"]
    assert parse_secret_list(lines) == ("a b", " padded ")


def test_mask_shows_at_most_two_characters() -> None:
    assert mask("secret") == "s…(6 chars)"
    assert mask("abc") == "…(3 chars)"
    assert mask("your-256-bit-secret") == "yo…(19 chars)"


def test_sensitive_claims_are_named_without_values() -> None:
    claims = {
        **GOOD,
        "password": "hunter2",
        "profile": {"SSN": "078-05-1120", "card": "4111 1111 1111 1111"},
    }
    jwt = token(claims)
    [finding] = check_jwt(request(jwt), CheckContext())
    assert (finding.rule_id, finding.severity) == ("jwt.sensitive-claims", Severity.MEDIUM)
    assert finding.evidence["claims"] == "password, profile.SSN, profile.card"
    assert_no_secret([finding], "hunter2", "078-05-1120", "4111")


def test_timestamps_and_snowflake_ids_are_not_cards() -> None:
    claims = {**GOOD, "auth_ms": 1_700_000_000_123, "tweet": "1790000000000000007"}
    assert check_jwt(request(token(claims)), CheckContext()) == []


@pytest.mark.parametrize(
    "header",
    [
        "Basic dXNlcjpwYXNz",
        "Bearer opaque-token-value",
        "Bearer eyJhbGciOiJIUzI1NiJ9.not-base64!.x",
        "Bearer eyJub3QganNvbg.e30.",
        "Bearer eyJhbGciOiJIUzI1NiJ9.W10.sig",
        "Bearer ",
    ],
)
def test_other_credentials_and_broken_tokens_are_skipped(header: str) -> None:
    exchange = make_exchange("GET", "/", headers={"authorization": header})
    assert check_jwt(exchange, CheckContext()) == []
    assert check_jwt_accepted(exchange, CheckContext()) == []


def test_bearer_scheme_is_case_insensitive() -> None:
    jwt = token(GOOD)
    assert bearer_jwt({"authorization": f"bearer {jwt}"}) == jwt
    assert bearer_jwt({}) is None


def test_a_token_is_read_once(monkeypatch: pytest.MonkeyPatch) -> None:
    jwt = token({**GOOD, "jti": "once"})
    first = read_token(jwt)
    assert first is not None
    monkeypatch.setattr(jwt_checks, "_read", lambda _token: pytest.fail("read twice"))
    assert read_token(jwt) is first


def test_the_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jwt_checks, "CACHE_MAX", 4)
    monkeypatch.setattr(jwt_checks, "_readings", {})
    for n in range(10):
        read_token(token({**GOOD, "jti": str(n)}))
    assert 0 < len(jwt_checks._readings) <= 4
    assert all(len(key) == 16 for key in jwt_checks._readings)


REQUIRED = CheckContext(facts=StaticFacts(EndpointFacts(requires_auth=True)))
UNKNOWN = CheckContext()
PUBLIC = CheckContext(facts=StaticFacts(EndpointFacts(requires_auth=False)))
EXPIRED = {**GOOD, "iat": T0 - 7200, "exp": T0 - 3600}


def test_expired_token_accepted() -> None:
    [finding] = check_jwt_accepted(request(token(EXPIRED)), REQUIRED)
    assert (finding.rule_id, finding.severity) == ("jwt.expired-accepted", Severity.HIGH)
    assert finding.evidence["expired_seconds"] == "3600"
    assert finding.evidence["endpoint_auth"] == "required"
    [finding] = check_jwt_accepted(request(token(EXPIRED)), UNKNOWN)
    assert finding.severity is Severity.MEDIUM


def test_expired_token_refused_or_on_a_public_endpoint_is_fine() -> None:
    assert check_jwt_accepted(request(token(EXPIRED), status=401), REQUIRED) == []
    assert check_jwt_accepted(request(token(EXPIRED)), PUBLIC) == []
    assert check_jwt_accepted(request(token(EXPIRED), status=None), REQUIRED) == []


def test_clock_skew_is_allowed() -> None:
    skewed = {**GOOD, "exp": T0 - 30}
    assert check_jwt_accepted(request(token(skewed)), REQUIRED) == []


def test_unsigned_token_accepted_is_critical() -> None:
    jwt = token(GOOD, alg="none")
    [finding] = check_jwt_accepted(request(jwt), REQUIRED)
    assert (finding.rule_id, finding.severity) == ("jwt.unsigned-accepted", Severity.CRITICAL)
    [finding] = check_jwt_accepted(request(jwt), UNKNOWN)
    assert finding.severity is Severity.HIGH
    assert check_jwt_accepted(request(token(GOOD)), REQUIRED) == []

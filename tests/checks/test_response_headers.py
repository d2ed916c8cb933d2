from __future__ import annotations

import pytest

from apishield.checks.registry import CheckContext
from apishield.checks.response_headers import (
    check_cors,
    check_rate_limit_headers,
    check_security_headers,
    same_site,
)
from apishield.exchange import Exchange, Finding, Severity
from apishield.testing import make_exchange

HARDENED = {
    "content-type": "application/json",
    "strict-transport-security": "max-age=31536000",
    "x-content-type-options": "nosniff",
    "ratelimit-policy": "100;w=60",
}
BODY = b'{"ok": true}'


def response(
    headers: dict[str, str],
    *,
    status: int = 200,
    body: bytes | None = BODY,
    scheme: str = "https",
    request_headers: dict[str, str] | None = None,
) -> Exchange:
    exchange = make_exchange(
        "GET",
        "/v1/me",
        status=status,
        response_headers=headers,
        response_body=body,
        headers=request_headers,
    )
    exchange.request.scheme = scheme
    return exchange


def rule_ids(findings: list[Finding]) -> set[str]:
    return {f.rule_id for f in findings}


def test_a_hardened_json_response_passes() -> None:
    exchange = response(HARDENED)
    assert check_security_headers(exchange, CheckContext()) == []
    assert check_rate_limit_headers(exchange, CheckContext()) == []
    assert check_cors(exchange, CheckContext()) == []


def test_uncaptured_headers_are_not_judged() -> None:
    exchange = response({})
    assert check_security_headers(exchange, CheckContext()) == []
    assert check_rate_limit_headers(exchange, CheckContext()) == []


def test_missing_hardening_headers_are_low() -> None:
    findings = check_security_headers(response({"date": "x"}), CheckContext())
    assert rule_ids(findings) == {
        "headers.hsts-missing",
        "headers.nosniff-missing",
        "headers.content-type-missing",
    }
    assert {f.severity for f in findings} == {Severity.LOW}
    assert {f.category for f in findings} == {"API8:2023"}


def test_hsts_only_on_https() -> None:
    without = {k: v for k, v in HARDENED.items() if k != "strict-transport-security"}
    assert check_security_headers(response(without, scheme="http"), CheckContext()) == []
    found = check_security_headers(response(without, scheme="https"), CheckContext())
    assert rule_ids(found) == {"headers.hsts-missing"}


def test_nosniff_must_say_nosniff() -> None:
    findings = check_security_headers(
        response({**HARDENED, "x-content-type-options": "sniff"}), CheckContext()
    )
    assert rule_ids(findings) == {"headers.nosniff-missing"}


def test_bodyless_responses_need_no_content_headers() -> None:
    exchange = response({"strict-transport-security": "max-age=1"}, status=204, body=None)
    assert check_security_headers(exchange, CheckContext()) == []


def test_html_needs_csp_and_framing_protection() -> None:
    html = {**HARDENED, "content-type": "text/html; charset=utf-8"}
    found = rule_ids(check_security_headers(response(html), CheckContext()))
    assert found == {"headers.framing-missing", "headers.csp-missing"}
    framed = {**html, "content-security-policy": "default-src 'self'; frame-ancestors 'none'"}
    assert check_security_headers(response(framed), CheckContext()) == []
    csp_only = {**html, "content-security-policy": "default-src 'self'"}
    found = rule_ids(check_security_headers(response(csp_only), CheckContext()))
    assert found == {"headers.framing-missing"}


def test_405_without_allow_is_info() -> None:
    [finding] = check_security_headers(response(HARDENED, status=405), CheckContext())
    assert (finding.rule_id, finding.severity) == ("headers.allow-missing", Severity.INFO)
    allowed = response({**HARDENED, "allow": "GET, HEAD"}, status=405)
    assert check_security_headers(allowed, CheckContext()) == []


def test_rate_limit_headers_on_successful_api_answers() -> None:
    bare = {"content-type": "application/json"}
    [finding] = check_rate_limit_headers(response(bare), CheckContext())
    assert (finding.rule_id, finding.severity) == ("headers.rate-limit-missing", Severity.INFO)
    assert finding.category == "API4:2023"
    legacy = {**bare, "x-ratelimit-remaining": "99"}
    assert check_rate_limit_headers(response(legacy), CheckContext()) == []
    assert check_rate_limit_headers(response(bare, status=404), CheckContext()) == []
    html = {"content-type": "text/html"}
    assert check_rate_limit_headers(response(html), CheckContext()) == []


CREDENTIALED = {"access-control-allow-credentials": "true"}


@pytest.mark.parametrize(
    ("allow_origin", "origin", "rule", "severity"),
    [
        ("null", "null", "cors.null-origin", Severity.HIGH),
        ("*", "https://evil.example", "cors.wildcard-credentials", Severity.MEDIUM),
        ("https://evil.example", "https://evil.example", "cors.reflected-origin", Severity.MEDIUM),
    ],
)
def test_credentialed_cors_open_to_anyone(
    allow_origin: str, origin: str, rule: str, severity: Severity
) -> None:
    headers = {**CREDENTIALED, "access-control-allow-origin": allow_origin}
    exchange = response(headers, request_headers={"origin": origin})
    [finding] = check_cors(exchange, CheckContext())
    assert (finding.rule_id, finding.severity) == (rule, severity)


def test_cors_without_credentials_or_same_site_is_fine() -> None:
    wildcard = response({"access-control-allow-origin": "*"})
    assert check_cors(wildcard, CheckContext()) == []
    own = "https://app.example.com"
    same = response(
        {**CREDENTIALED, "access-control-allow-origin": own}, request_headers={"origin": own}
    )
    assert check_cors(same, CheckContext()) == []
    fixed = response(
        {**CREDENTIALED, "access-control-allow-origin": "https://partner.example"},
        request_headers={"origin": "https://evil.example"},
    )
    assert check_cors(fixed, CheckContext()) == []


def test_same_site() -> None:
    assert same_site("https://app.example.com", "api.example.com:443")
    assert same_site("https://www.shop.co.uk", "api.shop.co.uk")
    assert not same_site("https://evil.co.uk", "api.shop.co.uk")
    assert not same_site("https://example.com.evil.net", "api.example.com")
    assert not same_site("null", "api.example.com")

"""Weak bearer JWTs: unsigned, never expiring, long-lived, signed with a guessable secret, carrying
sensitive claims, and (after the answer) unsigned or expired tokens that were accepted.

A token is read once: its reading is cached under a digest of the token, so the cache holds no
usable token and a client's repeated token costs one dict lookup. The last Authorization value
read is also kept as it is (one value, like the request that carried it), so the response phase's
second look at a request's token, and a client's next request, cost one comparison. Tokens are
decoded by `jwt_tokens`, which actor resolution shares, so a new token is decoded once.
Nothing here verifies a token for the application; the signature is only tested against
guessable secrets, with `hmac` directly (a PyJWT round trip per candidate would cost ten times
more). Evidence never holds the token, a claim value, or more of a found secret than a short
prefix and its length.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from apishield.checks.auth import requires_auth
from apishield.checks.registry import CheckContext
from apishield.exchange import Exchange, Finding, Severity
from apishield.jwt_tokens import decode_unverified, token_digest

CACHE_MAX = 16_384
"""Readings kept; the cache is cleared when full, which is cheaper than an LRU."""
LEEWAY = 60.0
"""Seconds of clock skew allowed before an accepted token counts as expired."""
VERY_LONG = 30 * 86_400.0
"""A lifetime beyond this (30 days) raises a long-lived token from LOW to MEDIUM."""

_HASHES: dict[str, Callable[..., Any]] = {
    "HS256": hashlib.sha256,
    "HS384": hashlib.sha384,
    "HS512": hashlib.sha512,
}
_SENSITIVE_NAMES = frozenset(
    {
        "password", "passwd", "pwd", "pass", "passphrase", "secret", "clientsecret",
        "apisecret", "privatekey", "ssn", "socialsecuritynumber", "nationalid", "taxid",
        "creditcard", "creditcardnumber", "cardnumber", "ccnumber", "cc", "pan", "cvv", "cvc",
        "cvv2", "pin", "iban", "accountnumber", "bankaccount",
    }
)  # fmt: skip
"""Claim names, lower case without separators, that no token should carry: a JWT's payload is
only base64, readable by every party that sees the token."""
_WALK_MAX = 256
_CARD_LEADS = ("2", "30", "34", "35", "36", "37", "38", "4", "5", "60", "62", "64", "65")
"""Leading digits of the card networks (Mastercard 2-series and 5, Visa, Amex, Diners, JCB,
Discover, UnionPay)."""


@dataclass(slots=True)
class TokenReading:
    """What one token says about itself, independent of any configuration."""

    alg: str
    exp: float | None
    iat: float | None
    issuer: str
    sensitive: tuple[str, ...]
    """Dotted paths of sensitive claims (names only)."""
    signing_input: bytes
    signature: bytes
    weak_secret: str | None = None
    weak_tried: tuple[str, ...] | None = None
    """The candidate tuple `weak_secret` was found against; re-tested when the tuple changes."""

    @property
    def unsigned(self) -> bool:
        return self.alg.lower() == "none"


_readings: dict[bytes, TokenReading | None] = {}
_last: list[tuple[str | None, TokenReading | None]] = [(None, None)]
"""The last Authorization value read and its reading, as one tuple: the request and response
phases run on different threads in-line, and one assignment is never seen half done."""


def bearer_jwt(headers: Mapping[str, str]) -> str | None:
    """The JWT of an `Authorization: Bearer` header, or None."""
    value = headers.get("authorization")
    if not value or not (value.startswith("Bearer ") or value[:7].lower() == "bearer "):
        return None
    token = value[7:].strip()
    if not token.startswith("eyJ") or token.count(".") != 2:
        return None
    return token


def read_token(token: str) -> TokenReading | None:
    """The token's reading, cached; None for a token that does not decode."""
    key = token_digest(token)
    if key in _readings:
        return _readings[key]
    if len(_readings) >= CACHE_MAX:
        _readings.clear()
    reading = _readings[key] = _read(token, key)
    return reading


def bearer_reading(headers: Mapping[str, str]) -> TokenReading | None:
    """The reading of a request's bearer JWT, None without one; the last Authorization value
    seen is remembered with its reading, so a repeat costs one comparison."""
    value = headers.get("authorization")
    if value is None:
        return None
    last_value, last_reading = _last[0]
    if value == last_value:
        return last_reading
    token = bearer_jwt(headers)
    reading = read_token(token) if token is not None else None
    _last[0] = (value, reading)
    return reading


def _read(token: str, key: bytes) -> TokenReading | None:
    decoded = decode_unverified(token, key)  # shared with actor resolution: decoded once
    if decoded is None:
        return None
    claims = decoded.claims
    issuer = claims.get("iss")
    return TokenReading(
        alg=str(decoded.header.get("alg", "")),
        exp=_number(claims.get("exp")),
        iat=_number(claims.get("iat")),
        issuer=issuer[:100] if isinstance(issuer, str) else "",
        sensitive=tuple(_sensitive_claims(claims)),
        signing_input=token.rpartition(".")[0].encode("ascii", "replace"),
        signature=decoded.signature,
    )


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _sensitive_claims(claims: Mapping[str, Any], prefix: str = "", depth: int = 0) -> list[str]:
    found: list[str] = []
    for index, (name, value) in enumerate(claims.items()):
        if index >= _WALK_MAX:
            break
        path = f"{prefix}{name}"
        normal = str(name).lower().replace("_", "").replace("-", "").replace(" ", "")
        if normal in _SENSITIVE_NAMES or _is_card_number(value):
            found.append(path)
        elif isinstance(value, dict) and depth < 2:
            found.extend(_sensitive_claims(value, path + ".", depth + 1))
    return found


def _is_card_number(value: object) -> bool:
    """A 13-19 digit Luhn-valid number with a card network's leading digits, in any claim.

    Luhn alone passes one number in ten, and millisecond timestamps and snowflake IDs (13-19
    digits, starting with 1) would be cards; no card network issues numbers starting with 1.
    """
    if isinstance(value, str):
        if len(value) < 13:
            return False
    elif not isinstance(value, int) or isinstance(value, bool) or -(10**12) < value < 10**12:
        return False  # twelve digits at most, with or without a minus sign
    digits = str(value).replace(" ", "").replace("-", "")
    if not (13 <= len(digits) <= 19 and digits.isdigit() and digits.isascii()):
        return False
    if not digits.startswith(_CARD_LEADS):
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def weak_secret(reading: TokenReading, candidates: tuple[str, ...]) -> str | None:
    """The guessable secret an HMAC token is signed with, trying "" and `candidates` once."""
    if reading.weak_tried is candidates:
        return reading.weak_secret
    found = None
    keyed = _keyed(reading.alg.upper(), candidates)
    if keyed and len(reading.signature) == keyed[0][1].digest_size:
        for secret, prepared in keyed:
            mac = prepared.copy()
            mac.update(reading.signing_input)
            if hmac.compare_digest(mac.digest(), reading.signature):
                found = secret
                break
    reading.weak_secret, reading.weak_tried = found, candidates
    return found


_prepared: dict[tuple[str, tuple[str, ...]], list[tuple[str, hmac.HMAC]]] = {}


def _keyed(alg: str, candidates: tuple[str, ...]) -> list[tuple[str, hmac.HMAC]]:
    """HMAC objects keyed with each candidate, made once per list: a copy costs half a new one."""
    digest = _HASHES.get(alg)
    if digest is None:
        return []
    prepared = _prepared.get((alg, candidates))
    if prepared is None:
        if len(_prepared) >= 16:
            _prepared.clear()
        prepared = _prepared[alg, candidates] = [
            (secret, hmac.new(secret.encode("utf-8", "surrogatepass"), digestmod=digest))
            for secret in dict.fromkeys(("", *candidates))
        ]
    return prepared


def mask(secret: str) -> str:
    """A secret as evidence: at most a quarter of it (two characters at most) and its length."""
    if not secret:
        return "(empty)"
    return f"{secret[: min(2, len(secret) // 4)]}…({len(secret)} chars)"


def parse_secret_list(lines: Iterable[str]) -> tuple[str, ...]:
    """Candidate secrets from a list file's lines: one per line as written, `#` lines skipped."""
    secrets: dict[str, None] = {}
    for line in lines:
        secret = line.rstrip("\r\n")
        if secret and not secret.startswith("#"):
            secrets[secret] = None
    return tuple(secrets)


def check_jwt(exchange: Exchange, context: CheckContext) -> list[Finding]:
    """Request phase: weaknesses the token shows by itself."""
    reading = bearer_reading(exchange.request.headers)
    if reading is None:
        return []
    unsigned = reading.unsigned
    secret = None if unsigned else weak_secret(reading, context.jwt_secrets)
    if not (
        unsigned or secret is not None or reading.sensitive or _lifetime_flagged(reading, context)
    ):
        return []  # most tokens: nothing to report, so no evidence to build
    findings: list[Finding] = []
    evidence = _evidence(reading)
    if unsigned:
        findings.append(
            _finding("jwt.alg-none", "unsigned JWT (alg none)", Severity.HIGH, evidence)
        )
    elif secret is not None:
        findings.append(
            _finding(
                "jwt.weak-secret",
                "JWT signed with a guessable secret",
                Severity.HIGH,
                {**evidence, "secret": mask(secret)},
            )
        )
    findings.extend(_lifetime(reading, context, evidence))
    if reading.sensitive:
        findings.append(
            _finding(
                "jwt.sensitive-claims",
                "sensitive data in JWT claims",
                Severity.MEDIUM,
                {**evidence, "claims": ", ".join(reading.sensitive[:10])},
                category="API3:2023",
            )
        )
    return findings


def _lifetime_flagged(reading: TokenReading, context: CheckContext) -> bool:
    """Whether `_lifetime` finds anything."""
    if reading.exp is None:
        return True
    # Written as `_lifetime` tests it, so a NaN claim is flagged alike.
    return reading.iat is not None and not reading.exp - reading.iat <= context.jwt_max_lifetime


def _lifetime(
    reading: TokenReading, context: CheckContext, evidence: dict[str, str]
) -> list[Finding]:
    if reading.exp is None:
        return [_finding("jwt.no-exp", "JWT without expiry", Severity.MEDIUM, evidence)]
    if reading.iat is None:
        return []
    lifetime = reading.exp - reading.iat
    if lifetime <= context.jwt_max_lifetime:
        return []
    severity = Severity.MEDIUM if lifetime > VERY_LONG else Severity.LOW
    hours = {**evidence, "lifetime_hours": f"{lifetime / 3600:.0f}"}
    return [_finding("jwt.long-lived", "long-lived JWT", severity, hours)]


def check_jwt_accepted(exchange: Exchange, context: CheckContext) -> list[Finding]:
    """Response phase: an unsigned or expired token answered with success by an endpoint that
    needs credentials. Where that is unknown, one level lower: the endpoint may ignore tokens."""
    response = exchange.response
    if response is None or not 200 <= response.status < 300:
        return []
    reading = bearer_reading(exchange.request.headers)
    if reading is None:
        return []
    unsigned = reading.unsigned
    expired_by = exchange.started - reading.exp if reading.exp is not None else 0.0
    if not unsigned and expired_by <= LEEWAY:
        return []
    needed = requires_auth(context.facts.facts(exchange))
    if needed is False:
        return []
    evidence = {**_evidence(reading), "status": str(response.status)}
    evidence["endpoint_auth"] = "required" if needed else "unknown"
    if unsigned:
        severity = Severity.CRITICAL if needed else Severity.HIGH
        return [_finding("jwt.unsigned-accepted", "unsigned JWT accepted", severity, evidence)]
    evidence["expired_seconds"] = f"{expired_by:.0f}"
    severity = Severity.HIGH if needed else Severity.MEDIUM
    return [_finding("jwt.expired-accepted", "expired JWT accepted", severity, evidence)]


def _evidence(reading: TokenReading) -> dict[str, str]:
    evidence = {"alg": reading.alg[:20]}
    if reading.issuer:
        evidence["iss"] = reading.issuer
    return evidence


def _finding(
    rule_id: str,
    title: str,
    severity: Severity,
    evidence: dict[str, str],
    category: str = "API2:2023",
) -> Finding:
    return Finding(rule_id, title, severity, evidence, category)

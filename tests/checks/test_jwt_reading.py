"""Reading a JWT: the plain-token path gives what PyJWT gives, and the caches change nothing."""

from __future__ import annotations

import base64
import json
from typing import Any

import jwt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apishield import jwt_tokens
from apishield.checks import jwt_checks
from apishield.checks.jwt_checks import bearer_jwt, bearer_reading, read_token


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def pyjwt_parts(token: str) -> tuple[dict[str, Any], dict[str, Any], bytes] | None:
    try:
        decoded = jwt.decode_complete(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    return decoded["header"], decoded["payload"], decoded["signature"]


def pyjwt_read(token: str) -> jwt_checks.TokenReading | None:
    """The reading, built from PyJWT's own decoding."""
    parts = pyjwt_parts(token)
    if parts is None:
        return None
    header, claims, signature = parts
    issuer = claims.get("iss")
    return jwt_checks.TokenReading(
        alg=str(header.get("alg", "")),
        exp=jwt_checks._number(claims.get("exp")),
        iat=jwt_checks._number(claims.get("iat")),
        issuer=issuer[:100] if isinstance(issuer, str) else "",
        sensitive=tuple(jwt_checks._sensitive_claims(claims)),
        signing_input=token.rpartition(".")[0].encode("ascii", "replace"),
        signature=signature,
    )


def fresh(token: str) -> jwt_checks.TokenReading | None:
    """A reading with no cache of either kind: the decoding cache is emptied first, and the
    reading is built without the readings cache. (Emptying, not patching: in the compiled
    build one module's call to another does not look the name up.)"""
    jwt_tokens._cache.clear()
    return jwt_checks._read(token, jwt_tokens.token_digest(token))


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**25), max_value=10**25)
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
    | st.sampled_from(["4111111111111111", "4111 1111 1111 1111", "none", "HS256"]),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=8,
)
claim_names = st.sampled_from(
    ["sub", "exp", "iat", "iss", "password", "card", "Credit_Card", "kid"]
)
headers = st.fixed_dictionaries(
    {"alg": st.sampled_from(["HS256", "HS512", "none", "RS256", ""]) | json_values},
    optional={"typ": st.just("JWT"), "kid": json_values, "crit": json_values, "b64": json_values},
)
claims = st.dictionaries(claim_names | st.text(max_size=8), json_values, max_size=6)


def segment(draw: st.DrawFn, data: bytes) -> str:
    """A base64url segment, sometimes bent the ways PyJWT refuses or tolerates."""
    text = b64(data)
    bend = draw(st.sampled_from(["none"] * 6 + ["pad", "plus", "junk", "cut", "tail", "empty"]))
    if bend == "pad":
        return text + "=" * draw(st.integers(1, 3))
    if bend == "plus":
        return text.replace("-", "+").replace("_", "/")
    if bend == "junk":
        return text + draw(st.sampled_from(["!", "é", ".", " ", "\x00"]))
    if bend == "cut":
        return text[: draw(st.integers(0, max(len(text) - 1, 0)))]
    if bend == "tail" and text:
        last = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        return text[:-1] + draw(st.sampled_from(last))  # often not the canonical last character
    if bend == "empty":
        return ""
    return text


@st.composite
def tokens(draw: st.DrawFn) -> str:
    def dumped(value: object) -> bytes:
        shape = draw(st.sampled_from(["compact", "spaced", "utf16", "raw"]))
        if shape == "raw":
            return draw(st.binary(max_size=24))
        text = json.dumps(value, separators=(",", ":") if shape == "compact" else None)
        return text.encode("utf-16" if shape == "utf16" else "utf-8")

    parts = [
        segment(draw, dumped(draw(headers))),
        segment(draw, dumped(draw(claims))),
        segment(draw, draw(st.binary(max_size=64))),
    ]
    extra = draw(st.sampled_from(["", "", "", ".x", "."]))
    return ".".join(parts) + extra


@settings(max_examples=300, deadline=None)
@given(tokens())
def test_decoded_parts_are_pyjwts_parts(token: str) -> None:
    decoded = jwt_tokens.decode(token)
    parts = None if decoded is None else (decoded.header, decoded.claims, decoded.signature)
    assert parts == pyjwt_parts(token)


@settings(max_examples=300, deadline=None)
@given(tokens())
def test_a_reading_is_the_one_pyjwt_gives(token: str) -> None:
    assert fresh(token) == pyjwt_read(token)


def test_ordinary_tokens_are_read() -> None:
    token = jwt.encode({"sub": "u1", "exp": 1_900_000_000}, "k" * 32, algorithm="HS256")
    assert read_token(token) == pyjwt_read(token)
    kid = jwt.encode({"sub": "u1"}, "k" * 32, algorithm="HS256", headers={"kid": "a"})
    assert read_token(kid) == pyjwt_read(kid) is not None


@settings(max_examples=200, deadline=None)
@given(st.lists(tokens(), min_size=1, max_size=6), st.lists(st.integers(0, 5), max_size=30))
def test_cached_readings_equal_fresh_ones(pool: list[str], order: list[int]) -> None:
    """Any sequence of reads, through the last-token memo and the digest cache, gives what a
    fresh read gives, also while the cache is being emptied."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr(jwt_checks, "CACHE_MAX", 2)
        monkeypatch.setattr(jwt_checks, "_readings", {})
        for index in order:
            token = pool[index % len(pool)]
            assert read_token(token) == fresh(token)
            assert len(jwt_checks._readings) <= 2


def test_a_repeated_authorization_value_is_read_once(monkeypatch: pytest.MonkeyPatch) -> None:
    headers = {
        "authorization": "Bearer " + jwt.encode({"sub": "memo"}, "k" * 32, algorithm="HS256")
    }
    first = bearer_reading(headers)
    assert first is not None
    monkeypatch.setattr(jwt_checks, "read_token", lambda _token: pytest.fail("read again"))
    assert bearer_reading(dict(headers)) is first
    assert bearer_reading({}) is None


AUTHORIZATIONS = st.one_of(
    tokens().map(lambda token: "Bearer " + token),
    st.sampled_from(["", "Basic dXNlcjpwYXNz", "Bearer ", "bearer  eyJ.a.b", "Bearer eyJ", "x"]),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(AUTHORIZATIONS, min_size=1, max_size=4), st.lists(st.integers(0, 3), max_size=20))
def test_remembered_readings_equal_fresh_ones(pool: list[str], order: list[int]) -> None:
    for index in order:
        headers = {"authorization": pool[index % len(pool)]}
        token = bearer_jwt(headers)
        assert bearer_reading(headers) == (fresh(token) if token is not None else None)


def reference_card(value: object) -> bool:
    """The card test as it reads without the short-value shortcut."""
    if not isinstance(value, str | int) or isinstance(value, bool):
        return False
    digits = str(value).replace(" ", "").replace("-", "")
    if not (13 <= len(digits) <= 19 and digits.isdigit() and digits.isascii()):
        return False
    if not digits.startswith(jwt_checks._CARD_LEADS):
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


@given(
    st.integers(min_value=-(10**21), max_value=10**21)
    | st.text(alphabet="0123456789 -", max_size=24)
    | st.booleans()
    | st.floats()
    | st.sampled_from([4111111111111111, -4111111111111111, "4111-1111-1111-1111", 10**12])
)
def test_card_shortcut_changes_nothing(value: object) -> None:
    assert jwt_checks._is_card_number(value) == reference_card(value)

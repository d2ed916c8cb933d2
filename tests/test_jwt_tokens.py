from __future__ import annotations

import base64
import json
from typing import Any

import jwt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jwt.api_jws import PyJWS

from apishield import jwt_tokens as tokens
from apishield.jwt_tokens import DecodedToken, decode, decode_unverified, token_digest

SECRET = "token-test-secret-0123456789abcdef"


def _pyjwt(token: str) -> DecodedToken | None:
    """What PyJWT itself answers: the slow path `decode` must agree with."""
    try:
        found = jwt.decode_complete(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    return DecodedToken(found["header"], found["payload"], found["signature"])


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=6,
)
HEADERS = st.fixed_dictionaries(
    {"alg": st.sampled_from(["HS256", "RS256", "none"])},
    optional={
        "typ": st.just("JWT"),
        "kid": st.text(max_size=6) | st.integers(),
        "crit": st.lists(st.sampled_from(["b64", "exp"]), max_size=2) | st.integers(),
        "b64": st.booleans(),
    },
).map(_json)
CLAIMS = st.dictionaries(st.sampled_from(["sub", "exp", "iat", "iss", "aud"]), JSON_VALUES).map(
    _json
) | JSON_VALUES.map(_json)
SEGMENT_EDITS = st.sampled_from(["", "=", "==", "===", "!", "é", ".", "A", "AB", "%3D", " "])


PLAIN_HEADERS = st.fixed_dictionaries(
    {"alg": st.sampled_from(["HS256", "RS256", "none"])},
    optional={"typ": st.just("JWT"), "kid": st.text(max_size=6)},
).map(_json)
OBJECT_CLAIMS = st.dictionaries(st.sampled_from(["sub", "exp", "iat", "iss"]), JSON_VALUES)


@st.composite
def token_shapes(draw: st.DrawFn) -> str:
    """Tokens of every shape near the common one, which PyJWT may read or refuse."""
    parts = [
        _b64(draw(HEADERS)),
        _b64(draw(CLAIMS)) if draw(st.booleans()) else draw(st.text(max_size=12)),
        _b64(draw(st.binary(max_size=40))),
    ]
    for index in draw(st.lists(st.integers(0, 2), max_size=2)):
        parts[index] += draw(SEGMENT_EDITS)
    return ".".join(parts)


@st.composite
def common_tokens(draw: st.DrawFn) -> str:
    """Tokens of the common shape, which are decoded without PyJWT."""
    header, claims = draw(PLAIN_HEADERS), _json(draw(OBJECT_CLAIMS))
    return ".".join(_b64(part) for part in (header, claims, draw(st.binary(max_size=64))))


@settings(max_examples=600)
@given(token_shapes())
def test_decode_gives_what_pyjwt_gives(token: str) -> None:
    assert decode(token) == _pyjwt(token)


@settings(max_examples=300)
@given(common_tokens())
def test_common_tokens_are_read_without_pyjwt_as_pyjwt_reads_them(token: str) -> None:
    assert tokens._decode_plain(token) is not None
    assert decode(token) == _pyjwt(token)


@given(st.text(max_size=60))
def test_decode_of_any_text_gives_what_pyjwt_gives(token: str) -> None:
    try:
        expected = _pyjwt(token)
    except UnicodeError:  # lone surrogates: PyJWT cannot encode them, and neither side hides it
        return
    assert decode(token) == expected


def test_a_signed_token_reads_as_pyjwt_reads_it() -> None:
    token = jwt.encode({"sub": "alice", "exp": 1_900_000_000}, SECRET, algorithm="HS256")
    decoded = decode(token)
    assert decoded is not None and decoded.claims == {"sub": "alice", "exp": 1_900_000_000}
    assert decoded == _pyjwt(token)


def test_non_canonical_last_character_is_refused_as_pyjwt_refuses_it() -> None:
    token = jwt.encode({"sub": "alice"}, SECRET, algorithm="HS256")
    # 43 characters carry 258 bits for a 256-bit signature: "B" sets one of the two spare bits.
    head, _, signature = token.rpartition(".")
    tampered = f"{head}.{signature[:-1]}{'B' if signature[-1] == 'A' else 'A'}"
    assert decode(tampered) == _pyjwt(tampered)


def test_cached_answers_are_the_uncached_ones_and_keyed_by_digest() -> None:
    tokens._cache.clear()
    good = jwt.encode({"sub": "bob"}, SECRET, algorithm="HS256")
    bad = good + "!"
    for token in (good, bad, good, bad):
        assert decode_unverified(token) == decode(token)
    assert set(tokens._cache) == {token_digest(good), token_digest(bad)}
    assert decode_unverified(good, token_digest(good)) == decode(good)


def test_the_cache_is_bounded(monkeypatch: Any) -> None:
    monkeypatch.setattr(tokens, "CACHE_MAX", 4)
    tokens._cache.clear()
    for i in range(10):
        token = jwt.encode({"sub": f"user-{i}"}, SECRET, algorithm="HS256")
        decoded = decode_unverified(token)
        assert decoded is not None and decoded.claims["sub"] == f"user-{i}"
        assert len(tokens._cache) <= 4


@settings(max_examples=500)
@given(st.text(alphabet=tokens._ALPHABET + "=+/!", max_size=12))
def test_a_segment_decodes_only_as_pyjwt_decodes_it(segment: str) -> None:
    """Where a segment is decoded without PyJWT, PyJWT reads the same bytes from it."""
    fast = tokens._segment(segment)
    if fast is not None:
        assert PyJWS._decode_base64url_segment(segment.encode(), "payload") == fast
    elif "=" not in segment and len(segment) % 4 != 1:
        with pytest.raises(jwt.DecodeError):  # refused here: PyJWT refuses it too
            PyJWS._decode_base64url_segment(segment.encode(), "payload")

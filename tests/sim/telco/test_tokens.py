"""The API's own HS256 tokens are ordinary JWTs, and forgeries do not pass."""

from __future__ import annotations

import jwt

from apishield.sim.telco.tokens import AUDIENCE, TokenIssuer
from apishield.testing import T0

KEY = b"k" * 32


def test_tokens_decode_with_pyjwt() -> None:
    token = TokenIssuer(KEY).issue("40200001", int(T0), 3600)
    claims = jwt.decode(token, KEY, algorithms=["HS256"], audience=AUDIENCE, leeway=10**10)
    assert claims["sub"] == "40200001" and claims["exp"] - claims["iat"] == 3600


def test_subject_until_expiry_only() -> None:
    issuer = TokenIssuer(KEY)
    token = issuer.issue("7", int(T0), 60)
    assert issuer.subject(token, T0 + 59) == "7"
    assert issuer.subject(token, T0 + 60) is None
    fresh = TokenIssuer(KEY)  # never saw the token: verifies it from scratch
    assert fresh.subject(token, T0) == "7"


def test_forged_tokens_are_refused() -> None:
    mine = TokenIssuer(KEY)
    foreign = jwt.encode({"sub": "1", "exp": T0 + 60}, b"another-key-of-32-bytes-length!!", "HS256")
    none = jwt.encode({"sub": "1", "exp": T0 + 60}, None, algorithm="none")
    for token in (foreign, none, "not.a.token", "abc", "e30.e30.e30"):
        assert mine.subject(token, T0) is None

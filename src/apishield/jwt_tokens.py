"""Bearer JWTs read without verification, once per distinct token, for every part that reads them.

Actor resolution wants the identity claim, the JWT checks the header, the claims and the
signature; both call `decode_unverified`, so a token that reaches both is decoded once. The
answer is PyJWT's own (`jwt.decode_complete` with `verify_signature` off): the common shape,
canonical base64url segments under a plain header, is decoded here with `base64` and `json`
directly (PyJWT spends most of its time on option merging and a per-byte alphabet check), and
anything else goes to PyJWT itself. A test holds the two to the same answers.

Decoded tokens are cached under a digest of the token, never the token itself.
"""

from __future__ import annotations

import binascii
import hashlib
import json
from dataclasses import dataclass
from typing import Any

import jwt

CACHE_MAX = 256
"""Decoded tokens kept. Each caller keeps its own answers (an identity, a reading), so this only
bridges them: actor resolution and the checks read a request's token moments apart. Kept small,
as a decoded token holds its signature."""
_HEADERS_MAX = 256
"""Distinct header segments kept: one per issuer and key, a handful in practice."""
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_TO_STANDARD = bytes.maketrans(b"-_+/=", b"+/!!!")
_PADDING = (b"", b"", b"==", b"=")
_VALUES = {character: value for value, character in enumerate(_ALPHABET)}
_SPARE_BITS = (0, 0, 0b1111, 0b11)
"""Bits of the last character that an unpadded segment of 2 or 3 characters past a multiple
of 4 does not use: canonical base64url leaves them zero."""
_PLAIN_HEADER_KEYS = ("b64", "crit")
"""Header parameters that change how PyJWT reads a token; a header with one goes to PyJWT."""


@dataclass(frozen=True, slots=True)
class DecodedToken:
    """The parts of a JWT as PyJWT's unverified decoding gives them. Read them, do not change
    them: the same value is handed to every caller."""

    header: dict[str, Any]
    claims: dict[str, Any]
    signature: bytes


_cache: dict[bytes, DecodedToken | None] = {}
_headers: dict[str, dict[str, Any] | None] = {}


def token_digest(token: str) -> bytes:
    """The key tokens are cached under (BLAKE2b, 16 bytes): a token is a credential."""
    return hashlib.blake2b(token.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def decode_unverified(token: str, digest: bytes | None = None) -> DecodedToken | None:
    """`jwt.decode_complete(token, options={"verify_signature": False})`, or None where that
    raises a `jwt.PyJWTError`; cached. Pass `digest` (`token_digest`) if it is already known."""
    key = token_digest(token) if digest is None else digest
    if key in _cache:
        return _cache[key]
    decoded = decode(token)
    if len(_cache) >= CACHE_MAX:
        _cache.clear()
    _cache[key] = decoded
    return decoded


def decode(token: str) -> DecodedToken | None:
    """`decode_unverified` without the cache."""
    fast = _decode_plain(token) if token.isascii() else None
    if fast is not None:
        return fast
    try:
        found = jwt.decode_complete(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    return DecodedToken(found["header"], found["payload"], found["signature"])


def _decode_plain(token: str) -> DecodedToken | None:
    """The common shape, or None for anything PyJWT should judge (an invalid token included)."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    header_segment, payload_segment, signature_segment = parts
    header = _headers.get(header_segment)
    if header is None:
        header = _plain_header(header_segment)
        if header is None:
            return None
        if len(_headers) >= _HEADERS_MAX:
            _headers.clear()
        _headers[header_segment] = header
    payload = _segment(payload_segment)
    signature = _segment(signature_segment)
    if payload is None or signature is None:
        return None
    claims = _json_object(payload)
    if claims is None:
        return None
    return DecodedToken(dict(header), claims, signature)


def _plain_header(segment: str) -> dict[str, Any] | None:
    """A header PyJWT reads without special rules: no `b64` or `crit`, a `kid` (if any) text."""
    raw = _segment(segment)
    header = None if raw is None else _json_object(raw)
    if header is None or any(name in header for name in _PLAIN_HEADER_KEYS):
        return None
    if "kid" in header and not isinstance(header["kid"], str):
        return None
    return header


def _segment(segment: str) -> bytes | None:
    """Canonical unpadded base64url, which every PyJWT release decodes alike; else None."""
    rest = len(segment) % 4
    if rest == 1:
        return None
    # Strict decoding refuses anything outside the alphabet, and `+`, `/`, `=` become such.
    standard = segment.encode("ascii").translate(_TO_STANDARD) + _PADDING[rest]
    try:
        decoded = binascii.a2b_base64(standard, strict_mode=True)
    except binascii.Error:
        return None
    if rest and _VALUES[segment[-1]] & _SPARE_BITS[rest]:
        return None  # stray bits in the last character: PyJWT refuses that
    return decoded


def _json_object(raw: bytes) -> dict[str, Any] | None:
    """A JSON object as PyJWT parses it (`json.loads` of the bytes); else None."""
    try:
        if raw[:1] == b"{" and b"\x00" not in raw[:4]:
            # The encoding `json.loads` detects for such bytes: UTF-8, decoded as it decodes it.
            value = json.loads(raw.decode("utf-8", "surrogatepass"))
        else:
            value = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None

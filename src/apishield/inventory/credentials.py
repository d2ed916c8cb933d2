"""Value checks for secrets: JWTs, private keys, API keys and passwords.

Well-known key formats are recognised anywhere because their prefixes were designed to be scanned
for; a key of unknown format is only recognised under a secret-like field name, and only when the
value is random-looking enough that it cannot be a flag, a placeholder or an enum value.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections import Counter

import orjson

JWT = re.compile(r"eyJ[A-Za-z0-9_-]{2,8192}\.[A-Za-z0-9_-]{2,16384}\.[A-Za-z0-9_-]{0,8192}")
PRIVATE_KEY = re.compile(r"-----BEGIN (?:[A-Z0-9]{1,12} ){0,3}PRIVATE KEY(?: BLOCK)?-----")
_KEY_FORMATS = (
    ("sk_", r"sk_(?:live|test)_[0-9A-Za-z]{16,247}"),  # Stripe secret keys
    ("rk_", r"rk_(?:live|test)_[0-9A-Za-z]{16,247}"),  # Stripe restricted keys
    ("AKIA", r"AKIA[A-Z0-9]{16}"),  # AWS access key IDs
    ("ASIA", r"ASIA[A-Z0-9]{16}"),  # AWS temporary access key IDs
    ("gh", r"gh[pousr]_[A-Za-z0-9]{36,251}"),  # GitHub tokens
    ("github_pat_", r"github_pat_[A-Za-z0-9_]{22,244}"),
    ("xox", r"xox[abposr]-[A-Za-z0-9-]{10,250}"),  # Slack
    ("AIza", r"AIza[0-9A-Za-z_-]{35}"),  # Google API keys
    ("glpat-", r"glpat-[0-9A-Za-z_-]{20,250}"),  # GitLab
    ("SG.", r"SG\.[0-9A-Za-z_-]{22}\.[0-9A-Za-z_-]{43}"),  # SendGrid
    ("npm_", r"npm_[A-Za-z0-9]{36}"),  # npm
    ("sk-", r"sk-(?:proj-|ant-(?:api|admin)\d\d-)?[A-Za-z0-9_-]{32,250}"),  # OpenAI, Anthropic
    ("shp", r"shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}"),  # Shopify
    ("sq0", r"sq0(?:atp|csp)-[0-9A-Za-z_-]{22,60}"),  # Square
)
KEY_FORMATS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (prefix, re.compile(pattern, re.ASCII)) for prefix, pattern in _KEY_FORMATS
)
"""Key formats whose vendors chose a fixed prefix so leaked keys can be found: (prefix, pattern).
Each pattern starts with its literal prefix, which lets the regex engine skip ahead to it."""
_KEYS_BY_FIRST_CHAR: dict[str, tuple[tuple[str, re.Pattern[str]], ...]] = {
    first: tuple(f for f in KEY_FORMATS if f[0][0] == first)
    for first in {p[0] for p, _ in _KEY_FORMATS}
}
KEY_FIRST_CHARS = frozenset(_KEYS_BY_FIRST_CHAR)

_KEY_CHARS = re.compile(r"[A-Za-z0-9+/=_.~:-]{16,4096}", re.ASCII)
_MASKS = frozenset("*•xX#-_.")
_PLACEHOLDERS = frozenset({"null", "none", "redacted", "[redacted]", "<redacted>", "[filtered]"})
_AUTH_SCHEMES = ("Bearer ", "bearer ", "Token ", "token ")
_MIN_BITS_PER_CHAR = 3.0


def is_jwt(value: str) -> bool:
    """Three base64url parts whose header is a JSON object naming its algorithm."""
    if not value.startswith("eyJ") or JWT.fullmatch(value) is None:
        return False
    header = value[: value.index(".")]
    try:
        decoded = orjson.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
    except (binascii.Error, ValueError):
        return False
    return isinstance(decoded, dict) and isinstance(decoded.get("alg"), str)


def is_private_key(value: str) -> bool:
    return "-----BEGIN" in value and PRIVATE_KEY.search(value) is not None


def is_known_key(value: str) -> bool:
    for prefix, pattern in _KEYS_BY_FIRST_CHAR.get(value[:1], ()):
        if value.startswith(prefix) and pattern.fullmatch(value) is not None:
            return True
    return False


def without_scheme(value: str) -> str:
    """Authorization values carry the scheme; the credential is what follows it."""
    for scheme in _AUTH_SCHEMES:
        if value.startswith(scheme):
            return value[len(scheme) :].strip()
    return value


def is_random_secret(value: str) -> bool:
    """16+ token characters mixing letters and digits with at least 3 bits of entropy a character:
    UUIDs, hex digests and base64 keys pass; "not-configured" and "aaaa..." do not."""
    value = without_scheme(value)
    if _KEY_CHARS.fullmatch(value) is None:
        return False
    if not any(c.isdigit() for c in value) or not any(c.isalpha() for c in value):
        return False
    return entropy(value) >= _MIN_BITS_PER_CHAR


def entropy(value: str) -> float:
    """Shannon entropy in bits a character."""
    size = len(value)
    return -sum(n / size * math.log2(n / size) for n in Counter(value).values())


def is_password(value: str) -> bool:
    """Any set value counts, hashed or not; masks ("********") and placeholders do not."""
    value = value.strip()
    if not value or len(value) > 1024 or value.lower() in _PLACEHOLDERS:
        return False
    return len(value) < 3 or not set(value) <= _MASKS

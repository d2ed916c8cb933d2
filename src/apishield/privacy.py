"""Keyed hashing and masking, so nothing apishield keeps can be turned back into a secret."""

from __future__ import annotations

import hashlib
import hmac

from apishield.exchange import MaskedSecret

_PREFIX_MAX = 6


class Hasher:
    """HMAC-SHA256 with the install secret: equal inputs give equal digests, across restarts."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError(
                f"the install secret is {len(key)} bytes; it must be at least 16. "
                "Delete the secret file to have a new one created."
            )
        self._keyed = hmac.new(key, digestmod=hashlib.sha256)

    def digest(self, value: str) -> str:
        # A copy of the keyed state skips hashing the padded key twice per value.
        mac = self._keyed.copy()
        mac.update(value.encode("utf-8", "surrogatepass"))
        return mac.hexdigest()

    def short(self, value: str) -> str:
        """16 hex digits: enough to tell object IDs apart, short enough to keep by the million."""
        return self.digest(value)[:16]

    def pseudonym(self, value: str) -> str:
        """An identity or client address as shown where the config hashes them (`identity.
        hash_identities`, `hash_ips`): "h:" and its short keyed hash."""
        return "h:" + self.short(value)

    def mask(self, secret: str) -> MaskedSecret:
        """Keep a prefix short enough to be useless to an attacker: a quarter of it, six at most."""
        visible = min(_PREFIX_MAX, len(secret) // 4)
        return MaskedSecret(prefix=secret[:visible], digest=self.digest(secret))

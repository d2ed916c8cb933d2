from __future__ import annotations

import pytest

from apishield.privacy import Hasher

KEY = b"k" * 32


def test_digest_is_keyed_and_stable() -> None:
    assert Hasher(KEY).digest("x") == Hasher(KEY).digest("x")
    assert Hasher(KEY).digest("x") != Hasher(b"j" * 32).digest("x")
    assert len(Hasher(KEY).short("40213377")) == 16


def test_mask_keeps_a_short_prefix_only() -> None:
    secret = "sk_live_51Habcdefghijklmnopqrstuvwxyz"
    masked = Hasher(KEY).mask(secret)
    assert masked.prefix == "sk_liv"
    assert secret not in str(masked) and secret not in repr(masked)
    assert Hasher(KEY).mask("abcd").prefix == "a"
    assert Hasher(KEY).mask("abc").prefix == ""


def test_short_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 16"):
        Hasher(b"short")

from __future__ import annotations

import pytest

from apishield.limits import canonical_ip


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("203.0.113.9", "203.0.113.9"),
        ("::ffff:203.0.113.9", "203.0.113.9"),  # an IPv4 client on a dual-stack socket
        ("::FFFF:7f00:1", "127.0.0.1"),
        ("2001:DB8:0:0::1", "2001:db8::1"),
        ("203.0.113.9:5555", "203.0.113.9"),  # a port some proxies write into X-Forwarded-For
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("unknown", "unknown"),
        ("not:an:address", "not:an:address"),
    ],
)
def test_every_spelling_of_an_address_is_the_one_blocks_are_keyed_on(
    text: str, canonical: str
) -> None:
    assert canonical_ip(text) == canonical

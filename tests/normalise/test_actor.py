from __future__ import annotations

import base64
from ipaddress import ip_address, ip_network

import jwt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apishield.config import IdentityConfig
from apishield.exchange import Actor
from apishield.jwt_tokens import decode_unverified
from apishield.normalise.actor import ActorResolver, JwtReader, _forwarded_for
from apishield.privacy import Hasher
from apishield.testing import make_exchange

HASHER = Hasher(b"s" * 32)
LB = [ip_network("10.0.0.0/8")]


def resolve(
    headers: dict[str, str] | None = None,
    *,
    peer: str = "10.0.0.5",
    query: str = "",
    config: IdentityConfig | None = None,
    reader: JwtReader | None = None,
) -> Actor:
    resolver = ActorResolver(
        config or IdentityConfig(trusted_proxies=LB), HASHER, reader or JwtReader()
    )
    exchange = make_exchange(headers=headers, peer_ip=peer, query=query)
    resolver(exchange)
    assert exchange.actor is not None
    return exchange.actor


def test_rightmost_untrusted_hop_of_x_forwarded_for() -> None:
    # The client forged the first entry; the proxy appended the real address.
    actor = resolve({"x-forwarded-for": "1.2.3.4, 198.51.100.9, 10.1.1.1"})
    assert actor.ip == "198.51.100.9"


def test_untrusted_peer_cannot_set_its_ip() -> None:
    actor = resolve({"x-forwarded-for": "1.2.3.4"}, peer="203.0.113.50")
    assert actor.ip == "203.0.113.50"


def test_no_trusted_proxies_means_the_peer() -> None:
    actor = resolve({"x-forwarded-for": "1.2.3.4"}, config=IdentityConfig())
    assert actor.ip == "10.0.0.5"


RFC7239 = IdentityConfig(trusted_proxies=LB, forwarded_header="forwarded")


def test_forwarded_header_with_ports_and_ipv6() -> None:
    forwarded = 'for="[2001:db8::1]:4711";proto=https, for=10.0.0.9'
    assert resolve({"forwarded": forwarded}, config=RFC7239).ip == "2001:db8::1"
    actor = resolve({"forwarded": "for=198.51.100.17:5000"}, config=RFC7239)
    assert actor.ip == "198.51.100.17"


def test_a_client_cannot_choose_its_address_with_the_header_the_proxy_leaves_alone() -> None:
    # The trusted proxy appended the peer it saw to X-Forwarded-For and passed the client's
    # own Forwarded header through untouched: that header names whoever the client likes.
    headers = {"forwarded": "for=198.51.100.7", "x-forwarded-for": "203.0.113.9"}
    assert resolve(headers).ip == "203.0.113.9"
    assert resolve({"forwarded": "for=198.51.100.7"}).ip == "10.0.0.5"
    # And the other way round, behind a proxy that writes Forwarded.
    headers = {"forwarded": "for=203.0.113.9", "x-forwarded-for": "198.51.100.7"}
    assert resolve(headers, config=RFC7239).ip == "203.0.113.9"
    assert resolve({"x-forwarded-for": "198.51.100.7"}, config=RFC7239).ip == "10.0.0.5"


def test_all_hops_trusted_gives_the_leftmost() -> None:
    assert resolve({"x-forwarded-for": "10.9.9.9, 10.0.0.1"}).ip == "10.9.9.9"


@pytest.mark.parametrize(
    ("xff", "ip"),
    [("198.51.100.9", "198.51.100.9"), (" 10.9.9.9 ", "10.9.9.9"), (" ", "10.0.0.5")],
)
def test_a_single_hop_is_the_client_trusted_or_not(xff: str, ip: str) -> None:
    """One hop is read without splitting; it must agree with the rule for several hops."""
    assert resolve({"x-forwarded-for": xff}).ip == ip
    assert resolve({"x-forwarded-for": f"{xff},"}).ip == ip


def test_jwt_sub_read_unverified_without_a_key() -> None:
    token = jwt.encode(
        {"sub": "customer-42"}, "whatever-secret-value-000000000000", algorithm="HS256"
    )
    actor = resolve({"authorization": f"Bearer {token}"})
    assert (actor.identity, actor.identity_source, actor.jwt_verified) == (
        "customer-42",
        "jwt",
        False,
    )
    assert actor.auth_scheme == "bearer"
    assert actor.key == "id:customer-42"


def test_jwt_verified_with_a_key_and_rejected_when_forged() -> None:
    key = "correct-horse-battery-staple-0123456789"
    reader = JwtReader(key=key.encode(), algorithms=["HS256"])
    good = jwt.encode({"sub": "alice"}, key, algorithm="HS256")
    forged = jwt.encode({"sub": "admin"}, "another-key-entirely-0123456789abc", algorithm="HS256")
    assert resolve({"authorization": f"Bearer {good}"}, reader=reader).jwt_verified is True
    actor = resolve({"authorization": f"Bearer {forged}"}, reader=reader)
    assert actor.identity is None
    assert actor.api_key is not None and forged not in str(actor.api_key)


def test_basic_user_without_the_password() -> None:
    credentials = base64.b64encode(b"bob:hunter2").decode()
    actor = resolve({"authorization": f"Basic {credentials}"})
    assert (actor.identity, actor.identity_source) == ("bob", "basic")
    assert "hunter2" not in repr(actor)


def test_opaque_bearer_and_api_key_are_masked() -> None:
    secret = "pk_live_0123456789abcdef0123456789"
    for headers, query in (({"x-api-key": secret}, ""), ({}, f"api_key={secret}")):
        actor = resolve(headers, query=query)
        assert actor.auth_scheme == "api_key"
        assert actor.api_key is not None
        assert secret not in repr(actor)
        assert actor.api_key.digest == HASHER.digest(secret)
    bearer = resolve({"authorization": "Bearer opaque-token-value-123456"})
    assert bearer.auth_scheme == "bearer" and bearer.api_key is not None


def test_session_cookie_is_hashed() -> None:
    actor = resolve({"cookie": "theme=dark; SESSIONID=abc123secret; x=1"})
    assert actor.session == HASHER.short("abc123secret")
    assert actor.auth_scheme == "cookie"
    assert "abc123secret" not in repr(actor)


def test_unauthenticated_request() -> None:
    actor = resolve({"user-agent": "curl/8.5"})
    assert actor.auth_scheme is None and actor.identity is None
    assert actor.key == "ip:10.0.0.5"
    assert actor.user_agent == "curl/8.5"


def test_identities_and_ips_can_be_hashed() -> None:
    config = IdentityConfig(hash_identities=True, hash_ips=True)
    credentials = base64.b64encode(b"bob:pw").decode()
    actor = resolve({"authorization": f"Basic {credentials}"}, peer="198.51.100.1", config=config)
    assert actor.identity == "h:" + HASHER.short("bob")
    assert actor.ip == "h:" + HASHER.short("198.51.100.1")
    assert actor.address == actor.client_ip == "198.51.100.1"  # for lists, in memory only
    plain = resolve({}, peer="198.51.100.1")
    assert (plain.ip, plain.client_ip, plain.address) == ("198.51.100.1", "", "198.51.100.1")


def test_hostile_headers_do_not_raise() -> None:
    for value in (
        "Bearer eyJ.eyJ.x",
        "Basic !!!",
        "Basic " + base64.b64encode(b"\xff\xfe").decode(),
        "",
        " ",
    ):
        resolve(
            {"authorization": value, "x-forwarded-for": ",,, ,[::1", "forwarded": 'for="[broken'}
        )


def test_ipv4_fast_path_agrees_with_ipaddress() -> None:
    config = IdentityConfig(trusted_proxies=[ip_network("10.0.0.0/8"), ip_network("192.0.2.0/24")])
    for hop, trusted in (
        ("10.255.255.255", True),
        ("11.0.0.1", False),
        ("192.0.2.200", True),
        ("192.0.3.1", False),
        ("010.0.0.1", False),  # leading zeros are octal to some parsers: never trusted
        ("10.0.0.256", False),
        ("10.0.0", False),
        ("١٠.0.0.1", False),  # non-ASCII digits are not an address
    ):
        actor = resolve({"x-forwarded-for": f"198.51.100.4, {hop}"}, config=config)
        assert actor.ip == ("198.51.100.4" if trusted else hop), hop


HOPS = st.sampled_from(
    ["10.1.2.3", "10.9.9.9", "198.51.100.9", "203.0.113.5", "2001:db8::1", "unknown", "", " "]
)


def _reference_client(peer: str, trail: str | None, rfc7239: bool) -> str:
    """The rule as documented, walked every time: in the configured header, the rightmost hop
    not of a trusted proxy, else the leftmost hop, else the peer."""
    if ip_address(peer) not in LB[0]:
        return peer
    if rfc7239:
        hops = _forwarded_for(trail) if trail else []
    else:
        hops = [hop.strip() for hop in trail.split(",")] if trail else []

    def trusted(hop: str) -> bool:
        try:
            return ip_address(hop) in LB[0]
        except ValueError:
            return False

    for hop in reversed(hops):
        if hop and not trusted(hop):
            return hop
    return next((hop for hop in hops if hop), peer)


@settings(max_examples=300)
@given(
    st.sampled_from(["10.0.0.5", "203.0.113.50"]),
    st.none() | st.lists(HOPS, max_size=4).map(lambda hops: ", ".join(f"for={h}" for h in hops)),
    st.none() | st.lists(HOPS, max_size=4).map(",".join),
    st.booleans(),
)
def test_remembered_clients_are_the_ones_the_rule_gives(
    peer: str, forwarded: str | None, xff: str | None, rfc7239: bool
) -> None:
    config = RFC7239 if rfc7239 else IdentityConfig(trusted_proxies=LB)
    resolver = ActorResolver(config, HASHER, JwtReader())
    headers = {name: value for name, value in (("forwarded", forwarded), ("x-forwarded-for", xff))}
    headers = {name: value for name, value in headers.items() if value is not None}
    expected = _reference_client(peer, forwarded if rfc7239 else xff, rfc7239)
    assert resolver.client_ip(peer, headers) == expected
    assert resolver.client_ip(peer, headers) == expected  # the second answer is remembered


def test_jwt_identities_come_from_the_shared_decoder() -> None:
    token = jwt.encode({"sub": "carol"}, "whatever-secret-value-000000000000", algorithm="HS256")
    decoded = decode_unverified(token)
    assert decoded is not None
    assert JwtReader().identity(token) == (decoded.claims["sub"], False)
    assert JwtReader().identity(token + "!") == (None, False)


def test_hashed_identities_are_remembered_not_recomputed_differently() -> None:
    config = IdentityConfig(hash_identities=True, hash_ips=True)
    resolver = ActorResolver(config, HASHER, JwtReader())
    for _ in range(3):
        for user, peer in (("bob", "198.51.100.1"), ("eve", "198.51.100.2")):
            credentials = base64.b64encode(f"{user}:pw".encode()).decode()
            exchange = make_exchange(
                headers={"authorization": f"Basic {credentials}"}, peer_ip=peer
            )
            resolver(exchange)
            assert exchange.actor is not None
            assert exchange.actor.identity == "h:" + HASHER.short(user)
            assert exchange.actor.ip == "h:" + HASHER.short(peer)


def test_an_ipv4_client_on_a_dual_stack_socket_is_its_ipv4_address() -> None:
    actor = resolve(peer="::ffff:203.0.113.9", config=IdentityConfig())
    assert actor.ip == "203.0.113.9"
    forwarded = resolve({"x-forwarded-for": "2001:DB8:0:0::1"})
    assert forwarded.ip == "2001:db8::1"


@pytest.mark.parametrize(
    ("peer", "headers", "expected"),
    [
        # A client talking to the app itself claims whatever it likes: not believed.
        ("203.0.113.50", {"x-forwarded-proto": "https"}, ""),
        ("10.0.0.5", {"x-forwarded-proto": "HTTPS"}, "https"),
        ("10.0.0.5", {}, ""),
        # The trusted proxy appended what it saw after the client's own claim.
        ("10.0.0.5", {"x-forwarded-proto": "https, http"}, "http"),
        # Two appending proxies: the client's scheme is as far from the right as its address.
        (
            "10.0.0.5",
            {"x-forwarded-proto": "http, https, http", "x-forwarded-for": "198.51.100.9, 10.0.0.7"},
            "https",
        ),
        # Proxies that set one value rather than append: that value, however many hops.
        (
            "10.0.0.5",
            {"x-forwarded-proto": "https", "x-forwarded-for": "1.2.3.4, 10.0.0.7"},
            "https",
        ),
        # The header of the other kind is never read: proxies writing one pass the other on.
        ("10.0.0.5", {"forwarded": "for=198.51.100.9;proto=https"}, ""),
    ],
)
def test_forwarded_proto_is_believed_only_from_a_trusted_proxy(
    peer: str, headers: dict[str, str], expected: str
) -> None:
    assert resolve(headers, peer=peer).forwarded_proto == expected


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("203.0.113.50", "for=198.51.100.9;proto=https", ""),
        ("10.0.0.5", "for=198.51.100.9;proto=https", "https"),
        # The client's forged element is left of the one the trusted proxy wrote.
        ("10.0.0.5", 'for=1.2.3.4;proto=https, for="198.51.100.9:5000";proto=http', "http"),
        ("10.0.0.5", "for=198.51.100.9;proto=HTTPS, for=10.0.0.7;proto=http", "https"),
        ("10.0.0.5", "for=198.51.100.9", ""),
    ],
)
def test_rfc7239_proto_is_the_clients_hop(peer: str, forwarded: str, expected: str) -> None:
    headers = {"forwarded": forwarded, "x-forwarded-proto": "https"}
    assert resolve(headers, peer=peer, config=RFC7239).forwarded_proto == expected


def test_without_trusted_proxies_no_forwarded_proto_is_believed() -> None:
    actor = resolve({"x-forwarded-proto": "https"}, config=IdentityConfig())
    assert actor.forwarded_proto == ""

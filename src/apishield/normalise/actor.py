"""Who sent a request: the client IP and scheme behind trusted proxies, and the identity or key
it used.

Secrets never leave this module whole: API keys and opaque tokens become a masked prefix and a
keyed hash, session cookies a keyed hash, Basic passwords nothing at all.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
from collections.abc import Iterable, Mapping
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from typing import Any
from urllib.parse import parse_qsl

import jwt

from apishield.config import IdentityConfig
from apishield.exchange import Actor, Exchange, MaskedSecret
from apishield.jwt_tokens import decode_unverified
from apishield.limits import canonical_ip
from apishield.privacy import Hasher

_CACHE_MAX = 65_536
_HOPS_MAX = 16_384
"""Forwarding headers with several hops whose client is remembered."""
Network = IPv4Network | IPv6Network
_AuthReading = tuple[str | None, str | None, str | None, bool, MaskedSecret | None]
_NO_CREDENTIALS: _AuthReading = (None, None, None, False, None)


class _BoundedCache(dict[Any, Any]):
    """A dict that forgets everything when full: cheaper than an LRU, and tokens recur in bursts."""

    def __init__(self, limit: int = _CACHE_MAX) -> None:
        super().__init__()
        self._limit = limit

    def put(self, key: Any, value: Any) -> Any:
        if len(self) >= self._limit:
            self.clear()
        self[key] = value
        return value


class JwtReader:
    """Reads the identity claim of a bearer JWT, verifying it only when a key is configured."""

    def __init__(
        self,
        *,
        key: Any = None,
        algorithms: Iterable[str] = (),
        audience: str | None = None,
        claim: str = "sub",
    ) -> None:
        self._key = key
        self._algorithms = list(algorithms)
        self._audience = audience
        self._claim = claim
        self._cache = _BoundedCache()

    @property
    def verifies(self) -> bool:
        return self._key is not None

    def identity(self, token: str) -> tuple[str | None, bool]:
        """(identity, verified). Without a key the claim is read but marked unverified."""
        cached = self._cache.get(token)
        if cached is None:
            cached = self._cache.put(token, self._read(token))
        result: tuple[str | None, bool] = cached
        return result

    def _read(self, token: str) -> tuple[str | None, bool]:
        if self._key is None:
            decoded = decode_unverified(token)
            return (None if decoded is None else _claim(decoded.claims, self._claim)), False
        try:
            key = self._key
            if isinstance(key, jwt.PyJWKSet):
                kid = jwt.get_unverified_header(token).get("kid")
                key = next((k.key for k in key.keys if k.key_id == kid or kid is None), None)
                if key is None:
                    return None, False
            claims = jwt.decode(
                token,
                key,
                algorithms=self._algorithms,
                audience=self._audience,
                options={"verify_aud": self._audience is not None},
            )
            return _claim(claims, self._claim), True
        except jwt.PyJWTError:
            return None, False


def _claim(claims: Mapping[str, Any], name: str) -> str | None:
    value = claims.get(name)
    return None if value is None else str(value)


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2 and token.startswith("eyJ")


class ActorResolver:
    """The normalise stage that fills `exchange.actor`."""

    name = "actor"

    def __init__(self, config: IdentityConfig, hasher: Hasher, jwt_reader: JwtReader) -> None:
        self._trusted: tuple[Network, ...] = tuple(config.trusted_proxies)
        self._forwarded_header = config.forwarded_header
        self._rfc7239 = config.forwarded_header == "forwarded"
        self._trusted_v4 = tuple(
            (int(n.network_address), int(n.netmask)) for n in self._trusted if n.version == 4
        )
        self._v4_prefixes = _octet_prefixes(self._trusted)
        self._key_headers = tuple(h.lower() for h in config.api_key_headers)
        self._key_params = frozenset(config.api_key_query_params)
        self._session_cookies = frozenset(c.lower() for c in config.session_cookies)
        self._hash_identities = config.hash_identities
        self._hash_ips = config.hash_ips
        self._hasher = hasher
        self._jwt = jwt_reader
        self._masks = _BoundedCache()
        self._auth_cache = _BoundedCache()
        self._trust_cache = _BoundedCache()
        self._hop_cache = _BoundedCache(_HOPS_MAX)
        self._pseudonyms = _BoundedCache()

    def __call__(self, exchange: Exchange) -> None:
        request = exchange.request
        headers = request.headers
        authorization = headers.get("authorization")
        reading: _AuthReading = _NO_CREDENTIALS
        if authorization:
            cached = self._auth_cache.get(authorization)
            if cached is None:
                cached = self._auth_cache.put(authorization, self._authorization(authorization))
            reading = cached
        scheme, identity, source, verified, key = reading
        # Positional, every field at once: keywords and later assignments cost more.
        ip = self.client_ip(request.peer_ip, headers)
        if ":" in ip:
            ip = canonical_ip(ip)
        actor = Actor(
            ip,
            identity,
            source,
            key,
            None,
            scheme,
            verified,
            headers.get("user-agent", ""),
            "",
            self.forwarded_proto(request.peer_ip, headers) if self._trusted else "",
        )
        if scheme is None:
            self._api_key(actor, headers, request.query)
        if self._session_cookies:
            cookie = headers.get("cookie")
            if cookie:
                self._session(actor, cookie)
        if self._hash_identities and actor.identity is not None:
            actor.identity = self._pseudonym(actor.identity)
        if self._hash_ips:
            actor.client_ip = actor.ip
            actor.ip = self._pseudonym(actor.ip)
        exchange.actor = actor

    def _pseudonym(self, value: str) -> str:
        """Identities and addresses as keyed hashes; they recur, so each is hashed once."""
        cached: str | None = self._pseudonyms.get(value)
        if cached is None:
            cached = self._pseudonyms.put(value, self._hasher.pseudonym(value))
        return cached

    # -- client IP -------------------------------------------------------------------------

    def client_ip(self, peer: str, headers: Mapping[str, str]) -> str:
        """The rightmost address not of a trusted proxy: the only one a client cannot forge."""
        if not self._trusted:
            return peer
        trusted: bool | None = self._trust_cache.get(peer)
        if trusted is None:
            trusted = self._is_trusted(peer)
        if not trusted:
            return peer
        trail = headers.get(self._forwarded_header)
        if not trail:
            return peer
        if self._rfc7239:
            forwarded, xff = trail, None
        elif "," not in trail:
            # One hop: it is the answer whether or not it is trusted (see `_client`).
            return trail.strip() or peer
        else:
            forwarded, xff = None, trail
        # Several hops: the answer depends on the header value alone, and clients repeat.
        key = (forwarded or "", xff or "")
        client: str | None = self._hop_cache.get(key)
        if client is None:
            client = self._hop_cache.put(key, self._client(forwarded, xff))
        return client or peer

    def _client(self, forwarded: str | None, xff: str | None) -> str:
        """The client among the forwarding header's hops, or "" when it names none. Only one
        of the two is given: the header the trusted proxies write (`forwarded_header`)."""
        if forwarded is not None:
            hops = _forwarded_for(forwarded)
        else:
            hops = [h.strip() for h in xff.split(",")] if xff else []
        for hop in reversed(hops):
            if hop and not self._is_trusted_hop(hop):
                return hop
        # Every hop is a trusted proxy: the leftmost is the closest we get to the client.
        return next((h for h in hops if h), "")

    # -- client scheme ---------------------------------------------------------------------

    def forwarded_proto(self, peer: str, headers: Mapping[str, str]) -> str:
        """The scheme the client used as the trusted proxies report it, or "" when the peer is
        not one of them (a client can send any X-Forwarded-Proto it likes) or none reported it.
        Only the header beside `forwarded_header` is read: X-Forwarded-Proto with
        X-Forwarded-For, the `proto=` of Forwarded with its `for=`."""
        if not self._trusted or not self._is_trusted(peer):
            return ""
        if self._rfc7239:
            forwarded = headers.get("forwarded")
            return self._rfc7239_proto(forwarded) if forwarded else ""
        protos = headers.get("x-forwarded-proto")
        if not protos:
            return ""
        if "," not in protos:
            return protos.strip().lower()
        # Every proxy that appends adds one address and one scheme, so the client's scheme is as
        # far from the right as its address; a proxy that sets one value leaves one to read.
        values = protos.split(",")
        behind = self._trusted_behind(headers.get("x-forwarded-for", ""))
        return values[max(len(values) - 1 - behind, 0)].strip().lower()

    def _trusted_behind(self, xff: str) -> int:
        """How many X-Forwarded-For hops, from the right, are trusted proxies before the client
        (see `_client`: when every hop is trusted, the leftmost is the client)."""
        hops = [h.strip() for h in xff.split(",")] if xff else []
        behind = 0
        for hop in reversed(hops[1:]):
            if hop and not self._is_trusted_hop(hop):
                break
            behind += 1
        return behind

    def _rfc7239_proto(self, forwarded: str) -> str:
        """The `proto=` of the Forwarded element the client's hop wrote: the rightmost whose
        `for=` is not a trusted proxy, or the leftmost when all are."""
        if "proto=" not in forwarded.lower():
            return ""
        elements = [_element(text) for text in forwarded.split(",")]
        for element in reversed(elements[1:]):
            hop = element.get("for", "")
            if not hop or not self._is_trusted_hop(hop):
                return element.get("proto", "")
        return elements[0].get("proto", "")

    def _is_trusted(self, address: str) -> bool:
        cached: bool | None = self._trust_cache.get(address)
        if cached is None:
            cached = self._trust_cache.put(address, self._check_trust(address))
        return cached

    def _is_trusted_hop(self, address: str) -> bool:
        """Client addresses are mostly distinct, so no cache helps: an IPv4 address that starts
        with none of the trusted prefixes is ruled out by one `startswith`, without parsing."""
        if self._v4_prefixes is not None and "." in address and ":" not in address:
            if not address.startswith(self._v4_prefixes):
                return False
            value = _ipv4_int(address)
            return value is not None and any(value & mask == net for net, mask in self._trusted_v4)
        return self._is_trusted(address)

    def _check_trust(self, address: str) -> bool:
        value = _ipv4_int(address)
        if value is not None:
            return any(value & mask == net for net, mask in self._trusted_v4)
        ip = _parse_ip(address)
        return ip is not None and any(ip in net for net in self._trusted)

    # -- credentials -----------------------------------------------------------------------

    def _authorization(self, value: str) -> _AuthReading:
        """(scheme, identity, identity source, verified, masked key) of one header value."""
        scheme, _, credentials = value.strip().partition(" ")
        scheme = scheme.lower()
        credentials = credentials.strip()
        if scheme == "bearer" and credentials:
            if looks_like_jwt(credentials):
                identity, verified = self._jwt.identity(credentials)
                if identity is not None:
                    return "bearer", identity, "jwt", verified, None
            return "bearer", None, None, False, self._hasher.mask(credentials)
        if scheme == "basic" and credentials:
            user = _basic_user(credentials)
            return "basic", user, "basic" if user else None, False, None
        if credentials or scheme:
            # Custom schemes ("Token abc", "ApiKey abc", a bare key): treat as an API key.
            return "api_key", None, None, False, self._hasher.mask(credentials or scheme)
        return None, None, None, False, None

    def _api_key(self, actor: Actor, headers: Mapping[str, str], query: str) -> None:
        for name in self._key_headers:
            value = headers.get(name)
            if value:
                actor.auth_scheme, actor.api_key = "api_key", self._mask(value.strip())
                return
        if query and self._key_params and any(p in query for p in self._key_params):
            for name, value in parse_qsl(query, keep_blank_values=False):
                if name in self._key_params and value:
                    actor.auth_scheme, actor.api_key = "api_key", self._mask(value)
                    return

    def _session(self, actor: Actor, cookie: str) -> None:
        for part in cookie.split(";"):
            name, sep, value = part.partition("=")
            if sep and name.strip().lower() in self._session_cookies and value.strip():
                actor.session = self._hasher.short(value.strip())
                if actor.auth_scheme is None:
                    actor.auth_scheme = "cookie"
                return

    def _mask(self, secret: str) -> MaskedSecret:
        cached: MaskedSecret | None = self._masks.get(secret)
        if cached is None:
            cached = self._masks.put(secret, self._hasher.mask(secret))
        return cached


def _basic_user(credentials: str) -> str | None:
    try:
        decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    user, _, _password = decoded.partition(":")
    return user or None


def _forwarded_for(value: str) -> list[str]:
    """The `for=` hops of an RFC 7239 Forwarded header, ports and brackets removed."""
    hops = []
    for element in value.split(","):
        for pair in element.split(";"):
            name, _, node = pair.strip().partition("=")
            if name.lower() == "for":
                hops.append(_strip_port(node.strip().strip('"')))
    return hops


def _element(text: str) -> dict[str, str]:
    """The `for` (port and brackets removed) and `proto` (lower case) of one Forwarded
    element."""
    pairs = {}
    for pair in text.split(";"):
        name, _, value = pair.strip().partition("=")
        name = name.lower()
        if name == "for":
            pairs[name] = _strip_port(value.strip().strip('"'))
        elif name == "proto":
            pairs[name] = value.strip().strip('"').lower()
    return pairs


def _strip_port(node: str) -> str:
    if node.startswith("["):
        return node[1 : node.find("]")] if "]" in node else node[1:]
    if node.count(":") == 1:
        return node.partition(":")[0]
    return node


def _octet_prefixes(networks: tuple[Network, ...]) -> tuple[str, ...] | None:
    """Text prefixes of the trusted IPv4 networks ("10.", "192.0.2."), or None if any of them
    does not end on an octet boundary and every address has to be parsed."""
    prefixes = []
    for network in networks:
        if network.version != 4:
            continue
        if network.prefixlen % 8:
            return None
        octets = str(network.network_address).split(".")[: network.prefixlen // 8]
        prefixes.append("".join(f"{octet}." for octet in octets))
    return tuple(prefixes)


def _ipv4_int(address: str) -> int | None:
    parts = address.split(".")
    if len(parts) != 4:
        return None
    value = 0
    for part in parts:
        if not (part.isdigit() and part.isascii() and len(part) <= 3):
            return None
        octet = int(part)
        if octet > 255:
            return None
        value = value << 8 | octet
    return value


def _parse_ip(address: str) -> IPv4Address | IPv6Address | None:
    try:
        return ipaddress.ip_address(_strip_port(address.strip()))
    except ValueError:
        return None

"""One exchange, reduced once to what every detector reads: who, what, which object, outcome.

Object IDs and usernames become keyed hashes here, so detector state never holds them raw.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import parse_qsl

import orjson

from apishield.detect.roles import EndpointRoles
from apishield.exchange import Exchange, Finding, Severity
from apishield.privacy import Hasher

USERNAME_FIELDS = (
    "username", "user", "user_name", "login", "email", "msisdn", "phone", "phone_number",
    "account", "account_number", "userName", "userId", "user_id",
)  # fmt: skip
"""Request fields that name the account a login or a password reset is about."""
_MAX_SCANNED_BODY = 16_384
_ATTACK_RULES = ("inj.", "proto.")
_MAX_HASHES = 65_536
"""Object IDs whose keyed hashes are remembered; forgotten all at once when full."""


@dataclass(slots=True)
class Observation:
    time: float
    ip: str
    network: str
    """The client's /24 (IPv4) or /48 (IPv6): how "a new network" is judged."""
    actor: str
    """The actor's key: identity, API key, session or IP, the strongest the request gives."""
    authenticated: bool
    client: str
    """The user agent's product token (before the first "/"), how "a new client" is judged."""
    roles: EndpointRoles
    status: int
    objects: tuple[str, ...]
    """Keyed hashes of the object IDs in the path."""
    sequence: int | None
    """The numeric object ID shifted by a keyed offset: differences survive, values do not."""
    target: str | None
    """Keyed hash of the account a login or reset names, or of the object for object endpoints."""
    person_records: int
    duration: float
    """Seconds to answer, 0.0 when the source did not say."""
    warm: bool
    """The engine has watched traffic long enough (a day) for baselines to mean something."""
    attack: bool
    """A per-request check saw an injection or a protocol attack of medium severity or more."""

    def __init__(  # the dataclass signature, written out: see `exchange.Exchange.__init__`
        self,
        time: float,
        ip: str,
        network: str,
        actor: str,
        authenticated: bool,
        client: str,
        roles: EndpointRoles,
        status: int,
        objects: tuple[str, ...],
        sequence: int | None,
        target: str | None,
        person_records: int,
        duration: float,
        warm: bool,
        attack: bool,
    ) -> None:
        self.time = time
        self.ip = ip
        self.network = network
        self.actor = actor
        self.authenticated = authenticated
        self.client = client
        self.roles = roles
        self.status = status
        self.objects = objects
        self.sequence = sequence
        self.target = target
        self.person_records = person_records
        self.duration = duration
        self.warm = warm
        self.attack = attack

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 400

    @property
    def denied(self) -> bool:
        return self.status in (401, 403)

    @property
    def missing(self) -> bool:
        return self.status == 404


class Observer:
    """Reduces exchanges to observations under one install secret.

    Object IDs recur (a customer's own number on each of their requests), so their keyed
    hashes are remembered, a bounded number at a time: an HMAC costs more than the rest of
    an observation.
    """

    def __init__(self, hasher: Hasher, offset: int) -> None:
        self.hasher = hasher
        self.offset = offset
        self._hashes: dict[str, str] = {}

    def __call__(
        self, exchange: Exchange, roles: EndpointRoles, *, time: float, warm: bool
    ) -> Observation:
        """`time` is the event time as the stream's clock places it (`detect.clock`)."""
        actor = exchange.actor
        ip = actor.ip if actor is not None else exchange.request.peer_ip
        params = exchange.path_params
        names = roles.object_params
        objects = self._objects(params, names) if params and names else ()
        target = _account(exchange, self.hasher) if roles.login or roles.credential_reset else None
        response = exchange.response
        # Positional, in field order: this runs once per exchange, and keywords cost more.
        return Observation(
            time,
            ip,
            _network(ip),
            actor.key if actor is not None else f"ip:{ip}",
            actor is not None and actor.auth_scheme is not None,
            _client(actor.user_agent if actor is not None else ""),
            roles,
            response.status if response is not None else 0,
            objects,
            _sequence(params, roles, self.offset) if params else None,
            target if target is not None else (objects[0] if objects else None),
            exchange.person_records,
            exchange.duration or 0.0,
            warm,
            _attack(exchange.findings) if exchange.findings else False,
        )

    def _objects(self, params: dict[str, str], names: tuple[str, ...]) -> tuple[str, ...]:
        hashes = self._hashes
        found = []
        for name in names:
            value = params.get(name)
            if value is None:
                continue
            digest = hashes.get(value)
            if digest is None:
                if len(hashes) >= _MAX_HASHES:
                    hashes.clear()
                digest = hashes[value] = self.hasher.short(value)
            found.append(digest)
        return tuple(found)


def _attack(findings: list[Finding]) -> bool:
    for finding in findings:
        if finding.severity >= Severity.MEDIUM and finding.rule_id.startswith(_ATTACK_RULES):
            return True
    return False


def _network(ip: str) -> str:
    if ip.count(".") == 3 and ":" not in ip:
        return ip.rpartition(".")[0] + ".0/24"
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


@lru_cache(maxsize=4096)
def _client(user_agent: str) -> str:
    """Cached: a service sees a handful of user agents again and again."""
    return user_agent.split("/", 1)[0].strip()[:64].lower()


def _sequence(params: dict[str, str], roles: EndpointRoles, offset: int) -> int | None:
    for name in roles.object_params:
        value = params.get(name, "")
        if value.isdigit() and len(value) <= 18:
            return (int(value) + offset) % (1 << 64)
    return None


def _account(exchange: Exchange, hasher: Hasher) -> str | None:
    """The username a login or reset names, from a JSON or form body, as a keyed hash."""
    body = exchange.request.body
    if not body or len(body) > _MAX_SCANNED_BODY:
        return None
    fields: dict[str, object]
    if body[:1] in (b"{", b" ", b"\n"):
        try:
            document = orjson.loads(body)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(document, dict):
            return None
        fields = document
    else:
        fields = dict(parse_qsl(body.decode("utf-8", "replace")))
    for name in USERNAME_FIELDS:
        value = fields.get(name)
        if isinstance(value, str | int) and value != "":
            return hasher.short(str(value).strip().lower())
    return None

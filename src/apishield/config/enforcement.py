"""The `enforce:` section: allow and deny lists, rate limits, automatic blocks, bot answers and
OpenAPI validation, which every guard (middleware, proxy) applies from one policy."""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import IPv4Network, IPv6Network
from typing import Literal

from pydantic import (
    Field,
    JsonValue,
    field_validator,
)

from apishield.config.section import Section
from apishield.limits import BlockAction


class AccessListConfig(Section):
    """Who an allow or deny list names. Any one match is enough."""

    ips: list[IPv4Network | IPv6Network] = Field(default_factory=list)
    """Client IPs (after trusted proxies) as addresses or CIDRs."""
    identities: list[str] = Field(default_factory=list)
    api_keys: list[str] = Field(default_factory=list)
    """Keys as reports show them ("sk_li…#0123456789ab") or their keyed-hash prefix alone
    (12+ hex digits): the raw key never needs to be written down."""
    user_agents: list[str] = Field(default_factory=list)
    """Substrings of the User-Agent header, matched case-insensitively."""

    @field_validator("api_keys")
    @classmethod
    def _key_digests(cls, keys: list[str]) -> list[str]:
        for key in keys:
            digest = key.rpartition("#")[2].lower()
            if len(digest) < 12 or any(c not in "0123456789abcdef" for c in digest):
                raise ValueError(
                    f"{key!r} is not a masked key; write it as reports show it "
                    "('sk_li…#0123456789ab') or give 12+ hex digits of its keyed hash"
                )
        return keys


class RateLimitConfig(Section):
    """A token bucket: `requests` per `per_seconds` on average, up to `burst` at once."""

    requests: float = Field(default=0.0, ge=0)
    """0 leaves this limit off."""
    per_seconds: float = Field(default=60.0, gt=0)
    burst: float | None = Field(default=None, ge=1)
    """Bucket size; `requests` when not set."""


class RateLimitsConfig(Section):
    actor: RateLimitConfig = Field(default_factory=RateLimitConfig)
    """Per actor (identity, else API key, else session, else client IP) across the API."""
    ip: RateLimitConfig = Field(default_factory=RateLimitConfig)
    """Per client address across the API, whatever credential it sends. An actor is named by
    its credential, which a client chooses unless JWTs are verified: one that sends a new API
    key or session on every request is a new actor every time, and only this limit holds it."""
    endpoint: RateLimitConfig = Field(default_factory=RateLimitConfig)
    """Per endpoint (method and route template) across all actors."""
    actor_endpoint: RateLimitConfig = Field(default_factory=RateLimitConfig)
    """Per actor on each endpoint."""
    routes: dict[str, RateLimitConfig] = Field(default_factory=dict)
    """Per actor on one endpoint, replacing `actor_endpoint` there: keys are "POST /login" or
    a template such as "/customers/{id}" (any method)."""

    @field_validator("routes")
    @classmethod
    def _route_keys(cls, routes: dict[str, RateLimitConfig]) -> dict[str, RateLimitConfig]:
        _check_route_keys(routes)
        return routes


def _check_route_keys(keys: Iterable[str]) -> None:
    for key in keys:
        if not key.rpartition(" ")[2].startswith("/"):
            raise ValueError(f"{key!r} names no route; write 'POST /login' or '/customers/{{id}}'")


class AutoBlockConfig(Section):
    enabled: bool = True
    min_severity: Literal["medium", "high", "critical"] = "high"
    """Incidents about one actor at this severity or above block that actor."""
    block_seconds: float = Field(default=3_600.0, gt=0)
    campaign_members: bool = False
    """Campaign incidents (one target worked from many addresses) that hold a bot rule also
    block each member's IP as it is seen taking part, with the bots' action. Off by default:
    members are often carrier NATs that real customers share, so pair it with a tarpit or a
    decoy rather than a 403."""


BOT_RULES = (
    "scan.attack-requests",
    "scan.forced-browsing",
    "enum.regular-clients",
    "enum.missing-objects-ip",
    "enum.target-many-ips",
    "enum.one-shot-ips",
    "auth.login-failures-ip",
    "auth.stuffing-many-ips",
)
"""Rules that only automation trips: scanners, forced browsing, machine-regular cadence,
object enumeration, credential stuffing and brute force."""


class BotsConfig(Section):
    """What confirmed bots get instead of a plain 403. A bot is the actor of an incident that
    blocks (`auto_block`) and holds one of `rules`; operators pick the answer per block with
    `apishield blocks add ... --action`.

        bots:
          action: tarpit          # or decoy, or block (the default: a 403 as for any block)
          tarpit_seconds: 10
          max_tarpits: 64
          decoy: {}
          decoys: {"GET /v2/customers": {"data": [], "total": 0}}
    """

    action: BlockAction = "block"
    """"tarpit" holds each request `tarpit_seconds`, then refuses it (429 with Retry-After);
    "decoy" answers 200 with a decoy body, never reaching the app; "block" answers 403."""
    tarpit_seconds: float = Field(default=10.0, gt=0, le=300)
    """How long a tarpit holds a request. ASGI waits on the event loop; WSGI holds one of the
    server's worker threads for that long."""
    max_tarpits: int = Field(default=64, ge=0)
    """Requests held at once per process; past this, a tarpitted request is refused at once.
    Under WSGI keep it well below the server's thread count. 0 never holds."""
    rules: list[str] = Field(default_factory=lambda: list(BOT_RULES))
    """Detection rule ids that make an incident's actor a bot."""
    decoy: JsonValue = Field(default_factory=dict)
    """The decoy's JSON body where `decoys` names nothing: by default an empty object."""
    decoys: dict[str, JsonValue] = Field(default_factory=dict)
    """Decoy bodies per endpoint: "GET /v2/customers" or a template such as
    "/v2/customers/{id}" (any method), to the JSON answered there."""

    @field_validator("decoys")
    @classmethod
    def _decoy_keys(cls, decoys: dict[str, JsonValue]) -> dict[str, JsonValue]:
        _check_route_keys(decoys)
        return decoys


SchemaMode = Literal["block", "log", "off"]


class EndpointSchemaConfig(Section):
    """One endpoint's OpenAPI validation; what is not set keeps `enforce.openapi`'s."""

    requests: SchemaMode | None = None
    responses: Literal["log", "off"] | None = None
    strip_undocumented: bool | None = None


class OpenApiConfig(Section):
    """Requests and answers held to the spec: undocumented properties (mass assignment), bodies
    that break their schema, answer fields the spec does not document."""

    requests: SchemaMode = "log"
    """"block" refuses what breaks the schema, "log" reports it, "off" does not validate."""
    responses: Literal["log", "off"] = "log"
    strip_undocumented: bool = False
    """In-line only: send answers without their undocumented fields (such answers are held
    back until complete)."""
    endpoints: dict[str, EndpointSchemaConfig | SchemaMode] = Field(default_factory=dict)
    """"POST /v2/customers" (the path as the spec lists it), "/v2/customers/{id}" for every
    method, or an operationId, to its settings or, alone, its request mode."""


class EnforceConfig(Section):
    mode: Literal["enforce", "monitor", "off"] = "enforce"
    """"monitor" decides and records what it would have done, but lets everything through."""
    allow: AccessListConfig = Field(default_factory=AccessListConfig)
    """Never refused: checked before blocks, deny lists and rate limits."""
    deny: AccessListConfig = Field(default_factory=AccessListConfig)
    rate_limits: RateLimitsConfig = Field(default_factory=RateLimitsConfig)
    auto_block: AutoBlockConfig = Field(default_factory=AutoBlockConfig)
    bots: BotsConfig = Field(default_factory=BotsConfig)
    """How blocks on confirmed bots are answered: a 403, a tarpit or a decoy."""
    openapi: OpenApiConfig = Field(default_factory=OpenApiConfig)
    """Validation against the spec given with `--spec` (nothing is validated without one)."""
    block_on_threat: bool = False
    """Refuse requests whose threat level is high (injection and the like); otherwise they are
    flagged and logged only."""
    on_error: Literal["open", "closed"] = "open"
    """What in-line enforcement does when apishield itself fails: let the request through
    ("open") or answer 503 ("closed")."""

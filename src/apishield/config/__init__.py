"""One YAML file configures apishield; a mistake in it is reported with the fix."""

from __future__ import annotations

import difflib
import os
from ipaddress import IPv4Network, IPv6Network
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from apishield.config.alerts import (
    AlertsConfig,
    EmailSinkConfig,
    Facility,
    SinkConfig,
    SlackSinkConfig,
    StdoutSinkConfig,
    SyslogSinkConfig,
    WebhookSinkConfig,
)
from apishield.config.enforcement import (
    BOT_RULES,
    AccessListConfig,
    AutoBlockConfig,
    BotsConfig,
    EnforceConfig,
    RateLimitConfig,
    RateLimitsConfig,
)
from apishield.config.media_types import DEFAULT_MEDIA_TYPES, MEDIA_PATTERN
from apishield.config.section import ConfigError, Section

__all__ = [
    "BOT_RULES",
    "FORMATS",
    "AccessListConfig",
    "AlertsConfig",
    "AnalysisConfig",
    "AutoBlockConfig",
    "BotsConfig",
    "ChecksConfig",
    "Config",
    "ConfigError",
    "DetectConfig",
    "EmailSinkConfig",
    "EnforceConfig",
    "Facility",
    "IdentityConfig",
    "IngestConfig",
    "InventoryConfig",
    "JwtConfig",
    "RateLimitConfig",
    "RateLimitsConfig",
    "RoutesConfig",
    "ServeConfig",
    "SinkConfig",
    "SlackSinkConfig",
    "StateConfig",
    "StdoutSinkConfig",
    "StoreConfig",
    "SyslogSinkConfig",
    "WebhookSinkConfig",
    "load_config",
    "parse_config",
]

FORMATS = ("auto", "nginx", "nginx-json", "envoy", "har", "jsonl")
Format = Literal["auto", "nginx", "nginx-json", "envoy", "har", "jsonl"]


class JwtConfig(Section):
    verify_key_file: Path | None = None
    """PEM public key or HMAC secret. Without it (or a JWKS) `sub` is read but not trusted."""
    jwks_file: Path | None = None
    algorithms: list[str] = Field(
        default_factory=lambda: ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256", "HS256"]
    )
    audience: str | None = None
    identity_claim: str = "sub"


class IdentityConfig(Section):
    trusted_proxies: list[IPv4Network | IPv6Network] = Field(default_factory=list)
    """Proxies whose forwarding headers (the client's address and scheme) are believed, as IPs
    or CIDRs. From any other peer those headers are the client's own claims and are ignored."""
    forwarded_header: Literal["x-forwarded-for", "forwarded"] = "x-forwarded-for"
    """The header the trusted proxies write the client's address into; the client's scheme is
    read beside it (X-Forwarded-Proto with x-forwarded-for, `proto=` with forwarded). The other
    one is never read: a proxy that appends to one passes the client's own copy of the other
    through untouched, so believing it would let any client choose its address or scheme."""
    api_key_headers: list[str] = Field(
        default_factory=lambda: ["x-api-key", "api-key", "apikey", "x-auth-token", "x-access-token"]
    )
    api_key_query_params: list[str] = Field(
        default_factory=lambda: ["api_key", "apikey", "access_token", "key"]
    )
    session_cookies: list[str] = Field(
        default_factory=lambda: [
            "session",
            "sessionid",
            "jsessionid",
            "phpsessid",
            "connect.sid",
            "sid",
            "_session_id",
            "asp.net_sessionid",
        ]
    )
    hash_identities: bool = False
    hash_ips: bool = False
    jwt: JwtConfig = Field(default_factory=JwtConfig)


class IngestConfig(Section):
    format: Format = "auto"
    field_map: dict[str, list[str]] = Field(default_factory=dict)
    """Extra source names per field for JSON access logs, e.g. {"client_ip": ["clientIp"]}."""
    max_body_bytes: int = Field(default=1_048_576, ge=0)


class RoutesConfig(Section):
    """How request paths map to route templates, on which route limits, per-endpoint OpenAPI
    modes and the inventory are keyed. Set these to what the server behind apishield does, so
    that every spelling of a path that reaches a handler gets that handler's route.

        routes:
          case_insensitive: true      # IIS, ASP.NET: /LOGIN is /login
          encoded_slash: separator    # nginx, Starlette/uvicorn: /api%2Fusers is /api/users
    """

    min_distinct: int = Field(default=8, ge=2)
    """Distinct values at one path position before plain words there become a parameter."""
    case_insensitive: bool = False
    """The server behind matches paths whatever their case (IIS and ASP.NET by default, Spring
    and Express configured so): literal segments of learned and documented paths then match in
    any case, so `/LIMITED` gets the route, limits and OpenAPI mode of `/limited`. Templates
    keep the case they were first seen (or documented) in, reports keep the path as sent.
    Unset, a documented path still matches in another case when nothing matches as sent, and
    `enforce.rate_limits.routes` keys match in any case."""
    encoded_slash: Literal["either", "separator", "literal"] = "either"
    """How the server behind reads `%2F` in a path. "separator": as `/`, decoded before
    routing (nginx, Starlette and FastAPI under uvicorn, Apache with AllowEncodedSlashes On,
    many API gateways), so `/api%2Fusers/1` gets the route of `/api/users/1`. "literal": as
    part of its segment (Apache's NoDecode, APIs whose IDs hold slashes such as
    `/projects/group%2Fname`), or refused (Apache's and Tomcat's defaults). "either", when not
    known: as `/` when that reaches a documented or learned route and the path as sent is not
    documented, so the limits and OpenAPI mode of the route it could reach hold it."""


class InventoryConfig(Section):
    spec: Path | None = None


class ChecksConfig(Section):
    enabled: list[str] | None = None
    """Built-in checks to run by name; all of them when not set."""
    disabled: list[str] = Field(default_factory=list)
    reputation_lists: list[Path] = Field(default_factory=list)
    """IP lists (plain, CIDR or FireHOL netset), e.g. Tor exits; the file name names the list."""
    jwt_secrets_file: Path | None = None
    """Extra candidate HMAC secrets, one per line, for the weak-JWT-secret check."""
    jwt_max_lifetime_hours: float = Field(default=24.0, gt=0)
    """Tokens valid longer than this (exp - iat) are reported as long-lived."""
    request_media_types: list[str] = Field(default_factory=lambda: list(DEFAULT_MEDIA_TYPES))
    """Media types request bodies may have: exact ("application/json"), a whole type
    ("image/*") or a suffix ("application/*+json"). A body of another type gets a low finding
    (text/plain is what a browser posts cross-site without a CORS preflight); ["*/*"] accepts
    all. The default takes JSON, forms, XML, binary and RPC encodings and file uploads."""
    numeric_host: bool = True
    """Report a Host header that is an IP address rather than a name as low severity: scanners
    sweep addresses, and a direct hit skips the name the API is published under. Turn it off
    for an API its clients call by address."""

    @field_validator("request_media_types")
    @classmethod
    def _media_patterns(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            if not MEDIA_PATTERN.fullmatch(pattern.lower()):
                raise ValueError(
                    f"{pattern!r} is not a media type pattern; write e.g. 'application/json', "
                    "'image/*', 'application/*+json' or '*/*'"
                )
        return patterns


class DetectConfig(Section):
    enabled: bool = True
    disabled: list[str] = Field(default_factory=list)
    """Detectors ("rules", "objects", "ownership", "takeover", "cadence", "spread", "anomaly") or
    rule ids to leave out."""
    warm_up_hours: float = Field(default=24.0, ge=0)
    """Event time watched before baselines judge; declarative rules judge from the start."""
    max_state_keys: int = Field(default=1_000_000, ge=1_000)
    """Budget of the in-memory state: windows, distinct sets and profiles."""


class StoreConfig(Section):
    url: str = "sqlite:///apishield.db"


REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


class StateConfig(Section):
    """Where rate limits, blocks and detector state live: this process's memory, or a Redis
    shared by every middleware, proxy and worker pointed at it."""

    backend: Literal["memory", "redis"] = "memory"
    url: str = "redis://127.0.0.1:6379/0"
    """redis://[:password@]host:port/db, rediss:// for TLS, or unix:///path/redis.sock."""
    prefix: str = "apishield:"
    """Every key starts with it: installations sharing one Redis keep apart by prefix."""
    timeout: float = Field(default=0.5, gt=0, le=30)
    """Seconds to wait for Redis before a call counts as failed; a request may wait about
    twice this once, when Redis goes away."""
    probe_seconds: float = Field(default=5.0, gt=0)
    """While Redis is away, how often one call tries it again."""

    @field_validator("url")
    @classmethod
    def _redis_url(cls, url: str) -> str:
        if not url.startswith(REDIS_SCHEMES):
            scheme = url.partition("://")[0] if "://" in url else url.partition(":")[0]
            raise ValueError(
                f"the scheme {scheme!r} is not Redis; write redis://127.0.0.1:6379/0, rediss:// "
                "for TLS, or unix:///path/to/redis.sock"
            )
        return url

    @field_validator("prefix")
    @classmethod
    def _key_prefix(cls, prefix: str) -> str:
        if not prefix or any(c.isspace() for c in prefix):
            raise ValueError(
                "the key prefix must be non-empty and without spaces, e.g. 'apishield:' or "
                "'apishield:staging:'"
            )
        return prefix


STREAM_KEY = "apishield:exchanges"


class AnalysisConfig(Section):
    """Where the middleware and proxy analyse what they have let through (the response phase:
    data classes, inventory, detectors). "local" runs it on the guard's own background thread;
    "stream" sends each finished exchange to a Redis stream instead, in batches, where a
    consumer group of `apishield worker` processes analyses it, so the process in front of the
    API spends its interpreter on requests.

        analysis:
          mode: stream
          stream: "apishield:exchanges"
          maxlen: 1000000
          batch: 256

    The stream lives on the Redis `state.url` names, whatever `state.backend` is; workers that
    should judge traffic together also want `state.backend: redis`, so detectors count across
    them."""

    mode: Literal["local", "stream", "remote"] = "local"
    """"remote" posts finished exchanges in batches to an `apishield serve` (`server_url`),
    whose engine analyses them; the guard keeps the request phase and enforcement."""
    server_url: str = "http://127.0.0.1:8750"
    """With mode "remote": the `apishield serve` that takes the batches (POST /api/v1/ingest)."""
    token_file: Path | None = None
    """With mode "remote": the file holding that server's token (its `serve.token_file`);
    unset, the one in `data_dir`, as on the machine the server runs on."""
    blocks_seconds: float = Field(default=2.0, gt=0, le=3600)
    """With mode "remote" and `state.backend: memory`: how often the guard copies the server's
    block list (its automatic blocks and an operator's), which it cannot share otherwise."""
    stream: str = STREAM_KEY
    """The stream's key."""
    group: str = "apishield-workers"
    """The consumer group of the workers: each exchange goes to one worker in it."""
    maxlen: int = Field(default=1_000_000, ge=0)
    """Every write trims the stream to about this many entries (XADD MAXLEN ~), so traffic
    with no worker reading it cannot fill Redis; what is trimmed unread is never analysed.
    0 never trims."""
    batch: int = Field(default=256, ge=1, le=10_000)
    """Exchanges per round trip: per batch a guard adds, per read of a worker."""
    linger_ms: float = Field(default=50.0, ge=0, le=5_000)
    """How long a guard's background thread waits for more finished exchanges before it
    analyses, sends or posts what it holds, unless a batch is full already: one wake-up and one
    round trip per batch rather than per request. Detections and the dashboard lag by as much;
    0 handles each exchange as soon as it is queued."""
    freeze_gc: bool = True
    """Once a guard has started (its signatures and models loaded, beside the app's own
    modules), collect garbage and then hide every object still alive from the cycle collector
    (`gc.freeze`). Its full passes otherwise walk all of them again and again, pausing every
    request of the process for tens of milliseconds each time; afterwards they walk only what
    was made since. Objects still die as usual when nothing refers to them; only a reference
    cycle among objects made before the guard started is never collected."""
    on_unavailable: Literal["local", "drop"] = "local"
    """While the stream's Redis is away: analyse in the guard's process as "local" mode does
    ("local", slower but nothing is missed), or drop and count ("drop"). Either way it is
    logged once per outage and the stream is tried again every `state.probe_seconds`."""
    save_seconds: float = Field(default=30.0, gt=0)
    """A worker writes its run to the store at least this often while it has analysed
    something, and acknowledges what the write holds only then."""
    save_every: int = Field(default=20_000, ge=1)
    """... and at least once every this many exchanges."""
    claim_idle_seconds: float = Field(default=120.0, gt=0)
    """Exchanges a worker was given but has not acknowledged for this long are taken over by
    another worker (the first one died). Must exceed `save_seconds`."""
    delete_acked: bool = True
    """Delete entries once analysed and saved, so raw traffic stays in Redis no longer than it
    takes to analyse it (other consumer groups on the same stream then miss them)."""

    @field_validator("stream", "group")
    @classmethod
    def _name(cls, name: str) -> str:
        if not name or any(c.isspace() for c in name):
            raise ValueError(
                "must be non-empty and without spaces, e.g. 'apishield:exchanges' or "
                "'apishield-workers'"
            )
        return name

    @model_validator(mode="after")
    def _claim_after_save(self) -> AnalysisConfig:
        if self.claim_idle_seconds <= self.save_seconds:
            raise ValueError(
                f"claim_idle_seconds ({self.claim_idle_seconds:g}) must exceed save_seconds "
                f"({self.save_seconds:g}): a worker acknowledges only when it saves, and a "
                "live worker's exchanges would be taken over; twice save_seconds is enough"
            )
        return self


class ServeConfig(Section):
    """`apishield serve`: the REST API, the dashboard, /metrics and the ingest endpoint.

        serve:
          listen: "127.0.0.1:8750"
          save_seconds: 5

    It listens on the loopback address unless told otherwise; every route but the health check
    needs the token kept in `token_file` (created on first start, mode 0600)."""

    listen: str = "127.0.0.1:8750"
    """host:port; another address than 127.0.0.1 exposes the API beyond this machine."""
    token_file: Path | None = None
    """Where the API token is kept; unset, `token` in `data_dir`."""
    save_seconds: float = Field(default=5.0, gt=0, le=3600)
    """How often the live analysis is written to the store (what the dashboard shows)."""
    queue: int = Field(default=50_000, ge=1)
    """Exchanges waiting for analysis; beyond it the ingest endpoint answers 503 and the
    sender keeps its batch."""
    max_batch_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    """Largest ingest request body, after decompression; larger ones are refused with 413."""

    @field_validator("listen")
    @classmethod
    def _host_port(cls, listen: str) -> str:
        host, colon, port = listen.rpartition(":")
        if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError("write host:port, e.g. '127.0.0.1:8750'")
        return listen


def _default_data_dir() -> Path:
    return Path(os.environ.get("APISHIELD_HOME", Path.home() / ".apishield"))


class Config(Section):
    data_dir: Path = Field(default_factory=_default_data_dir)
    """Where the install secret lives; created on first run."""
    identity: IdentityConfig = Field(default_factory=IdentityConfig)
    ingest: IngestConfig = Field(default_factory=IngestConfig)
    routes: RoutesConfig = Field(default_factory=RoutesConfig)
    inventory: InventoryConfig = Field(default_factory=InventoryConfig)
    checks: ChecksConfig = Field(default_factory=ChecksConfig)
    detect: DetectConfig = Field(default_factory=DetectConfig)
    enforce: EnforceConfig = Field(default_factory=EnforceConfig)
    store: StoreConfig = Field(default_factory=StoreConfig)
    state: StateConfig = Field(default_factory=StateConfig)
    analysis: AnalysisConfig = Field(default_factory=AnalysisConfig)
    serve: ServeConfig = Field(default_factory=ServeConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)


def parse_config(text: str, source: str = "<config>") -> Config:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not valid YAML: {exc}") from exc
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{source}: the top level must be a mapping of sections, not {type(raw).__name__}"
        )
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_explain(exc, source)) from None


def load_config(path: Path | None) -> Config:
    if path is None:
        return Config()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc
    return parse_config(text, str(path))


def _explain(exc: ValidationError, source: str) -> str:
    lines = [f"{source}: {exc.error_count()} problem(s)"]
    for error in exc.errors():
        loc = [str(part) for part in error["loc"]]
        key = ".".join(loc)
        if error["type"] == "extra_forbidden":
            valid = _keys_at(loc[:-1])
            hint = difflib.get_close_matches(loc[-1], valid, n=1)
            fix = f" Did you mean '{hint[0]}'?" if hint else ""
            lines.append(f"  {key}: unknown key.{fix} Valid keys here: {', '.join(sorted(valid))}.")
        elif error["type"] == "literal_error":
            lines.append(f"  {key}: {error['input']!r} is not valid; {error['msg'].lower()}.")
        else:
            shown = _without_password(error.get("input"))
            lines.append(f"  {key}: {error['msg']} (got {shown!r}).")
    return "\n".join(lines)


def _without_password(value: object) -> object:
    """A URL's password masked, so a mistyped store or Redis URL is never echoed whole."""
    if not isinstance(value, str) or "@" not in value or "://" not in value:
        return value
    scheme, _, rest = value.partition("://")
    credentials, at, host = rest.rpartition("@")
    user, colon, _password = credentials.partition(":")
    return f"{scheme}://{user}{colon and ':***'}{at}{host}"


def _keys_at(loc: list[str]) -> list[str]:
    model: Any = Config
    for part in loc:
        field = model.model_fields.get(part)
        if field is None or not isinstance(field.annotation, type):
            return []
        model = field.annotation
    return (
        list(model.model_fields) if isinstance(model, type) and issubclass(model, BaseModel) else []
    )

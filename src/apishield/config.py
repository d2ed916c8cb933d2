"""One YAML file configures apishield; a mistake in it is reported with the fix."""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable
from ipaddress import IPv4Network, IPv6Network
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from apishield.limits import BlockAction

FORMATS = ("auto", "nginx", "nginx-json", "envoy", "har", "jsonl")
Format = Literal["auto", "nginx", "nginx-json", "envoy", "har", "jsonl"]


class ConfigError(ValueError):
    """Raised with every problem in the file, each naming the key, the valid values and a fix."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class JwtConfig(_Section):
    verify_key_file: Path | None = None
    """PEM public key or HMAC secret. Without it (or a JWKS) `sub` is read but not trusted."""
    jwks_file: Path | None = None
    algorithms: list[str] = Field(
        default_factory=lambda: ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256", "HS256"]
    )
    audience: str | None = None
    identity_claim: str = "sub"


class IdentityConfig(_Section):
    trusted_proxies: list[IPv4Network | IPv6Network] = Field(default_factory=list)
    """Proxies whose X-Forwarded-For / Forwarded entries are believed, as IPs or CIDRs."""
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


class IngestConfig(_Section):
    format: Format = "auto"
    field_map: dict[str, list[str]] = Field(default_factory=dict)
    """Extra source names per field for JSON access logs, e.g. {"client_ip": ["clientIp"]}."""
    max_body_bytes: int = Field(default=1_048_576, ge=0)


class RoutesConfig(_Section):
    min_distinct: int = Field(default=8, ge=2)
    """Distinct values at one path position before plain words there become a parameter."""


class InventoryConfig(_Section):
    spec: Path | None = None


class ChecksConfig(_Section):
    enabled: list[str] | None = None
    """Built-in checks to run by name; all of them when not set."""
    disabled: list[str] = Field(default_factory=list)
    reputation_lists: list[Path] = Field(default_factory=list)
    """IP lists (plain, CIDR or FireHOL netset), e.g. Tor exits; the file name names the list."""
    jwt_secrets_file: Path | None = None
    """Extra candidate HMAC secrets, one per line, for the weak-JWT-secret check."""
    jwt_max_lifetime_hours: float = Field(default=24.0, gt=0)
    """Tokens valid longer than this (exp - iat) are reported as long-lived."""


class DetectConfig(_Section):
    enabled: bool = True
    disabled: list[str] = Field(default_factory=list)
    """Detectors ("rules", "objects", "ownership", "takeover", "cadence", "spread", "anomaly") or
    rule ids to leave out."""
    warm_up_hours: float = Field(default=24.0, ge=0)
    """Event time watched before baselines judge; declarative rules judge from the start."""
    max_state_keys: int = Field(default=1_000_000, ge=1_000)
    """Budget of the in-memory state: windows, distinct sets and profiles."""


class AccessListConfig(_Section):
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


class RateLimitConfig(_Section):
    """A token bucket: `requests` per `per_seconds` on average, up to `burst` at once."""

    requests: float = Field(default=0.0, ge=0)
    """0 leaves this limit off."""
    per_seconds: float = Field(default=60.0, gt=0)
    burst: float | None = Field(default=None, ge=1)
    """Bucket size; `requests` when not set."""


class RateLimitsConfig(_Section):
    actor: RateLimitConfig = Field(default_factory=RateLimitConfig)
    """Per actor (identity, else API key, else session, else client IP) across the API."""
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


class AutoBlockConfig(_Section):
    enabled: bool = True
    min_severity: Literal["medium", "high", "critical"] = "high"
    """Incidents about one actor at this severity or above block that actor."""
    block_seconds: float = Field(default=3_600.0, gt=0)


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


class BotsConfig(_Section):
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


class EndpointSchemaConfig(_Section):
    """One endpoint's OpenAPI validation; what is not set keeps `enforce.openapi`'s."""

    requests: SchemaMode | None = None
    responses: Literal["log", "off"] | None = None
    strip_undocumented: bool | None = None


class OpenApiConfig(_Section):
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


class EnforceConfig(_Section):
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


class StoreConfig(_Section):
    url: str = "sqlite:///apishield.db"


REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


class StateConfig(_Section):
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


class AnalysisConfig(_Section):
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
    stream: str = STREAM_KEY
    """The stream's key."""
    group: str = "apishield-workers"
    """The consumer group of the workers: each exchange goes to one worker in it."""
    maxlen: int = Field(default=1_000_000, ge=0)
    """Every write trims the stream to about this many entries (XADD MAXLEN ~), so traffic
    with no worker reading it cannot fill Redis; what is trimmed unread is never analysed.
    0 never trims."""
    batch: int = Field(default=256, ge=1, le=10_000)
    """Exchanges per round trip: per pipelined XADD from a guard, per read of a worker."""
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


class ServeConfig(_Section):
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


SeverityName = Literal["critical", "high", "medium", "low", "info"]
AlertKind = Literal["incident", "finding"]
SINK_TYPES = ("webhook", "slack", "syslog", "email", "stdout")
Facility = Literal[
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron",
    "authpriv", "ftp", "ntp", "audit", "alert", "clock",
    "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
]  # fmt: skip
"""RFC 5424 facilities in code order: `get_args(Facility).index(name)` is the number."""


class _SinkSection(_Section):
    min_severity: SeverityName = "high"
    """Alerts below this severity skip this sink."""
    kinds: list[AlertKind] = Field(default_factory=lambda: list(get_args(AlertKind)), min_length=1)
    """Which alerts this sink takes: incidents, per-request findings, or both."""


def _http_url(url: str) -> str:
    if not url.startswith(("http://", "https://")):
        raise ValueError("write the receiver's address as http(s)://host[:port]/path")
    return url


class WebhookSinkConfig(_SinkSection):
    """Each alert POSTed as one JSON object."""

    type: Literal["webhook"]
    url: str
    headers: dict[str, str] = Field(default_factory=dict)
    """Sent with every request, e.g. {"Authorization": "Bearer ..."}."""
    timeout: float = Field(default=5.0, gt=0, le=60)
    """Seconds for the receiver to connect and answer before the attempt counts as failed."""

    @field_validator("url")
    @classmethod
    def _url(cls, url: str) -> str:
        return _http_url(url)


class SlackSinkConfig(_SinkSection):
    """A Slack incoming webhook: text plus Block Kit blocks."""

    type: Literal["slack"]
    url: str
    """The incoming webhook's address (https://hooks.slack.com/services/...); keep it secret."""
    timeout: float = Field(default=5.0, gt=0, le=60)

    @field_validator("url")
    @classmethod
    def _url(cls, url: str) -> str:
        return _http_url(url)


class SyslogSinkConfig(_SinkSection):
    """RFC 5424 lines (or CEF in an RFC 5424 header) over UDP, or TCP framed by octet counting
    (RFC 6587)."""

    type: Literal["syslog"]
    host: str = "127.0.0.1"
    port: int = Field(default=514, ge=1, le=65535)
    protocol: Literal["udp", "tcp"] = "udp"
    format: Literal["rfc5424", "cef"] = "rfc5424"
    facility: Facility = "local0"
    timeout: float = Field(default=5.0, gt=0, le=60)
    """Seconds to connect and write over TCP."""


class EmailSinkConfig(_SinkSection):
    """One email per alert over SMTP; the password, if any, is read from a file."""

    type: Literal["email"]
    host: str = "127.0.0.1"
    port: int = Field(default=25, ge=1, le=65535)
    starttls: bool = False
    """Upgrade the connection with STARTTLS (the server's certificate is verified)."""
    username: str | None = None
    password_file: Path | None = None
    """A file holding the SMTP password (keep it mode 0600); never the password itself."""
    sender: str
    to: list[str] = Field(min_length=1)
    subject_prefix: str = "[apishield]"
    timeout: float = Field(default=10.0, gt=0, le=120)

    @model_validator(mode="after")
    def _credentials_together(self) -> EmailSinkConfig:
        if (self.username is None) != (self.password_file is None):
            raise ValueError(
                "set both username and password_file to log in, or neither to send without"
            )
        return self


class StdoutSinkConfig(_SinkSection):
    """One JSON line per alert on standard output."""

    type: Literal["stdout"]


_SINK_MODELS: dict[str, type[_SinkSection]] = {
    "webhook": WebhookSinkConfig,
    "slack": SlackSinkConfig,
    "syslog": SyslogSinkConfig,
    "email": EmailSinkConfig,
    "stdout": StdoutSinkConfig,
}


def _known_sink(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """Name a mistyped `type` or key by itself, with the valid choices: the union alone would
    say only "unable to extract tag", and `_explain` cannot list keys inside a list."""
    if isinstance(value, dict):
        problem = _sink_problem(value)
        if problem is not None:
            key, message = problem
            error = PydanticCustomError("sink", message)
            shown = value.get("type") if key == "type" else key  # never a value: it may be secret
            raise ValidationError.from_exception_data(
                "sink", [InitErrorDetails(type=error, loc=(key,), input=shown)]
            )
    return handler(value)


def _sink_problem(sink: dict[Any, Any]) -> tuple[str, str] | None:
    """(key, what is wrong with it) for the first mistyped type or key of a sink, else None."""
    kind = sink.get("type")
    if kind is None:
        near = difflib.get_close_matches("type", [str(k) for k in sink], n=1)
        what = "unknown key; did you mean 'type'?" if near else "missing."
        return (near[0] if near else "type"), f"{what} A sink needs type: {', '.join(SINK_TYPES)}"
    model = _SINK_MODELS.get(kind) if isinstance(kind, str) else None
    if model is None:
        hint = difflib.get_close_matches(str(kind), SINK_TYPES, n=1)
        fix = f"did you mean '{hint[0]}'? " if hint else ""
        return "type", f"no such sink; {fix}valid types: {', '.join(SINK_TYPES)}"
    valid = sorted(model.model_fields)
    unknown = [str(key) for key in sink if key not in model.model_fields]
    if not unknown:
        return None
    hint = difflib.get_close_matches(unknown[0], valid, n=1)
    fix = f" Did you mean '{hint[0]}'?" if hint else ""
    if unknown[0] == "password":
        fix = " Passwords stay out of the config: put it in a file named by password_file."
    return unknown[0], f"unknown key for a {kind} sink.{fix} Valid keys: {', '.join(valid)}"


SinkConfig = Annotated[
    WebhookSinkConfig | SlackSinkConfig | SyslogSinkConfig | EmailSinkConfig | StdoutSinkConfig,
    Field(discriminator="type"),
    WrapValidator(_known_sink),
]


class AlertsConfig(_Section):
    """Alerts in real time, on incidents and high-severity findings, to each sink listed.

        alerts:
          findings_min_severity: high
          cooldown_seconds: 600
          sinks:
            - type: webhook
              url: https://siem.example/hooks/apishield
            - type: syslog
              host: 10.0.0.9
              protocol: tcp
              format: cef

    Each sink has its own thread and bounded queue: a slow or dead receiver delays only its own
    alerts, never analysis. See docs/alerts.md."""

    findings_min_severity: Literal["critical", "high", "medium", "low", "info", "off"] = "high"
    """Per-request findings at or above this severity alert; "off" alerts on incidents only."""
    cooldown_seconds: float = Field(default=600.0, ge=0)
    """After a finding alert, the same (actor, rule) stays quiet on that sink this long (wall
    clock). Incidents alert when they open and when their severity rises."""
    queue: int = Field(default=1_000, ge=1, le=1_000_000)
    """Alerts waiting per sink; a full queue drops the new alert and counts it."""
    retries: int = Field(default=5, ge=0, le=20)
    """Attempts after the first before an alert is given up and counted as failed."""
    backoff_seconds: float = Field(default=0.5, ge=0, le=30)
    """Wait before the first retry, doubled for each one after, at most 30 s."""
    sinks: list[SinkConfig] = Field(default_factory=list)
    """Where alerts go: webhook, slack, syslog, email, stdout. None: no alerts."""


def _default_data_dir() -> Path:
    return Path(os.environ.get("APISHIELD_HOME", Path.home() / ".apishield"))


class Config(_Section):
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

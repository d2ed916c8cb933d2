"""The one record that flows through every stage: an `Exchange` and the values it carries."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

Headers = dict[str, str]
"""Header names in lower case. Repeated headers are joined with ", " as RFC 9110 allows."""


class Severity(enum.IntEnum):
    """Ordered, so the threat level of a request is simply the max of its findings."""

    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @property
    def label(self) -> str:
        return self.name.lower()


class Action(enum.Enum):
    ALLOW = "allow"
    FLAG = "flag"
    THROTTLE = "throttle"
    BLOCK = "block"
    TARPIT = "tarpit"
    """Held for a while, then refused: a bot's connection waits, not the app."""
    DECOY = "decoy"
    """Answered with a plausible empty 200 that never reaches the app."""


@dataclass(slots=True, frozen=True)
class Decision:
    action: Action = Action.ALLOW
    reason: str = ""
    rule: str = ""
    """Stable id of what decided, such as "enforce.deny.ip" or "enforce.rate.actor"."""
    headers: tuple[tuple[str, str], ...] = ()
    """Response headers a refusal carries (RateLimit, RateLimit-Policy, Retry-After)."""
    enforced: bool = True
    """False in monitor mode: the decision records what would have been done, and traffic
    passes."""

    @property
    def refuses(self) -> bool:
        """True when the app must not see the request (a decoy is an answer, not the app's)."""
        return self.enforced and self.action in _REFUSING


_REFUSING = frozenset((Action.BLOCK, Action.THROTTLE, Action.TARPIT, Action.DECOY))


ALLOW = Decision()


@dataclass(slots=True, frozen=True)
class Finding:
    """A value: what a check or detector saw, with a stable rule id so alerts can dedupe on it."""

    rule_id: str
    title: str
    severity: Severity
    evidence: Mapping[str, str] = field(default_factory=dict)
    category: str = ""
    """OWASP API Security Top 10 (2023) category, such as "API1:2023"."""
    scope: str = ""
    """For a detector's finding, what its incident is about: "actor:<key>" or
    "campaign:<rule>:<endpoint>", so alerts can say a campaign once; empty for a check's."""


@dataclass(slots=True, frozen=True)
class MaskedSecret:
    """A secret reduced to what an analyst needs: a short visible prefix and a keyed hash."""

    prefix: str
    digest: str

    def __str__(self) -> str:
        return f"{self.prefix}…#{self.digest[:12]}"


@dataclass(slots=True)
class Actor:
    """Who sent a request, as far as the request lets us tell."""

    ip: str
    """Client IP after trusted proxies are peeled off (or its keyed hash where configured)."""
    identity: str | None = None
    """JWT `sub` or Basic user, shown as is unless identity hashing is configured."""
    identity_source: str | None = None
    """Where the identity came from: "jwt", "basic", "api_key" or "session"."""
    api_key: MaskedSecret | None = None
    session: str | None = None
    """Keyed hash of the session cookie: stable per session, useless to replay."""
    auth_scheme: str | None = None
    """"bearer", "basic", "api_key", "cookie" or None for an unauthenticated request."""
    jwt_verified: bool = False
    user_agent: str = ""
    client_ip: str = ""
    """Where `ip` is a keyed hash (`identity.hash_ips`), the address it hashes, for IP and CIDR
    lists and reputation lookups while the request is judged. Held in memory only: nothing
    stores, shows or sends it. Empty where `ip` is the address itself."""
    forwarded_proto: str = ""
    """The scheme the client used ("https", "http"), as a trusted proxy reported it; "" where
    the peer is no trusted proxy or reported none, and the connection's own scheme decides."""

    def __init__(  # the dataclass signature, written out: see `Exchange.__init__`
        self,
        ip: str,
        identity: str | None = None,
        identity_source: str | None = None,
        api_key: MaskedSecret | None = None,
        session: str | None = None,
        auth_scheme: str | None = None,
        jwt_verified: bool = False,
        user_agent: str = "",
        client_ip: str = "",
        forwarded_proto: str = "",
    ) -> None:
        self.ip = ip
        self.identity = identity
        self.identity_source = identity_source
        self.api_key = api_key
        self.session = session
        self.auth_scheme = auth_scheme
        self.jwt_verified = jwt_verified
        self.user_agent = user_agent
        self.client_ip = client_ip
        self.forwarded_proto = forwarded_proto

    @property
    def address(self) -> str:
        """The client's address for lists and prefix lookups, hashed or not."""
        return self.client_ip or self.ip

    @property
    def key(self) -> str:
        """The strongest handle on this actor, used to group its behaviour."""
        if self.identity is not None:
            return f"id:{self.identity}"
        if self.api_key is not None:
            return f"key:{self.api_key.digest[:16]}"
        if self.session is not None:
            return f"session:{self.session[:16]}"
        return f"ip:{self.ip}"


@dataclass(slots=True)
class Request:
    method: str
    path: str
    """Path as sent on the wire, without the query string."""
    query: str = ""
    headers: Headers = field(default_factory=dict)
    body: bytes | None = None
    """None when the source did not capture the body; b"" for an empty one."""
    body_size: int | None = None
    scheme: str = ""
    """"http" or "https"; "" when the source did not record it (most access logs)."""
    host: str = ""
    peer_ip: str = ""
    """The address the connection came from (or the log's remote_addr)."""
    http_version: str = ""

    def __init__(  # the dataclass signature, written out: see `Exchange.__init__`
        self,
        method: str,
        path: str,
        query: str = "",
        headers: Headers | None = None,
        body: bytes | None = None,
        body_size: int | None = None,
        scheme: str = "",
        host: str = "",
        peer_ip: str = "",
        http_version: str = "",
    ) -> None:
        self.method = method
        self.path = path
        self.query = query
        self.headers = {} if headers is None else headers
        self.body = body
        self.body_size = body_size
        self.scheme = scheme
        self.host = host
        self.peer_ip = peer_ip
        self.http_version = http_version


@dataclass(slots=True)
class Response:
    status: int
    headers: Headers = field(default_factory=dict)
    body: bytes | None = None
    body_size: int | None = None

    def __init__(  # the dataclass signature, written out: see `Exchange.__init__`
        self,
        status: int,
        headers: Headers | None = None,
        body: bytes | None = None,
        body_size: int | None = None,
    ) -> None:
        self.status = status
        self.headers = {} if headers is None else headers
        self.body = body
        self.body_size = body_size


@dataclass(slots=True)
class Exchange:
    """One request, its response if there is one, and everything the stages learn about it."""

    request: Request
    response: Response | None
    started: float
    """Event time: epoch seconds when the request arrived. Analysis never reads the wall clock."""
    duration: float | None = None
    """Seconds until the response was complete, when known."""
    source: str = ""
    """Where it came from, e.g. "nginx:/var/log/access.log:1832"; used in error reports."""
    actor: Actor | None = None
    route: str | None = None
    """Route template such as /customers/{id}/profile, set by normalisation."""
    path_params: dict[str, str] = field(default_factory=dict)
    """Template parameter name to its raw value. Held in memory for analysis only: anything that
    persists an object ID stores its keyed hash (`apishield.privacy.Hasher`)."""
    data_classes: dict[str, int] = field(default_factory=dict)
    """Sensitive data classes found in the response body, with their counts."""
    person_records: int = 0
    """Distinct person records in the response body."""
    data_fields: dict[str, str] = field(default_factory=dict)
    """Response field path (array indices collapsed, e.g. "data[].email") -> data class."""
    findings: list[Finding] = field(default_factory=list)
    decision: Decision = ALLOW

    def __init__(
        self,
        request: Request,
        response: Response | None,
        started: float,
        duration: float | None = None,
        source: str = "",
        actor: Actor | None = None,
        route: str | None = None,
        path_params: dict[str, str] | None = None,
        data_classes: dict[str, int] | None = None,
        person_records: int = 0,
        data_fields: dict[str, str] | None = None,
        findings: list[Finding] | None = None,
        decision: Decision = ALLOW,
    ) -> None:
        """The dataclass signature, written out because every source builds one per event: the
        generated `__init__` calls a factory per dict, and a compiled build (mypyc) runs it
        interpreted. None stands for a fresh empty dict or list, as the factories gave."""
        self.request = request
        self.response = response
        self.started = started
        self.duration = duration
        self.source = source
        self.actor = actor
        self.route = route
        self.path_params = {} if path_params is None else path_params
        self.data_classes = {} if data_classes is None else data_classes
        self.person_records = person_records
        self.data_fields = {} if data_fields is None else data_fields
        self.findings = [] if findings is None else findings
        self.decision = decision

    @property
    def threat_level(self) -> Severity:
        level = Severity.INFO  # a loop, not max() over a generator: every stage-end asks this
        for finding in self.findings:
            if finding.severity > level:
                level = finding.severity
        return level

    @property
    def threat(self) -> str:
        """ "low", "medium" or "high", as analysts grade requests; the findings are the reasons."""
        return threat_label(self.threat_level)


def threat_label(level: Severity) -> str:
    if level >= Severity.HIGH:
        return "high"
    return "medium" if level == Severity.MEDIUM else "low"

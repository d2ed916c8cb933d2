"""The one signature every per-request check has, and what a check may know besides the request.

A check is a plain function `(exchange, context) -> findings`. It reads the exchange (and, in the
response phase, its response), never changes it, and does no I/O: everything it may consult that
is not in the request, such as what the spec or the learned inventory says about an endpoint, or
an IP reputation table, arrives in the `CheckContext`.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from apishield.checks.media_types import DEFAULT as DEFAULT_MEDIA_TYPES
from apishield.checks.media_types import MediaTypes
from apishield.exchange import Exchange, Finding


class Phase(enum.Enum):
    REQUEST = "request"
    """Before the upstream answers: a finding here can still refuse the request."""
    RESPONSE = "response"
    """After the answer: checks of the response itself (headers, errors, leaked secrets)."""


@dataclass(frozen=True, slots=True)
class ParamRule:
    """What the spec, or the learned inventory, says one parameter is."""

    kind: str
    """"integer", "number", "boolean", "uuid", "date", "date-time", "phone" or "enum"."""
    values: frozenset[str] = frozenset()
    """The allowed values of an enum."""
    source: str = "spec"
    """"spec" or "learned": a learned type is evidence, a documented one is a contract."""


@dataclass(frozen=True, slots=True)
class EndpointFacts:
    """What is known about the endpoint a request goes to, before this request."""

    params: Mapping[tuple[str, str], ParamRule] = field(default_factory=dict)
    """(location, name) -> rule, where location is "path", "query" or "body"."""
    requests: int = 0
    """Requests seen so far (0 when only the spec knows the endpoint)."""
    authenticated_share: float | None = None
    """Share of those requests that carried credentials; None when not learned."""
    requires_auth: bool | None = None
    """What the spec says; None when there is no spec or it does not say."""


class FactSource(Protocol):
    """Looks up the facts for a request's endpoint; the engine wires it, so checks hold no state."""

    def facts(self, exchange: Exchange) -> EndpointFacts | None: ...


class NoFacts:
    def facts(self, exchange: Exchange) -> EndpointFacts | None:
        return None


class ReputationLookup(Protocol):
    def lookup(self, ip: str) -> str | None:
        """The name of the list an address is on, or None."""
        ...


@dataclass(slots=True)
class CheckContext:
    facts: FactSource = field(default_factory=NoFacts)
    reputation: ReputationLookup | None = None
    jwt_secrets: tuple[str, ...] = ()
    """Candidate HMAC secrets tried against HS256/384/512 tokens (weak-secret check)."""
    jwt_max_lifetime: float = 24 * 3600.0
    """A token valid for longer than this (exp - iat, in seconds) is long-lived."""
    max_body_bytes: int = 1_048_576
    """Bodies beyond this are scanned only up to it, with a finding saying so."""
    media_types: MediaTypes = DEFAULT_MEDIA_TYPES
    """The media types request bodies may have (`checks.request_media_types`)."""
    numeric_host: bool = True
    """Whether a Host that is an IP address is reported (`checks.numeric_host`)."""
    scheme_recorded: bool = True
    """False when the traffic source does not record the scheme (nginx combined logs), so a
    request's default "http" means "unknown" and the plain-HTTP check trusts only the
    protocol a trusted proxy reported (`Actor.forwarded_proto`)."""


CheckFn = Callable[[Exchange, CheckContext], Iterable[Finding]]


@dataclass(frozen=True, slots=True)
class Check:
    """A registered check: a name for configuration and error counts, its phase and its function."""

    name: str
    phase: Phase
    run: CheckFn

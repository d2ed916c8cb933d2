"""What an OpenAPI document says about an API's risk before any traffic is seen (`apishield spec
audit`): operations anyone may call, guessable object IDs, personal data and secrets in answers,
personal data and credentials in URLs, sign-ins with no documented rate limit, request bodies
that accept any field, paging without a ceiling, and versions and operations that are retired
but still documented.

The audit reads the spec's own words: field names are judged as the traffic inventory judges
them (`fieldnames`), so "email" or "ssn" in a response schema counts as personal data there as it
does in a live answer. Each finding names the OWASP API Security Top 10 (2023) category and a fix.
Sign-in, token, registration, password-reset and health operations are expected to be callable
without credentials, and their lack of a security requirement is not reported.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from apishield.exchange import Severity
from apishield.inventory.fieldnames import field_name
from apishield.inventory.spec import ApiSpec, SpecOperation

PERSONAL = frozenset(
    {
        "email", "msisdn", "phone", "imsi", "imei", "iccid", "payment_card", "iban",
        "account_number", "ssn", "national_id", "person_name", "date_of_birth", "postal_address",
        "imeisv",
    }
)  # fmt: skip
SECRETS = frozenset({"password", "jwt", "api_key"})
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
ENTRY_WORDS = frozenset(
    {
        "login", "signin", "logon", "token", "tokens", "oauth", "oauth2", "authorize",
        "register", "registration", "signup", "password", "reset", "forgot", "verify",
        "well", "known", "openid", "jwks",
    }
)  # fmt: skip
"""Path words of operations called before one has credentials: signing in and up, tokens,
password resets, key discovery."""
PROBE_WORDS = frozenset({"health", "healthz", "status", "ping", "ready", "readyz", "livez"})
"""The last word of a short path without parameters that load balancers probe."""
PAGE_SIZE = frozenset({"limit", "per_page", "perpage", "page_size", "pagesize", "size", "count"})
MAX_NODES = 5_000
"""Schema nodes walked per operation: enough for real answers, a bound for hostile specs."""
_WORD = re.compile(r"[A-Za-z0-9]+")
_VERSION = re.compile(r"^v(\d+)$")


@dataclass(frozen=True, slots=True)
class Rule:
    category: str
    """OWASP API Security Top 10 (2023)."""
    title: str
    fix: str


RULES: dict[str, Rule] = {
    "audit.credentials-in-request": Rule(
        "API2:2023",
        "Credentials travel as request parameters, outside any security scheme",
        "take credentials in a header declared as a security scheme",
    ),
    "audit.public-personal-data": Rule(
        "API3:2023",
        "An operation callable without credentials answers with personal data",
        "answer with what the caller needs to go on (a status, a masked hint), not the record",
    ),
    "audit.secret-in-answer": Rule(
        "API3:2023",
        "Answers carry secrets",
        "never return passwords, keys or tokens outside the operations that issue them",
    ),
    "audit.sign-in-without-rate-limit": Rule(
        "API4:2023",
        "A sign-in or reset operation documents no rate limit",
        "limit attempts per account and per client, and document the 429 it answers",
    ),
    "audit.deprecated": Rule(
        "API9:2023",
        "A deprecated operation is still documented",
        "set a removal date, watch its traffic (`apishield analyze` flags zombies), remove it",
    ),
    "audit.unauthenticated": Rule(
        "API2:2023",
        "Anyone may call this operation",
        "add a security requirement, or mark the API as public on purpose in its description",
    ),
    "audit.guessable-id": Rule(
        "API1:2023",
        "Objects are addressed by a guessable integer",
        "check that the caller owns each object it names; prefer random identifiers (UUIDs)",
    ),
    "audit.personal-data-in-url": Rule(
        "API3:2023",
        "Personal data travels in the URL",
        "take it in the request body (a POST search) or as an opaque reference",
    ),
    "audit.open-request-body": Rule(
        "API3:2023",
        "The request body accepts fields it does not document",
        "close the schema (additionalProperties: false) and bind only documented fields; "
        "`enforce.openapi` then refuses the rest (mass assignment)",
    ),
    "audit.unbounded-page": Rule(
        "API4:2023",
        "A page size without a ceiling",
        "document and enforce a maximum page size",
    ),
    "audit.old-version": Rule(
        "API9:2023",
        "An older version is documented beside a newer one",
        "retire the old version, or give it the same controls as the new one",
    ),
}
"""Every rule the audit has, with what it means and how to fix it."""


@dataclass(frozen=True, slots=True)
class AuditFinding:
    rule: str
    severity: Severity
    category: str
    method: str
    path: str
    title: str
    detail: str
    fix: str

    def as_dict(self) -> dict[str, str]:
        return {
            "rule": self.rule,
            "severity": self.severity.label,
            "category": self.category,
            "method": self.method,
            "path": self.path,
            "title": self.title,
            "detail": self.detail,
            "fix": self.fix,
        }


def audit(spec: ApiSpec) -> list[AuditFinding]:
    """Every finding, the most severe first."""
    findings = [f for op in spec.operations for f in _operation(op)]
    findings += _old_versions(spec)
    findings.sort(key=lambda f: (-f.severity, f.path, f.method, f.rule))
    return findings


def _operation(op: SpecOperation) -> Iterator[AuditFinding]:
    answers = _answer_fields(op)
    personal = sorted(answers.keys() & PERSONAL)
    secrets = sorted({name for kind in answers.keys() & SECRETS for name in answers[kind]})
    entry = _entry_point(op.path)
    public = not op.security
    carried = _credential_fields(op)
    in_url = any(where in ("path", "query") for where, _ in carried)
    if public and carried and (in_url or not entry):
        named = ", ".join(f"{where} {name!r}" for where, name in carried)
        logged = "; paths and query strings end up in access logs" if in_url else ""
        yield _finding(
            op,
            "audit.credentials-in-request",
            Severity.MEDIUM if in_url else Severity.LOW,
            f"{named} hold secrets{logged}",
        )
    elif public and not entry:
        yield _unauthenticated(op, personal)
    elif public and personal:
        yield _finding(
            op,
            "audit.public-personal-data",
            Severity.MEDIUM,
            f"answers carry {', '.join(personal)}",
        )
    if secrets and not entry and op.method != "POST":  # a POST may issue the secret once
        yield _finding(
            op,
            "audit.secret-in-answer",
            Severity.HIGH,
            f"response fields named as secrets: {', '.join(secrets[:5])}",
        )
    yield from _guessable_ids(op, public)
    yield from _personal_in_url(op)
    if entry and public and op.method == "POST" and not _answers_429(op):
        yield _finding(
            op,
            "audit.sign-in-without-rate-limit",
            Severity.LOW,
            "no 429 answer is documented: credential stuffing and reset abuse meet no stated limit",
        )
    yield from _open_body(op)
    yield from _unbounded_pages(op)
    if op.deprecated:
        yield _finding(
            op,
            "audit.deprecated",
            Severity.LOW,
            "deprecated operations keep answering until they are removed (zombie APIs)",
        )


def _unauthenticated(op: SpecOperation, personal: list[str]) -> AuditFinding:
    if personal:
        severity = Severity.HIGH
        detail = f"no security requirement; answers carry {', '.join(personal)}"
    elif op.method in WRITES:
        severity = Severity.HIGH
        detail = f"no security requirement on a {op.method}"
    else:
        severity = Severity.LOW
        detail = "no security requirement"
    return _finding(op, "audit.unauthenticated", severity, detail)


def _guessable_ids(op: SpecOperation, public: bool) -> Iterator[AuditFinding]:
    for param in op.parameters:
        if param.location != "path" or param.schema.get("type") != "integer":
            continue
        yield _finding(
            op,
            "audit.guessable-id",
            Severity.HIGH if public else Severity.MEDIUM,
            f"path parameter {param.name!r} is an integer: neighbours are one increment away",
        )


def _personal_in_url(op: SpecOperation) -> Iterator[AuditFinding]:
    """Personal data in paths and query strings ends up in access logs, proxies and history."""
    for param in op.parameters:
        if param.location not in ("path", "query"):
            continue
        classes = sorted(set(field_name(param.name).checks) & PERSONAL)
        if classes:
            yield _finding(
                op,
                "audit.personal-data-in-url",
                Severity.MEDIUM,
                f"{param.location} parameter {param.name!r} holds {', '.join(classes)}",
            )


def _answers_429(op: SpecOperation) -> bool:
    return any(status in ("429", "4XX") for status in op.response_schemas)


def _open_body(op: SpecOperation) -> Iterator[AuditFinding]:
    schema = op.request_schema
    if op.method not in WRITES or not isinstance(schema, Mapping):
        return
    properties = schema.get("properties")
    if not isinstance(properties, Mapping) or not properties:
        return
    if schema.get("additionalProperties") is False or "unevaluatedProperties" in schema:
        return
    yield _finding(
        op,
        "audit.open-request-body",
        Severity.LOW,
        f"{len(properties)} documented properties and no additionalProperties: false",
    )


def _unbounded_pages(op: SpecOperation) -> Iterator[AuditFinding]:
    for param in op.parameters:
        if param.location != "query" or param.name.lower() not in PAGE_SIZE:
            continue
        if param.schema.get("type") not in ("integer", "number") or "maximum" in param.schema:
            continue
        yield _finding(
            op,
            "audit.unbounded-page",
            Severity.MEDIUM,
            f"query parameter {param.name!r} has no maximum: one request can ask for everything",
        )


def _old_versions(spec: ApiSpec) -> Iterator[AuditFinding]:
    """Operations under /vN/ while the same path is documented under a later version."""
    latest: dict[tuple[str, str], int] = {}
    versioned: list[tuple[SpecOperation, int, str]] = []
    for op in spec.operations:
        split = _version_split(op.path)
        if split is not None:
            version, rest = split
            versioned.append((op, version, rest))
            key = (op.method, rest)
            latest[key] = max(latest.get(key, version), version)
    for op, version, rest in versioned:
        newest = latest[(op.method, rest)]
        if newest > version:
            yield _finding(
                op,
                "audit.old-version",
                Severity.MEDIUM,
                f"v{version} beside v{newest}: old versions often lack the newer one's fixes",
            )


def _version_split(path: str) -> tuple[int, str] | None:
    parts = path.strip("/").split("/")
    for i, part in enumerate(parts):
        found = _VERSION.match(part)
        if found:
            return int(found.group(1)), "/".join([*parts[:i], "*", *parts[i + 1 :]])
    return None


def _credential_fields(op: SpecOperation) -> list[tuple[str, str]]:
    """(where, name) of parameters and body properties whose names say they hold a secret."""
    fields = [(p.location, p.name) for p in op.parameters if _secret(p.name)]
    schema = op.request_schema
    properties = schema.get("properties") if isinstance(schema, Mapping) else None
    if isinstance(properties, Mapping):
        fields += [("body", str(name)) for name in properties if _secret(str(name))]
    return fields


def _secret(name: str) -> bool:
    return bool(set(field_name(name).checks) & SECRETS)


def _entry_point(path: str) -> bool:
    words = [word.lower() for word in _WORD.findall(re.sub(r"\{[^}]*\}", "", path))]
    if set(words) & ENTRY_WORDS:
        return True
    probe = "{" not in path and len(words) <= 3
    return probe and bool(words) and words[-1] in PROBE_WORDS


def _answer_fields(op: SpecOperation) -> dict[str, set[str]]:
    """Data class -> the field names that nominate it in the operation's successful answers."""
    found: dict[str, set[str]] = {}
    budget = [MAX_NODES]
    for status, schema in op.response_schemas.items():
        if status.startswith("2"):
            _walk(schema, found, budget, 0)
    return found


def _walk(schema: Any, found: dict[str, set[str]], budget: list[int], depth: int) -> None:
    if not isinstance(schema, Mapping) or depth > 12 or budget[0] <= 0:
        return
    budget[0] -= 1
    properties = schema.get("properties")
    if isinstance(properties, Mapping):
        for name, sub in properties.items():
            for kind in field_name(str(name)).checks:
                found.setdefault(kind, set()).add(str(name))
            _walk(sub, found, budget, depth + 1)
    for key in ("items", "additionalProperties"):
        _walk(schema.get(key), found, budget, depth + 1)
    for key in ("allOf", "anyOf", "oneOf"):
        for sub in schema.get(key) or ():
            _walk(sub, found, budget, depth + 1)


def _finding(op: SpecOperation, rule: str, severity: Severity, detail: str) -> AuditFinding:
    meaning = RULES[rule]
    return AuditFinding(
        rule, severity, meaning.category, op.method, op.path, meaning.title, detail, meaning.fix
    )

"""Injection detection over every value an attacker controls, in one multi-pattern scan per request.

Each target is decoded the ways a server could decode it, then every form of every target goes
through one Hyperscan scan; SQL candidates also go through the SQL tokeniser. Parameters the spec
or the inventory types (integer, UUID, date, phone, enum) are validated instead of scanned.
"""

from __future__ import annotations

import re
from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from urllib.parse import unquote, unquote_plus

from apishield.checks.decode import form_variants, nothing_to_decode, variants
from apishield.checks.gate import Gate, loud_at_a_glance
from apishield.checks.matcher import Matcher
from apishield.checks.registry import CheckContext, EndpointFacts, ParamRule
from apishield.checks.schema import VALIDATED, conforms
from apishield.checks.session_fixation import session_in_link
from apishield.checks.signatures import SIGNATURES, Signature
from apishield.checks.sqli import detect_sqli
from apishield.checks.targets import (
    MAX_TARGETS,
    REMEMBERED,
    Place,
    Targets,
    gate_lines,
    judged_headers,
    plain_parts,
    quiet_targets,
    request_targets,
)
from apishield.checks.uploads import judge_file_name
from apishield.exchange import Exchange, Finding, Request, Severity

SAMPLE_CHARS = 80
"""Evidence keeps at most this much of the offending value: enough to read, never a whole body."""

SQL_HINT = Signature(
    rule_id="hint.sqli",
    cls="hint",
    title="SQL-like characters or words",
    pattern=(
        r"['\"`#]|--|/\*|\|\||&&|@@|::|;\s*(?:select|insert|update|delete|drop|exec|declare"
        r"|shutdown|waitfor|create|alter|truncate|set|begin|call|load|handler|prepare|rename"
        r"|grant|revoke|replace|merge)\b|\b(?:or|and|xor|union|select"
        r"|sleep|benchmark|waitfor|having|order\s+by|group\s+by|exec|execute|insert|update"
        r"|delete|drop|declare|procedure|outfile|dumpfile|load_file|pg_sleep)\b"
        r"|^\s*[a-z_][\w.]*\s*\("
    ),
    severity=Severity.INFO,
)
"""Not a finding: marks the values worth running the SQL tokeniser on, inside the same scan."""

CATEGORY = "API8:2023"
"""Injection falls under Security Misconfiguration in the OWASP API Security Top 10 (2023)."""

Rules = Mapping[tuple[str, str], ParamRule]


@cache
def gate() -> Gate:
    return Gate((*SIGNATURES, SQL_HINT))


@cache
def matcher() -> Matcher:
    """The compiled database is built once per process: compiling takes far longer than scanning."""
    return Matcher((*SIGNATURES, SQL_HINT), every_text={SQL_HINT.rule_id})


@dataclass(slots=True)
class _Hit:
    place: Place
    text: str
    rule_id: str
    title: str
    severity: Severity


def check_injection(exchange: Exchange, context: CheckContext) -> list[Finding]:
    request = exchange.request
    facts = context.facts.facts(exchange)
    headers = judged_headers(request.headers, _known(facts))
    quiet, headers_quiet = _gated(request, headers)
    targets = request_targets(
        request,
        context.max_body_bytes,
        plain_quiet=quiet,
        headers=[] if headers_quiet else headers,
    )
    findings = _limits(targets)
    if quiet and facts is not None and facts.params:
        # No signature can match what the gate found quiet: its typed values are validated all
        # the same, and a mismatch is its own finding.
        left_out = quiet_targets(request, headers if headers_quiet else [])
        _typed(exchange, left_out, facts, findings)
    if targets.values:
        _judge(exchange, targets, facts, findings)
    if "referer" in request.headers:
        fixation = session_in_link(request)
        if fixation is not None:
            findings.append(fixation)
    return findings


def _gated(request: Request, headers: list[tuple[str, str]]) -> tuple[bool, bool]:
    """Whether the gate finds nothing in the path, query and cookies, and whether it finds
    nothing in these header values either. Most requests carry a forwarded address, a client
    version or a key there, as quiet as an ID; a Referer or a new User-Agent is loud at once."""
    if request.query.count("&") >= MAX_TARGETS // 4:
        return False, False  # a flood of values is itself a finding
    plain = plain_parts(request)
    lines = gate_lines(headers) if headers else ""
    if not lines or loud_at_a_glance(lines):
        return gate().quiet(plain), lines == ""
    return gate().quiet_parts(plain, lines)


def _judge(
    exchange: Exchange, targets: Targets, facts: EndpointFacts | None, findings: list[Finding]
) -> None:
    """Typed values validated, every other value scanned in all its forms; one finding per
    class of injection, the gravest."""
    scan = _typed(exchange, targets, facts, findings)
    texts, owners, verbatim = _texts(targets, scan)
    hits: dict[str, _Hit] = {}
    if targets.file_names:
        _file_names(targets, hits)
    hinted: list[int] = []
    matched = matcher().scan(texts)
    for index, signature in matched:
        if signature.cls == "hint":
            hinted.append(index)
        elif signature.cls not in hits or signature.severity > hits[signature.cls].severity:
            hits[signature.cls] = _Hit(
                owners[index], texts[index], signature.rule_id, signature.title, signature.severity
            )
    if "sqli" not in hits:
        if verbatim:
            skip = set(verbatim)
            hinted = [index for index in hinted if index not in skip]
        _tokenise(hinted, texts, owners, hits)
    _remember_clean(targets, scan, matched, sqli="sqli" in hits)
    findings.extend(_finding(cls, hit) for cls, hit in hits.items())


_CLEAN_MAX = 4096
_clean_headers: set[str] = set()
"""Values of the REMEMBERED headers (the client's software) that were judged and found clean:
a judgement depends on the value alone, so the next request with the same User-Agent skips it.
Bounded: emptied when full."""


def _remember_clean(
    targets: Targets,
    scan: Sequence[int],
    matched: list[tuple[int, Signature]],
    *,
    sqli: bool,
) -> None:
    """Remember the REMEMBERED header values in `scan` of a request that no signature but the
    SQL hint matched and the tokeniser found no SQL injection in (it judged every hinted
    value, then)."""
    if sqli or any(sig.cls != "hint" for _, sig in matched):
        return  # a signature reports only the first text it fires in: another may hold it too
    values, places = targets.values, targets.places
    fresh = []
    for index in scan:  # headers come after the path and query, before the body
        location, name, _, _ = places[index]
        if location == "body":
            break
        if location == "header" and name in REMEMBERED and len(values[index]) <= 512:
            fresh.append(values[index])
    if len(_clean_headers) + len(fresh) > _CLEAN_MAX:
        _clean_headers.clear()
    _clean_headers.update(fresh)


_REMEMBERED_KEYS = tuple(("header", name) for name in sorted(REMEMBERED))


def _known(facts: EndpointFacts | None) -> Container[str]:
    """The remembered values, unless the endpoint types one of those headers: a typed value
    is validated on every request."""
    if facts is not None and facts.params:
        params = facts.params
        if any(key in params for key in _REMEMBERED_KEYS):
            return ()
    return _clean_headers


def _texts(targets: Targets, scan: Sequence[int]) -> tuple[list[str], list[Place], list[int]]:
    """Every form of every value to scan, the place each came from, and the indexes of the raw
    forms of form-encoded values with a `+` (their `+` are spaces to the server)."""
    values, places = targets.values, targets.places
    if type(scan) is not range:
        values = [values[index] for index in scan]
        places = [places[index] for index in scan]
    if not nothing_to_decode("\n".join(values)):
        return _decoded(values, places)
    texts: list[str] = []
    owners: list[Place] = []
    verbatim: list[int] = []
    start = 0
    for index in [index for index, value in enumerate(values) if "+" in value]:
        texts += values[start:index]  # a value with nothing to decode is its only form
        owners += places[start:index]
        _add_forms(values[index], places[index], texts, owners, verbatim)
        start = index + 1
    texts += values[start:]
    owners += places[start:]
    return texts, owners, verbatim


def _decoded(values: list[str], places: list[Place]) -> tuple[list[str], list[Place], list[int]]:
    texts: list[str] = []
    owners: list[Place] = []
    verbatim: list[int] = []
    for value, place in zip(values, places, strict=True):
        _add_forms(value, place, texts, owners, verbatim)
    return texts, owners, verbatim


def _add_forms(
    value: str, place: Place, texts: list[str], owners: list[Place], verbatim: list[int]
) -> None:
    if "+" in value and place[3]:
        verbatim.append(len(texts))  # the raw form: its `+` are spaces to the server
        forms = form_variants(value)
    else:
        forms = variants(value)
    texts += forms
    owners += [place] * len(forms)


def _file_names(targets: Targets, hits: dict[str, _Hit]) -> None:
    """Uploaded file names are judged by what the server will do with them, not by signatures."""
    values, places = targets.values, targets.places
    for index in targets.file_names:
        verdict = judge_file_name(values[index]) if index < len(values) else None
        if verdict is not None:
            cls, rule_id, title, severity = verdict
            hits[cls] = _Hit(places[index], values[index], rule_id, title, severity)


def _tokenise(
    hinted: list[int], texts: list[str], owners: list[Place], hits: dict[str, _Hit]
) -> None:
    for index in hinted:
        reason = detect_sqli(texts[index])
        if reason is not None:
            hits["sqli"] = _Hit(
                owners[index],
                texts[index],
                "inj.sqli.tokens",
                f"SQL injection ({reason})",
                Severity.HIGH,
            )
            return


def _finding(cls: str, hit: _Hit) -> Finding:
    location, name, _, _ = hit.place
    if location == "cookie" or _SECRET_NAME.search(name):
        sample = f"[withheld: a {location} value named like a secret, {len(hit.text)} chars]"
    else:
        sample = _masked(hit.text[:SAMPLE_CHARS])
    return Finding(
        rule_id=hit.rule_id,
        title=hit.title,
        severity=hit.severity,
        evidence={
            "class": cls,
            "location": location,
            "name": name[:SAMPLE_CHARS],
            "sample": sample,
        },
        category=CATEGORY,
    )


_SECRET_NAME = re.compile(
    r"pass|pwd|secret|token|auth|cred|session|cookie|api[\W_]?key|private|signature"
    r"|(?<![a-z])(?:otp|pin|cvv|cvc|ssn)(?![a-z])",
    re.IGNORECASE,
)
"""Names of values that hold a secret: a strong password or a token can look like an attack,
and its finding must not carry it to a report, a SIEM or an alert. Cookie values are all
withheld: they are sessions, mostly."""


_LONG_NUMBER = re.compile(r"\d{6,}")
_EMAIL = re.compile(r"[\w.+-]+@([\w-]+\.[\w.-]+)")


def _masked(sample: str) -> str:
    """An attack value can still carry a customer's number or address: keep its shape only."""
    sample = _LONG_NUMBER.sub(lambda m: m.group()[:2] + "#" * (len(m.group()) - 2), sample)
    return _EMAIL.sub(r"…@\1", sample)


def _limits(targets: Targets) -> list[Finding]:
    """Findings for what could not be judged whole: it is cheap to evade a scanner by size."""
    notes = []
    if targets.body_capped:
        notes.append(("req.body.capped", "Body larger than the scan limit", Severity.MEDIUM))
    if targets.too_deep:
        notes.append(("req.body.deep", "JSON body nested beyond the walk limit", Severity.MEDIUM))
    if targets.truncated:
        notes.append(("req.params.many", "More values than the scan limit", Severity.MEDIUM))
    if targets.body_unparsed == "malformed JSON":
        notes.append(("req.body.malformed", "Body declared as JSON does not parse", Severity.LOW))
    return [Finding(rule, title, severity, {}, "API4:2023") for rule, title, severity in notes]


def _typed(
    exchange: Exchange, targets: Targets, facts: EndpointFacts | None, findings: list[Finding]
) -> Sequence[int]:
    """Indexes of the targets still to scan once typed parameters are validated; mismatches
    become findings."""
    if facts is None or not facts.params:
        return range(len(targets.values))
    rules = facts.params
    scan = []
    values = targets.values
    for index, (location, name, key, encoded) in enumerate(targets.places):
        if location == "path":  # the first target, when the path is among them
            if exchange.route is None or not _path_conforms(exchange, rules, findings):
                scan.append(index)
            continue
        decoded = unquote_plus(name) if encoded and ("%" in name or "+" in name) else name
        rule = rules.get((location, decoded))
        if key:
            if rule is None:  # a documented name such as Twilio's `StartTime<` is not an attack
                scan.append(index)
            continue
        if rule is None or rule.kind not in VALIDATED:
            scan.append(index)
            continue
        value = unquote_plus(values[index]) if encoded else values[index]
        if not conforms(rule, value):
            findings.append(_mismatch(location, name, rule, value))
            scan.append(index)
    return scan


def _path_conforms(exchange: Exchange, rules: Rules, findings: list[Finding]) -> bool:
    """A path whose parameters all conform is the template's literals plus safe values."""
    every = bool(exchange.path_params)
    for name, raw in exchange.path_params.items():
        rule = rules.get(("path", name))
        if rule is None or rule.kind not in VALIDATED:
            every = False
            continue
        value = unquote(raw)
        if not conforms(rule, value):
            findings.append(_mismatch("path", name, rule, value))
            every = False
    return every


def _mismatch(location: str, name: str, rule: ParamRule, value: str) -> Finding:
    documented = rule.source == "spec"
    return Finding(
        rule_id="schema.type_mismatch",
        title=f"{location} parameter {name!r} is not a valid {rule.kind}",
        severity=Severity.MEDIUM if documented else Severity.LOW,
        evidence={
            "location": location,
            "name": name[:SAMPLE_CHARS],
            "expected": rule.kind,
            "source": rule.source,
            "length": str(len(value)),
        },
        category="API8:2023",
    )

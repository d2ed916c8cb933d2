"""Response headers an API should send: security headers, rate-limit headers, sane CORS.

Only responses whose headers were captured are judged: a real HTTP response always has some, so
an empty header map means the source (an access log) did not record them, not that all are
missing. Missing headers are LOW or INFO: each one is a hardening gap, not an exploit. The
findings are constants, so a response missing all of them costs a few dict lookups.
"""

from __future__ import annotations

from apishield.checks.registry import CheckContext
from apishield.checks.transport import client_scheme
from apishield.exchange import Exchange, Finding, Headers, Response, Severity

_RATE_LIMIT_HEADERS = (
    "ratelimit",
    "ratelimit-policy",
    "ratelimit-limit",
    "ratelimit-remaining",
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-rate-limit-limit",
    "x-rate-limit-remaining",
)


def _missing(rule: str, header: str, title: str, severity: Severity = Severity.LOW) -> Finding:
    return Finding(
        rule_id=f"headers.{rule}",
        title=title,
        severity=severity,
        evidence={"header": header},
        category="API8:2023",
    )


NO_HSTS = _missing("hsts-missing", "strict-transport-security", "HTTPS response without HSTS")
NO_NOSNIFF = _missing(
    "nosniff-missing", "x-content-type-options", "response without X-Content-Type-Options: nosniff"
)
NO_FRAMING = _missing(
    "framing-missing", "x-frame-options", "HTML without X-Frame-Options or CSP frame-ancestors"
)
NO_CSP = _missing("csp-missing", "content-security-policy", "HTML without Content-Security-Policy")
NO_CONTENT_TYPE = _missing("content-type-missing", "content-type", "body without Content-Type")
NO_ALLOW = _missing("allow-missing", "allow", "405 without an Allow header", Severity.INFO)
NO_RATE_LIMIT = Finding(
    rule_id="headers.rate-limit-missing",
    title="API response without rate-limit headers",
    severity=Severity.INFO,
    evidence={"header": "ratelimit"},
    category="API4:2023",
)


def _captured(exchange: Exchange) -> Response | None:
    response = exchange.response
    return response if response is not None and response.headers else None


def _has_body(response: Response) -> bool:
    return bool(response.body) or (response.body_size or 0) > 0


def check_security_headers(exchange: Exchange, context: CheckContext) -> list[Finding]:
    response = _captured(exchange)
    if response is None:
        return []
    headers = response.headers
    findings: list[Finding] = []
    if "strict-transport-security" not in headers and client_scheme(exchange, context) == "https":
        findings.append(NO_HSTS)
    if response.status == 405 and "allow" not in headers:
        findings.append(NO_ALLOW)
    if not _has_body(response):
        return findings
    content_type = headers.get("content-type")
    if content_type is None:
        findings.append(NO_CONTENT_TYPE)
    if headers.get("x-content-type-options", "").strip().lower() != "nosniff":
        findings.append(NO_NOSNIFF)
    if content_type is not None and "html" in content_type.lower():
        findings.extend(_html_findings(headers))
    return findings


def _html_findings(headers: Headers) -> list[Finding]:
    """Framing and CSP matter only for documents a browser renders."""
    csp = headers.get("content-security-policy")
    findings = []
    if "x-frame-options" not in headers and (csp is None or "frame-ancestors" not in csp.lower()):
        findings.append(NO_FRAMING)
    if csp is None:
        findings.append(NO_CSP)
    return findings


def check_rate_limit_headers(exchange: Exchange, context: CheckContext) -> list[Finding]:
    """INFO on successful non-HTML answers: clients cannot pace themselves, and nothing shows a
    limit exists (API4:2023). Only a hint: limits may be enforced without advertising them."""
    response = _captured(exchange)
    if response is None or not 200 <= response.status < 300:
        return []
    headers = response.headers
    if "html" in headers.get("content-type", "").lower():
        return []
    if any(name in headers for name in _RATE_LIMIT_HEADERS):
        return []
    return [NO_RATE_LIMIT]


def check_cors(exchange: Exchange, context: CheckContext) -> list[Finding]:
    """Credentialed CORS open to any origin lets any web page read a logged-in user's data.

    `null` with credentials is HIGH (sandboxed iframes and data: URLs send `Origin: null`). A
    cross-site origin echoed back with credentials is MEDIUM: from one response it cannot be told
    apart from an allow-listed partner. `*` with credentials is MEDIUM: browsers refuse it, but
    it shows the server means to share credentialed answers with everyone.
    """
    response = _captured(exchange)
    if response is None:
        return []
    allowed = response.headers.get("access-control-allow-origin")
    credentials = response.headers.get("access-control-allow-credentials", "")
    if not allowed or credentials.strip().lower() != "true":
        return []
    allowed = allowed.strip()
    if allowed == "null":
        title = "CORS trusts the null origin with credentials"
        return [_cors("cors.null-origin", title, Severity.HIGH, {})]
    if allowed == "*":
        return [_cors("cors.wildcard-credentials", "CORS * with credentials", Severity.MEDIUM, {})]
    origin = exchange.request.headers.get("origin", "").strip()
    if allowed == origin and not same_site(origin, exchange.request.host):
        evidence = {"origin": origin[:200]}
        title = "CORS reflects a foreign origin with credentials"
        return [_cors("cors.reflected-origin", title, Severity.MEDIUM, evidence)]
    return []


def _cors(rule_id: str, title: str, severity: Severity, evidence: dict[str, str]) -> Finding:
    return Finding(rule_id, title, severity, evidence, "API8:2023")


def same_site(origin: str, host: str) -> bool:
    """Whether an Origin is on the request host's site, by registrable domain approximated as the
    last two labels (three under a two-letter country code with a short second level: co.uk)."""
    origin_host = origin.partition("://")[2].partition("/")[0]
    return _site(origin_host) == _site(host)


def _site(host: str) -> str:
    host = host.lower().rpartition("@")[2]
    host = host.partition("]")[0] + "]" if host.startswith("[") else host.partition(":")[0]
    labels = host.rstrip(".").split(".")
    if len(labels) >= 3 and len(labels[-1]) == 2 and len(labels[-2]) <= 3:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])

"""The learned inventory as an OpenAPI 3.1 document: what traffic says the API is.

Teams with no spec get a starting point, and teams with one get it back annotated: operations
that match keep their documented template, operationId and summary, and every operation carries
`x-apishield-*` figures (requests, first and last seen, data classes returned). Observed types
that JSON Schema has no format for (phone, hex, token) use those words as the `format`, which
OpenAPI 3.1 treats as an annotation, not a constraint.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from apishield.inventory.diff import documented_operation, observed_params
from apishield.inventory.endpoint import Endpoint, ParamStats
from apishield.inventory.spec import ApiSpec, SpecOperation, template_key

_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_PLAIN_TYPES = frozenset({"integer", "number", "boolean"})
_IGNORED_HEADERS = frozenset({"accept", "authorization", "content-type"})
"""OpenAPI describes these through content and security, and ignores them as parameters."""
_SCHEMES: dict[str, tuple[str, dict[str, Any]]] = {
    "bearer": ("bearerAuth", {"type": "http", "scheme": "bearer"}),
    "basic": ("basicAuth", {"type": "http", "scheme": "basic"}),
    "api_key": ("apiKeyAuth", {"type": "apiKey", "in": "header", "name": "X-API-Key"}),
    "cookie": ("cookieAuth", {"type": "apiKey", "in": "cookie", "name": "session"}),
}
_NAME_NOTE = "apishield records that this scheme was used, not the header or cookie name."
_PARAM = re.compile(r"\{([^{}/]*)\}")

Group = dict[str, list[Endpoint]]
"""Method to the learned endpoints (one per host) that one operation stands for."""


def export_openapi(
    endpoints: Iterable[Endpoint], *, title: str, version: str, spec: ApiSpec | None = None
) -> dict[str, Any]:
    """A JSON-ready OpenAPI 3.1 document; the same inventory always gives the same document."""
    paths: dict[str, Group] = {}
    known: dict[str, str] = {}  # template key -> exported template: "/a/{id}" == "/a/{aId}"
    documented: dict[tuple[str, str], SpecOperation] = {}
    other: list[dict[str, str]] = []
    for endpoint in endpoints:
        op = documented_operation(spec, endpoint) if spec is not None else None
        template = op.path if op is not None else _unique_params(endpoint.template)
        if endpoint.method.lower() not in _METHODS:
            other.append({"method": endpoint.method, "path": template, "host": endpoint.host})
            continue
        template = known.setdefault(template_key(template), template)
        paths.setdefault(template, {}).setdefault(endpoint.method.lower(), []).append(endpoint)
        if op is not None:
            documented[(template, endpoint.method.lower())] = op
    hosts = sorted({h for group in paths.values() for h in _hosts(group)})
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version, "description": _DESCRIPTION},
    }
    if hosts:
        doc["servers"] = [_server(host) for host in hosts]
    builder = _Operations(documented, marked=spec is not None)
    doc["paths"] = {
        template: _path_item(template, paths[template], builder, hosts)
        for template in sorted(paths)
    }
    if builder.schemes:
        schemes = {name: _scheme(kind) for kind, name in sorted(builder.schemes.items())}
        doc["components"] = {"securitySchemes": schemes}
    if other:
        doc["x-apishield-other-methods"] = other
    return doc


_DESCRIPTION = "Learned by apishield from observed traffic."


def _path_item(template: str, group: Group, builder: _Operations, hosts: list[str]) -> Any:
    item: dict[str, Any] = {}
    own_hosts = sorted(_hosts(group))
    if own_hosts != hosts:
        item["servers"] = [_server(host) for host in own_hosts] or [{"url": "/"}]
    for method in _METHODS:
        if method in group:
            item[method] = builder.operation(template, method, group[method])
    return item


class _Operations:
    """Builds operations, remembering which security schemes and operationIds are in use."""

    def __init__(self, documented: dict[tuple[str, str], SpecOperation], marked: bool) -> None:
        self.documented, self.marked = documented, marked
        self.schemes: dict[str, str] = {}
        self.operation_ids: set[str] = set()

    def operation(self, template: str, method: str, group: list[Endpoint]) -> dict[str, Any]:
        out: dict[str, Any] = self._documentation(template, method)
        params = observed_params(group, template)
        parameters = _parameters(template, params)
        if parameters:
            out["parameters"] = parameters
        body = {name: _schema(s.type) for (loc, name), s in sorted(params.items()) if loc == "body"}
        if body:
            schema = {"type": "object", "properties": body}
            out["requestBody"] = {"content": {"application/json": {"schema": schema}}}
        out["responses"] = _responses(group)
        security = self._security(group)
        if security is not None:
            out["security"] = security
        return out | _figures(group)

    def _documentation(self, template: str, method: str) -> dict[str, Any]:
        op = self.documented.get((template, method))
        out: dict[str, Any] = {"x-apishield-documented": op is not None} if self.marked else {}
        if op is None:
            return out
        if op.operation_id and op.operation_id not in self.operation_ids:
            self.operation_ids.add(op.operation_id)
            out["operationId"] = op.operation_id
        if op.summary:
            out["summary"] = op.summary
        if op.deprecated:
            out["deprecated"] = True
        return out

    def _security(self, group: list[Endpoint]) -> list[dict[str, list[str]]] | None:
        """One alternative per scheme seen, plus {} when some requests carried no credentials."""
        auth: Counter[str] = Counter()
        for endpoint in group:
            auth.update(endpoint.auth)
        if not auth:
            return None
        alternatives: list[dict[str, list[str]]] = []
        for kind in sorted(k for k, n in auth.items() if n > 0 and k != "none"):
            name = _SCHEMES[kind][0] if kind in _SCHEMES else f"{kind}Auth"
            self.schemes[kind] = name
            alternatives.append({name: []})
        if alternatives and auth.get("none", 0) > 0:
            alternatives.append({})
        return alternatives


def _parameters(template: str, params: dict[tuple[str, str], ParamStats]) -> list[dict[str, Any]]:
    out = [
        {"name": name, "in": "path", "required": True, "schema": _stats_schema(params, name)}
        for name in dict.fromkeys(_PARAM.findall(template))
    ]
    for (location, name), stats in sorted(params.items()):
        if location == "query" or (location == "header" and name.lower() not in _IGNORED_HEADERS):
            out.append(
                {
                    "name": name,
                    "in": location,
                    "required": False,
                    "schema": _schema(stats.type),
                    "x-apishield-seen": stats.seen,
                }
            )
    return out


def _stats_schema(params: dict[tuple[str, str], ParamStats], name: str) -> dict[str, str]:
    stats = params.get(("path", name))
    return _schema(stats.type if stats is not None else "string")


def _schema(kind: str) -> dict[str, str]:
    """An observed type as JSON Schema: number-like kinds are types, the rest string formats."""
    if kind in _PLAIN_TYPES:
        return {"type": kind}
    return {"type": "string"} if kind == "string" else {"type": "string", "format": kind}


def _responses(group: list[Endpoint]) -> dict[str, Any]:
    statuses: Counter[int] = Counter()
    for endpoint in group:
        statuses.update(endpoint.statuses)
    out = {
        str(code): {"description": _reason(code), "x-apishield-count": count}
        for code, count in sorted(statuses.items())
        if 100 <= code <= 599
    }
    return out or {"default": {"description": "No response was observed."}}


def _reason(code: int) -> str:
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return f"Status {code}"


def _figures(group: list[Endpoint]) -> dict[str, Any]:
    requests = sum(e.requests for e in group)
    out: dict[str, Any] = {"x-apishield-requests": requests}
    if requests:
        out["x-apishield-first-seen"] = _time(min(e.first_seen for e in group))
        out["x-apishield-last-seen"] = _time(max(e.last_seen for e in group))
    classes: Counter[str] = Counter()
    fields: dict[str, str] = {}
    for endpoint in group:
        classes.update(endpoint.data_classes)
        fields.update(endpoint.response_fields)
    if classes:
        out["x-apishield-data-classes"] = dict(sorted(classes.items()))
    if fields:
        out["x-apishield-response-fields"] = dict(sorted(fields.items()))
    return out


def _time(stamp: float) -> str | None:
    if not math.isfinite(stamp):
        return None
    return datetime.fromtimestamp(stamp, UTC).isoformat().replace("+00:00", "Z")


def _hosts(group: Group) -> set[str]:
    return {e.host for endpoints in group.values() for e in endpoints if e.host}


def _server(host: str) -> dict[str, str]:
    return {"url": f"https://{host}"}


def _scheme(kind: str) -> dict[str, Any]:
    if kind in _SCHEMES:
        scheme = dict(_SCHEMES[kind][1])
        if scheme["type"] == "apiKey":
            scheme["description"] = _NAME_NOTE
        return scheme
    return {"type": "http", "scheme": kind}


def _unique_params(template: str) -> str:
    """A template OpenAPI accepts: leading slash, parameter names present and unique."""
    seen: Counter[str] = Counter()

    def rename(match: re.Match[str]) -> str:
        name = match.group(1) or "param"
        seen[name] += 1
        return "{" + (name if seen[name] == 1 else f"{name}{seen[name]}") + "}"

    return _PARAM.sub(rename, "/" + template.lstrip("/"))

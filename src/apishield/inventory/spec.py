"""The documented API: operations read from a Swagger 2.0 or OpenAPI 3.x document, found fast.

Building is pure: the caller parses the file (see `apishield.ingest.openapi`). Local `$ref`s are
followed; references to other documents are never fetched and count as "any schema". A recursive
schema is expanded until a `$ref` repeats on its own branch; the repeat becomes
`{"x-apishield-cut": ref}`, which JSON Schema validators read as "anything".
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from apishield.inventory.spec_refs import Refs, resolve_local_ref
from apishield.inventory.spec_routes import RouteIndex, path_parameter_names, template_key

_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_LOCATIONS = ("path", "query", "header", "cookie")
_SWAGGER_SCHEMA_KEYS = ("type", "format", "pattern", "enum", "items", "minimum", "maximum")
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_VERSION = re.compile(r"3\.\d+(\.\d+)?(-[\w.]+)?")

Where = tuple[str | int, ...]


class SpecDocumentError(ValueError):
    """The document is not an API description at all, so no partial load would be honest."""

    def __init__(self, source: str, where: Where, problem: str, fix: str) -> None:
        self.source, self.pointer, self.problem, self.fix = source, json_path(where), problem, fix
        super().__init__(f"{source}: {self.pointer}: {problem}. {fix}")


@dataclass(frozen=True, slots=True)
class SpecParameter:
    name: str
    """Header names are lower-cased, as `Request.headers` keys are."""
    location: str
    """"path", "query", "header" or "cookie"."""
    required: bool
    schema: Mapping[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True, slots=True)
class SpecOperation:
    method: str
    path: str
    """Full template including the server or basePath prefix, e.g. "/v2/customers/{customerId}"."""
    operation_id: str | None
    summary: str
    deprecated: bool
    parameters: tuple[SpecParameter, ...]
    security: tuple[str, ...]
    """Scheme types any one of which is accepted; () when the operation may be called without."""
    request_schema: Mapping[str, Any] | None = field(default=None, compare=False)
    response_schemas: Mapping[str, Mapping[str, Any]] = field(default_factory=dict, compare=False)
    """Every documented status ("200", "4XX", "default"); {} where no JSON body is documented."""


@dataclass(slots=True)
class ApiSpec:
    title: str
    version: str
    openapi_version: str
    base_paths: tuple[str, ...] = ()
    operations: list[SpecOperation] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    _routes: RouteIndex | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def paths(self) -> list[str]:
        """Unique templates in document order, for the route learner."""
        return list(dict.fromkeys(op.path for op in self.operations))

    def match(self, method: str, template: str) -> SpecOperation | None:
        """The operation with this template, parameter names ignored; HEAD falls back to GET."""
        return self._index().match(method.upper(), template)

    def match_path(self, method: str, path: str) -> SpecOperation | None:
        """The operation serving a concrete path; literal segments beat parameters."""
        return self._index().match_path(method.upper(), path)

    def _index(self) -> RouteIndex:
        routes = self._routes
        if routes is None or routes.size != len(self.operations):
            routes = self._routes = RouteIndex(self.operations)
        return routes


def json_path(where: Iterable[str | int]) -> str:
    """`$.paths["/users/{id}"].get`: readable in an error message and unambiguous."""
    out = "$"
    for part in where:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if part.isidentifier() else f"[{json.dumps(part)}]"
    return out


def spec_from_document(doc: Mapping[str, Any], *, source: str = "<spec>") -> ApiSpec:
    """Read an already-parsed document; raises SpecDocumentError only when nothing is usable."""
    if not isinstance(doc, Mapping):
        raise SpecDocumentError(
            source, (), f"expected an object, got {type(doc).__name__}", _FIX_ROOT
        )
    version = _version(doc, source)
    paths = doc.get("paths", {})
    if not isinstance(paths, Mapping):
        fix = 'Make it an object of path templates, e.g. paths: {"/users": {get: ...}}'
        raise SpecDocumentError(source, ("paths",), f"is a {type(paths).__name__}", fix)
    builder = _Builder(doc, version == "2.0")
    operations = list(builder.operations(paths))
    info = doc.get("info")
    info = info if isinstance(info, Mapping) else {}
    return ApiSpec(
        title=str(info.get("title") or source),
        version=str(info.get("version", "")),
        openapi_version=version,
        base_paths=builder.base_paths,
        operations=operations,
        warnings=builder.warnings,
    )


_FIX_ROOT = "Give a path to an OpenAPI 3.x or Swagger 2.0 document (one JSON or YAML object)"


def _version(doc: Mapping[str, Any], source: str) -> str:
    if "swagger" in doc:
        if str(doc["swagger"]) == "2.0":
            return "2.0"
        fix = "Only Swagger 2.0 is read; convert older specs with a Swagger converter"
        problem = f"unsupported version {doc['swagger']!r}"
        raise SpecDocumentError(source, ("swagger",), problem, fix)
    if "openapi" not in doc:
        fix = 'Add a top-level "openapi: 3.1.0" (or "swagger: \'2.0\'")'
        raise SpecDocumentError(source, (), "no openapi or swagger version field", fix)
    text = str(doc["openapi"])
    if not _VERSION.fullmatch(text):
        fix = "Use a 3.x version string such as 3.0.3 or 3.1.0"
        raise SpecDocumentError(source, ("openapi",), f"unsupported version {text!r}", fix)
    return text


class _Builder:
    """Turns path items into operations, skipping (with a warning) whatever is malformed."""

    def __init__(self, doc: Mapping[str, Any], swagger: bool) -> None:
        self.doc, self.swagger = doc, swagger
        self.warnings: list[str] = []
        self.refs = Refs(doc, self.warnings)
        self.schemes = self._scheme_kinds()
        if swagger:
            self.base_paths: tuple[str, ...] = (_clean_prefix(str(doc.get("basePath", ""))),)
        else:
            self.base_paths = tuple(dict.fromkeys(_server_prefixes(doc.get("servers")))) or ("/",)

    def warn(self, where: Where, problem: str) -> None:
        self.warnings.append(f"{json_path(where)}: {problem}")

    def operations(self, paths: Mapping[str, Any]) -> Iterator[SpecOperation]:
        for raw_path, raw_item in paths.items():
            where: Where = ("paths", str(raw_path))
            item = self.refs.deref(raw_item)
            if not isinstance(item, Mapping):
                self.warn(where, "path item is not an object; skipped")
                continue
            shared = self._raw_params(item.get("parameters"), (*where, "parameters"), {})
            for method in _METHODS:
                op = item.get(method)
                if op is None:
                    continue
                if not isinstance(op, Mapping):
                    self.warn((*where, method), "operation is not an object; skipped")
                    continue
                prefix = self._prefix(op.get("servers") or item.get("servers"))
                template = _join(prefix, str(raw_path))
                yield self._operation(method, template, op, shared, (*where, method))

    def _operation(
        self,
        method: str,
        template: str,
        op: Mapping[str, Any],
        shared: dict[Any, Any],
        where: Where,
    ) -> SpecOperation:
        raw = self._raw_params(op.get("parameters"), (*where, "parameters"), dict(shared))
        params = tuple(self._parameter(p) for p in raw.values() if p["in"] in _LOCATIONS)
        security = op["security"] if "security" in op else self.doc.get("security")
        return SpecOperation(
            method=method.upper(),
            path=template,
            operation_id=op.get("operationId") if isinstance(op.get("operationId"), str) else None,
            summary=str(op.get("summary") or ""),
            deprecated=op.get("deprecated") is True,
            parameters=params,
            security=self._security(security, where),
            request_schema=self._request_schema(op, raw),
            response_schemas=self._responses(op.get("responses"), (*where, "responses")),
        )

    def _raw_params(self, raw: Any, where: Where, merged: dict[Any, Any]) -> dict[Any, Any]:
        """Parameters keyed by (name, in); later ones (operation level) replace earlier ones."""
        for index, entry in enumerate(raw if isinstance(raw, list) else ()):
            param = self.refs.deref(entry)
            if not (isinstance(param, Mapping) and isinstance(param.get("name"), str)):
                self.warn((*where, index), "parameter without a name; skipped")
            elif param.get("in") not in (*_LOCATIONS, "body", "formData"):
                self.warn((*where, index, "in"), f"unknown location {param.get('in')!r}; skipped")
            else:
                merged[(param["name"], param["in"])] = param
        return merged

    def _parameter(self, raw: Mapping[str, Any]) -> SpecParameter:
        name, location = raw["name"], raw["in"]
        return SpecParameter(
            name=name.lower() if location == "header" else name,
            location=location,
            required=raw.get("required") is True or location == "path",
            schema=self._param_schema(raw),
        )

    def _param_schema(self, raw: Mapping[str, Any]) -> Mapping[str, Any]:
        if self.swagger:
            return self._schema({k: raw[k] for k in _SWAGGER_SCHEMA_KEYS if k in raw})
        if "schema" in raw:
            return self._schema(raw["schema"])
        return self._media_schema(raw.get("content"), forms=True) or {}

    def _request_schema(self, op: Mapping[str, Any], raw: dict[Any, Any]) -> Any:
        if not self.swagger:
            body = self.refs.deref(op.get("requestBody"))
            return self._media_schema(body["content"], True) if _has(body, "content") else None
        for param in raw.values():
            if param["in"] == "body":
                return self._schema(param.get("schema", {}))
        form = {p["name"]: p for p in raw.values() if p["in"] == "formData"}
        if not form:
            return None
        required = [name for name, p in form.items() if p.get("required") is True]
        props = {name: self._param_schema(p) for name, p in form.items()}
        return {"type": "object", "properties": props, "required": required}

    def _responses(self, raw: Any, where: Where) -> dict[str, Mapping[str, Any]]:
        if not isinstance(raw, Mapping):
            self.warn(where, "no responses object")
            return {}
        out: dict[str, Mapping[str, Any]] = {}
        for code, entry in raw.items():
            response = self.refs.deref(entry)
            if not isinstance(response, Mapping):
                continue
            if self.swagger:
                out[str(code)] = self._schema(response.get("schema", {}))
            else:
                out[str(code)] = self._media_schema(response.get("content"), forms=False) or {}
        return out

    def _media_schema(self, content: Any, forms: bool) -> Mapping[str, Any] | None:
        """The JSON media type's schema; for request bodies a form's schema will also do."""
        if not isinstance(content, Mapping):
            return None
        by_type = {str(k).split(";")[0].strip().lower(): v for k, v in content.items()}
        json_types = [t for t in by_type if t == "application/json" or t.endswith("+json")]
        for media_type in json_types + [t for t in _FORM_TYPES if forms and t in by_type]:
            media = by_type[media_type]
            if isinstance(media, Mapping) and "schema" in media:
                return self._schema(media["schema"])
        return None

    def _schema(self, node: Any) -> Mapping[str, Any]:
        return _as_schema(self.refs.schema(node))

    def _security(self, raw: Any, where: Where) -> tuple[str, ...]:
        kinds: set[str] = set()
        for requirement in raw if isinstance(raw, list) else ():
            if not isinstance(requirement, Mapping):
                continue
            if not requirement:
                return ()
            for name in requirement:
                if name in self.schemes:
                    kinds.add(self.schemes[name])
                else:
                    self.warn((*where, "security"), f"scheme {name!r} is not defined")
        return tuple(sorted(kinds))

    def _scheme_kinds(self) -> dict[str, str]:
        if self.swagger:
            holder = self.doc.get("securityDefinitions")
        else:
            components = self.doc.get("components")
            holder = components.get("securitySchemes") if isinstance(components, Mapping) else None
        kinds = {}
        for name, raw in holder.items() if isinstance(holder, Mapping) else ():
            scheme = self.refs.deref(raw)
            if isinstance(scheme, Mapping):
                kinds[str(name)] = _scheme_kind(scheme)
        return kinds

    def _prefix(self, servers: Any) -> str:
        if self.swagger or not servers:
            return self.base_paths[0]
        return next(iter(_server_prefixes(servers)), self.base_paths[0])


def _scheme_kind(scheme: Mapping[str, Any]) -> str:
    kind = str(scheme.get("type", "")).lower()
    if kind == "http":
        return str(scheme.get("scheme", "http")).lower()
    if kind == "apikey":
        return "cookie" if scheme.get("in") == "cookie" else "api_key"
    return {"openidconnect": "openid", "mutualtls": "mutual_tls"}.get(kind, kind)


def _server_prefixes(servers: Any) -> Iterator[str]:
    """Path part of each server URL, with variables set to their defaults."""
    for server in servers if isinstance(servers, list) else ():
        if not isinstance(server, Mapping) or not isinstance(server.get("url"), str):
            continue
        url = _fill_variables(server["url"], server.get("variables"))
        yield _clean_prefix(urlsplit(url).path if "//" in url else url)


def _fill_variables(url: str, variables: Any) -> str:
    for name, variable in variables.items() if isinstance(variables, Mapping) else ():
        default = variable.get("default", "") if isinstance(variable, Mapping) else ""
        url = url.replace("{" + str(name) + "}", str(default))
    return url


def _clean_prefix(prefix: str) -> str:
    return "/" + prefix.strip("/") if prefix.strip("/") else "/"


def _join(prefix: str, path: str) -> str:
    if not path.strip("/"):
        return prefix
    return prefix.rstrip("/") + "/" + path.lstrip("/")


def _has(node: Any, key: str) -> bool:
    return isinstance(node, Mapping) and key in node


def _as_schema(value: Any) -> Mapping[str, Any]:
    """Boolean schemas (3.1) and junk become objects, so callers always get a mapping."""
    if isinstance(value, Mapping):
        return value
    return {"not": {}} if value is False else {}


__all__ = [
    "ApiSpec",
    "SpecDocumentError",
    "SpecOperation",
    "SpecParameter",
    "json_path",
    "path_parameter_names",
    "resolve_local_ref",
    "spec_from_document",
    "template_key",
]

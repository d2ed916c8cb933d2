"""Read an OpenAPI 3.x or Swagger 2.0 file, validate it, and build the `ApiSpec` the engine uses.

Where a spec is rejected and where it loads with warnings:

* `SpecError`: the file cannot be read or parsed; its YAML anchors expand past 5 million nodes
  (an alias bomb); it is not one object; it has no supported version field (Swagger 2.0,
  OpenAPI 3.x); `paths` is not an object; or `paths` lists paths and not one operation in them can
  be read. Nothing trustworthy could come out of these.
* `ApiSpec.warnings`: everything else, including every error openapi-spec-validator reports
  (missing descriptions, examples that break their schema, undeclared path parameters, duplicate
  operationIds), `$ref`s that point into other documents (never fetched: the spec is read offline,
  and a spec must not make the engine reach out to URLs it names) or nowhere, and single path
  items, operations or parameters too malformed to read, which are skipped. Real specs carry such
  faults while their routes, methods and parameter types are still right, and those are what
  inventory, diffing and request validation need.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import orjson
import yaml
from jsonschema_path.handlers.protocols import SupportsRead
from jsonschema_path.handlers.urllib import UrllibHandler
from openapi_spec_validator import (
    OpenAPIV2SpecValidator,
    OpenAPIV30SpecValidator,
    OpenAPIV31SpecValidator,
    OpenAPIV32SpecValidator,
)
from openapi_spec_validator.validation.validators import SpecValidator
from referencing.exceptions import Unresolvable

from apishield.inventory.spec import (
    ApiSpec,
    SpecDocumentError,
    json_path,
    resolve_local_ref,
    spec_from_document,
)

# openapi-spec-validator switches to jsonschema-rs whenever it is installed (apishield validates
# requests with it); spec import keeps the pure-Python backend, whose errors carry the paths the
# warnings list. A backend the user names in the environment still wins.
os.environ.setdefault("OPENAPI_SPEC_VALIDATOR_SCHEMA_VALIDATOR_BACKEND", "jsonschema")

_MAX_WARNINGS = 200
_MAX_NODES = 5_000_000
"""Far above real specs (Twilio's 1.9 MB is 35 k nodes), far below a YAML alias bomb."""
_MAX_MESSAGE = 300


class SpecError(ValueError):
    """A spec file that cannot be used, with where the problem is and how to fix it."""

    def __init__(self, file: Path, where: str, problem: str, fix: str) -> None:
        self.file, self.where, self.problem, self.fix = file, where, problem, fix
        super().__init__(f"{file}: {where}: {problem}. {fix}")


def load_spec(path: Path) -> ApiSpec:
    """Parse, build and validate; see the module docstring for what is fatal and what is not."""
    doc = _parse(path)
    try:
        spec = spec_from_document(doc, source=str(path))
    except SpecDocumentError as exc:
        raise SpecError(path, exc.pointer, exc.problem, exc.fix) from exc
    except RecursionError as exc:
        fix = "Flatten the deepest inline schemas into components and $ref them"
        raise SpecError(path, "$.paths", "schemas nest too deeply to read", fix) from exc
    paths = doc.get("paths")
    if isinstance(paths, Mapping) and paths and not spec.operations:
        first = next((w for w in spec.warnings if w.startswith("$.paths")), "$.paths: no methods")
        where, _, problem = first.partition(": ")
        fix = "Each path item needs methods such as get: {responses: {'200': {description: OK}}}"
        raise SpecError(path, where, f"no operation can be read ({problem})", fix)
    _drop_foreign_refs(doc)
    spec.warnings.extend(_validate(doc, spec.openapi_version))
    if len(spec.warnings) > _MAX_WARNINGS:
        hidden = len(spec.warnings) - _MAX_WARNINGS
        spec.warnings[_MAX_WARNINGS:] = [f"... and {hidden} more warnings"]
    return spec


def _parse(path: Path) -> Any:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SpecError(path, "$", f"cannot be read ({exc.strerror})", _FIX_FILE) from exc
    if raw.lstrip()[:1] in (b"{", b"["):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            where = f"line {exc.lineno}, column {exc.colno}"
            raise SpecError(path, where, f"is not valid JSON ({exc.msg})", _FIX_SYNTAX) from exc
    try:
        doc = yaml.load(raw, Loader=_SpecLoader)
    except RecursionError as exc:
        raise SpecError(path, "$", "nests too deeply to read", _FIX_SYNTAX) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "$"
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError(path, where, f"is not valid YAML ({problem})", _FIX_SYNTAX) from exc
    nodes = _expanded_size(doc, {})
    if nodes > _MAX_NODES:
        fix = "Write the repeated parts out or use $ref instead of YAML anchors"
        raise SpecError(path, "$", f"YAML anchors expand to {nodes:,} nodes", fix)
    return doc


_FIX_FILE = "Check the path and its permissions"
_FIX_SYNTAX = "Fix the syntax there; a linter such as `yamllint` or `jq .` shows the exact spot"


class _SpecLoader(yaml.SafeLoader):
    """YAML as JSON would read it: keys become strings (`200:` is the status "200") and dates
    stay text, so the validator and the model see what a JSON spec would give them."""


def _string_keys(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[str, Any]:
    loader.flatten_mapping(node)
    return {
        str(loader.construct_object(key, deep=True)): loader.construct_object(value, deep=True)
        for key, value in node.value
    }


_SpecLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _string_keys)
_SpecLoader.yaml_implicit_resolvers = {
    first: [(tag, regex) for tag, regex in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _expanded_size(node: Any, sizes: dict[int, int]) -> int:
    """Nodes once YAML aliases are expanded. Aliases load as shared objects, so a few lines can
    stand for billions of nodes that every later walk would visit; memoised, this count is not."""
    if not isinstance(node, dict | list):
        return 1
    if id(node) not in sizes:
        children = node.values() if isinstance(node, dict) else node
        sizes[id(node)] = 1 + sum(_expanded_size(child, sizes) for child in children)
    return sizes[id(node)]


def _drop_foreign_refs(doc: Any) -> None:
    """Unresolvable and external `$ref`s are removed before validation, since the validator would
    otherwise stop at the first one (or try to fetch it)."""
    stack = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and not _resolves(doc, ref):
                del node["$ref"]
            stack.extend(v for k, v in node.items() if k not in _VALUE_KEYS)
        elif isinstance(node, list):
            stack.extend(node)


_VALUE_KEYS = frozenset({"example", "enum", "const"})


def _resolves(doc: Mapping[str, Any], ref: str) -> bool:
    try:
        resolve_local_ref(doc, ref)
    except LookupError:
        return False
    return True


class _Offline(UrllibHandler):
    """Stands in for every URL handler, so a `$ref` can never make the engine open a URL."""

    def _open(self, uri: str) -> AbstractContextManager[SupportsRead]:
        raise LookupError(f"{uri}: references to other documents are never fetched")


_OFFLINE: dict[str, UrllibHandler] = {
    scheme: _Offline(scheme) for scheme in ("", "http", "https", "file", "<all_urls>")
}


class _V2(OpenAPIV2SpecValidator):
    resolver_handlers = _OFFLINE


class _V30(OpenAPIV30SpecValidator):
    resolver_handlers = _OFFLINE


class _V31(OpenAPIV31SpecValidator):
    resolver_handlers = _OFFLINE


class _V32(OpenAPIV32SpecValidator):
    resolver_handlers = _OFFLINE


def _validator(version: str) -> type[SpecValidator]:
    if version == "2.0":
        return _V2
    minor = version.split(".")[1]
    return {"0": _V30, "1": _V31}.get(minor, _V32)


def _validate(doc: Mapping[str, Any], version: str) -> list[str]:
    """Each validator finding as "JSON path: message", shortened, in the validator's order."""
    found: list[str] = []
    try:
        for error in _validator(version)(doc).iter_errors():
            message = error.message
            if len(message) > _MAX_MESSAGE:
                message = message[:_MAX_MESSAGE] + "…"
            found.append(f"{json_path(error.absolute_path)}: {message}")
    except Unresolvable as exc:
        found.append(f"validation stopped at an unresolvable reference: {exc}")
    except (KeyError, IndexError, TypeError, AttributeError, RecursionError) as exc:
        # The validator's semantic pass assumes its schema pass found nothing; on a malformed
        # document it can crash, and the findings it made before that are still worth keeping.
        found.append(f"validation stopped early ({type(exc).__name__}: {exc})")
    finally:
        _forget_validators()
    return found


def _forget_validators() -> None:
    """openapi-spec-validator memoises `iter_errors` per validator without bound, which would keep
    every document ever loaded alive; each of ours is used once, so the cache only costs memory."""
    cached = getattr(SpecValidator.iter_errors, "__wrapped__", None)
    clear = getattr(cached, "cache_clear", None)
    if callable(clear):
        clear()

"""Local `$ref` resolution for OpenAPI documents: never fetched, cycles cut, results shared."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

_LITERAL_KEYS = frozenset({"example", "examples", "enum", "const", "default"})
_NAMED_KEYS = frozenset({"properties", "patternProperties", "$defs", "definitions"})
_MAX_REF_DEPTH = 32


def resolve_local_ref(doc: Mapping[str, Any], ref: str) -> Any:
    """The node a `#/...` reference names; LookupError for anything else, which is never fetched."""
    if not ref.startswith("#"):
        raise LookupError("points into another document, which is never fetched")
    node: Any = doc
    for part in ref[1:].split("/")[1:]:
        key = unquote(part).replace("~1", "/").replace("~0", "~")
        if isinstance(node, Mapping) and key in node:
            node = node[key]
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            raise LookupError("does not resolve inside this document")
    return node


class Refs:
    """Follows local `$ref`s; memoised, so shared schemas are resolved once and then shared."""

    def __init__(self, doc: Mapping[str, Any], warnings: list[str]) -> None:
        self.doc, self.warnings = doc, warnings
        self._memo: dict[str, Any] = {}
        self._bad: set[str] = set()

    def target(self, ref: str) -> Any:
        try:
            return resolve_local_ref(self.doc, ref)
        except LookupError as exc:
            return self._miss(ref, str(exc))

    def deref(self, node: Any) -> Any:
        """Follow a chain of references to a parameter, response or path item."""
        for _ in range(_MAX_REF_DEPTH):
            if not (isinstance(node, Mapping) and isinstance(node.get("$ref"), str)):
                return node
            node = self.target(node["$ref"])
        return None

    def schema(self, node: Any, stack: tuple[str, ...] = ()) -> Any:
        if isinstance(node, Mapping):
            ref = node.get("$ref")
            if isinstance(ref, str):
                return self._ref_schema(ref, node, stack)
            return {k: self._keyword(k, v, stack) for k, v in node.items()}
        if isinstance(node, list):
            return [self.schema(v, stack) for v in node]
        return node

    def _keyword(self, key: str, value: Any, stack: tuple[str, ...]) -> Any:
        """Values and examples are data, not schemas; property maps are keyed by names."""
        if key in _LITERAL_KEYS:
            return value
        if key in _NAMED_KEYS and isinstance(value, Mapping):
            return {name: self.schema(v, stack) for name, v in value.items()}
        return self.schema(value, stack)

    def _ref_schema(self, ref: str, node: Mapping[str, Any], stack: tuple[str, ...]) -> Any:
        if ref in stack or len(stack) >= _MAX_REF_DEPTH:
            return {"x-apishield-cut": ref}
        if ref not in self._memo:
            target = self.target(ref)
            resolved = self.schema(target, (*stack, ref)) if target is not None else {}
            self._memo[ref] = resolved
        resolved = self._memo[ref]
        siblings = {k: self.schema(v, stack) for k, v in node.items() if k != "$ref"}
        return {**resolved, **siblings} if siblings and isinstance(resolved, dict) else resolved

    def _miss(self, ref: str, why: str) -> None:
        if ref not in self._bad:
            self._bad.add(ref)
            self.warnings.append(f"$ref {ref!r} {why}; treated as any schema")

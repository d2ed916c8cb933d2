"""A documented schema, closed: JSON Schema 2020-12 in which an undocumented property fails.

OpenAPI leaves objects open (a property the spec does not list is allowed), which is what lets
mass assignment and excessive data exposure through. `closed_schema` rewrites an operation's
schema, already `$ref`-resolved by `apishield.inventory.spec`, so that a validator reports them:

* every object that documents properties gets `additionalProperties: false`, with the names its
  `allOf`/`anyOf`/`oneOf` branches document added as `true` stubs, so composition still works
  (branches stay open; the object around them is closed once, over all their names);
* an object stays open when the spec says so (`additionalProperties` other than false), lists
  no properties (a free-form map), or has a branch that is anything (a cut recursive `$ref`);
* for a request, `readOnly` properties are dropped (sending one is mass assignment) and are not
  required; for a response, `writeOnly` ones are (returning one is exposure);
* the 3.0 and Swagger 2.0 dialect becomes 2020-12: `nullable` / `x-nullable` become a `null`
  type, boolean `exclusiveMinimum`/`exclusiveMaximum` become numbers, tuple `items` become
  `prefixItems`; `oneOf` becomes `anyOf`, since specs rarely make their branches exclusive and
  an instance matching two of them is no attack; patterns that do not compile are dropped.

Names of dropped properties are kept on the object under `x-apishield-read-only` or
`x-apishield-write-only`, so a finding can say why a field was refused.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

Direction = Literal["request", "response"]

READ_ONLY = "x-apishield-read-only"
WRITE_ONLY = "x-apishield-write-only"

_DROPPED = frozenset(
    (
        "$id",
        "$schema",
        "$anchor",
        "$dynamicAnchor",
        "$defs",
        "definitions",
        "$comment",
        "title",
        "description",
        "example",
        "examples",
        "default",
        "discriminator",
        "xml",
        "externalDocs",
        "deprecated",
        "readOnly",
        "writeOnly",
        "nullable",
        "x-nullable",
    )
)
_SUBSCHEMA = frozenset(
    (
        "items",
        "additionalItems",
        "additionalProperties",
        "unevaluatedProperties",
        "unevaluatedItems",
        "contains",
        "propertyNames",
    )
)
_IN_PLACE = ("allOf", "anyOf", "oneOf", "if", "then", "else")
_NAMED = ("properties", "patternProperties", "dependentSchemas")

_VALUE, _BRANCH, _NEUTRAL = 0, 1, 2
"""Where a subschema sits: a value of its own (closed), a branch applied in place to the value
around it (closed by that value), or under `not` (never closed: closing would invert it)."""


def closed_schema(schema: Mapping[str, Any], direction: Direction) -> dict[str, Any]:
    """The closed 2020-12 form of a documented request or response schema."""
    out = _Closer(direction).convert(schema, _VALUE)
    return out if isinstance(out, dict) else {}


class _Closer:
    def __init__(self, direction: Direction) -> None:
        self.hidden = "readOnly" if direction == "request" else "writeOnly"
        self.marker = READ_ONLY if direction == "request" else WRITE_ONLY
        self._memo: dict[tuple[int, int], tuple[Any, Any]] = {}
        """Resolved specs share one dict per `$ref` target: convert each once per place."""

    def convert(self, node: Any, place: int) -> Any:
        if not isinstance(node, Mapping):
            return node
        key = (id(node), place)
        held = self._memo.get(key)
        if held is not None and held[0] is node:
            return held[1]
        out = self._convert(node, place)
        self._memo[key] = (node, out)
        return out

    def _convert(self, node: Mapping[str, Any], place: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key not in _DROPPED and not key.startswith("x-"):
                self._keyword(key, value, node, place, out)
        _bounds(node, out)
        hidden = out.get(self.marker)
        if hidden and isinstance(out.get("required"), list):
            out["required"] = [name for name in out["required"] if name not in hidden]
        if place == _VALUE:
            _close(out)
        return _nullable(node, out)

    def _keyword(
        self, key: str, value: Any, node: Mapping[str, Any], place: int, out: dict[str, Any]
    ) -> None:
        inner = _NEUTRAL if place == _NEUTRAL else _VALUE
        if key == "properties" and isinstance(value, Mapping):
            out[key] = self._properties(value, inner, out)
        elif key in _NAMED and isinstance(value, Mapping):
            regex = key == "patternProperties"
            out[key] = {
                k: self.convert(v, inner) for k, v in value.items() if not regex or _compiles(k)
            }
        elif key in _IN_PLACE:
            branches = self._branches(value, _NEUTRAL if place == _NEUTRAL else _BRANCH)
            out["anyOf" if key == "oneOf" and "anyOf" not in node else key] = branches
        elif key == "not":
            out[key] = self.convert(value, _NEUTRAL)
        elif key == "items" and isinstance(value, list):
            out["prefixItems"] = [self.convert(v, inner) for v in value]
        elif key in _SUBSCHEMA:
            out[key] = self.convert(value, inner)
        elif key == "pattern":
            if isinstance(value, str) and _compiles(value):
                out[key] = value
        elif key != "type" or value != "file":
            out[key] = value

    def _properties(
        self, value: Mapping[str, Any], place: int, out: dict[str, Any]
    ) -> dict[str, Any]:
        kept: dict[str, Any] = {}
        hidden = []
        for name, sub in value.items():
            if isinstance(sub, Mapping) and sub.get(self.hidden) is True:
                hidden.append(name)
            else:
                kept[name] = self.convert(sub, place)
        if hidden:
            out[self.marker] = hidden
        return kept

    def _branches(self, value: Any, place: int) -> Any:
        if isinstance(value, list):
            return [self.convert(v, place) for v in value]
        return self.convert(value, place)


def _close(out: dict[str, Any]) -> None:
    """Close an object value over the names it and its in-place branches document."""
    if "additionalProperties" in out or "unevaluatedProperties" in out:
        return
    names: dict[str, None] = {}
    patterns: dict[str, None] = {}
    hidden: dict[str, dict[str, None]] = {READ_ONLY: {}, WRITE_ONLY: {}}
    for part, alternative in _parts(out):
        if part is not out and _open(part, alternative):
            return
        names.update(dict.fromkeys(part.get("properties", ())))
        patterns.update(dict.fromkeys(part.get("patternProperties", ())))
        for marker, held in hidden.items():
            held.update(dict.fromkeys(part.get(marker, ())))
    if not names and not patterns and not any(hidden.values()):
        return  # a free-form object
    own = out.setdefault("properties", {})
    for name in names:
        own.setdefault(name, True)
    if patterns:
        own_patterns = out.setdefault("patternProperties", {})
        for pattern in patterns:
            own_patterns.setdefault(pattern, True)
    for marker, held in hidden.items():
        if held:
            out[marker] = [name for name in held if name not in own]
    out["additionalProperties"] = False


def _parts(out: Mapping[str, Any]) -> list[tuple[Mapping[str, Any], bool]]:
    """The object and every branch applied to it in place, however deeply nested; True marks
    an alternative (an `anyOf` branch), of which the instance need match only one."""
    parts: list[tuple[Mapping[str, Any], bool]] = [(out, False)]
    index = 0
    while index < len(parts):
        part = parts[index][0]
        index += 1
        for key in _IN_PLACE:
            value = part.get(key)
            branches = value if isinstance(value, list) else [value]
            alternative = key in ("anyOf", "oneOf")
            parts.extend((b, alternative) for b in branches if isinstance(b, Mapping))
    return parts


def _open(part: Mapping[str, Any], alternative: bool) -> bool:
    """Whether a branch lets any property through: it is anything (a cut recursive `$ref`),
    says so, or is an alternative that accepts any object."""
    if not part:
        return True
    extra = part.get("additionalProperties", part.get("unevaluatedProperties", False))
    if extra is not False:
        return True
    if not alternative:
        return False  # `allOf: [{type: object}, ...]` only asserts the type
    kind = part.get("type")
    is_object = kind == "object" or (isinstance(kind, list) and "object" in kind)
    return is_object and not any(
        p.get("properties") or p.get("patternProperties") for p, _ in _parts(part)
    )


def _bounds(node: Mapping[str, Any], out: dict[str, Any]) -> None:
    """Draft 4's boolean exclusive bounds, as the numbers 2020-12 expects."""
    for exclusive, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        flag = node.get(exclusive)
        if not isinstance(flag, bool):
            continue
        del out[exclusive]
        if flag and isinstance(node.get(bound), int | float):
            out[exclusive] = out.pop(bound)


def _nullable(node: Mapping[str, Any], out: dict[str, Any]) -> dict[str, Any]:
    if node.get("nullable") is not True and node.get("x-nullable") is not True:
        return out
    if "enum" in out and isinstance(out["enum"], list) and None not in out["enum"]:
        out["enum"] = [*out["enum"], None]
    kind = out.get("type")
    if isinstance(kind, str):
        out["type"] = [kind, "null"]
        return out
    if isinstance(kind, list):
        out["type"] = kind if "null" in kind else [*kind, "null"]
        return out
    return {"anyOf": [{"type": "null"}, out]} if out else out


def _compiles(pattern: str) -> bool:
    try:
        re.compile(pattern)
    except (re.error, TypeError):
        return False
    return True

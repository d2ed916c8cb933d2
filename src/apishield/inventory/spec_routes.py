"""Matching concrete paths and templates against documented operations, literal segments first."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from apishield.inventory.spec import SpecOperation

_PARAM = re.compile(r"\{([^{}/]*)\}")


def template_key(template: str) -> str:
    """A template with its parameter names blanked, so "/a/{id}" and "/a/{aId}" compare equal."""
    return _PARAM.sub("{}", template).strip("/")


def path_parameter_names(template: str) -> list[str]:
    return _PARAM.findall(template)


class _Node:
    __slots__ = ("literal", "op", "param", "patterns")

    def __init__(self) -> None:
        self.literal: dict[str, _Node] = {}
        self.patterns: dict[str, tuple[re.Pattern[str], _Node]] = {}
        self.param: _Node | None = None
        self.op: SpecOperation | None = None

    def child(self, segment: str) -> _Node:
        if "{" not in segment:
            return self.literal.setdefault(segment, _Node())
        if _PARAM.fullmatch(segment):
            self.param = self.param or _Node()
            return self.param
        key = _PARAM.sub("{}", segment)
        if key not in self.patterns:
            regex = "[^/]+?".join(re.escape(part) for part in key.split("{}"))
            self.patterns[key] = (re.compile(regex), _Node())
        return self.patterns[key][1]

    def find(self, segments: list[str], index: int) -> SpecOperation | None:
        if index == len(segments):
            return self.op
        segment = segments[index]
        literal = self.literal.get(segment)
        if literal is not None and (found := literal.find(segments, index + 1)) is not None:
            return found
        for regex, node in self.patterns.values():
            if regex.fullmatch(segment) and (found := node.find(segments, index + 1)) is not None:
                return found
        if self.param is not None and segment:
            return self.param.find(segments, index + 1)
        return None


class RouteIndex:
    """Operations by method and segment count, each a segment tree tried literal-first."""

    def __init__(self, operations: list[SpecOperation]) -> None:
        self.size = len(operations)
        self.templates: dict[tuple[str, str], SpecOperation] = {}
        self.roots: dict[tuple[str, int], _Node] = {}
        for op in operations:
            self.templates.setdefault((op.method, template_key(op.path)), op)
            segments = _segments(op.path)
            node = self.roots.setdefault((op.method, len(segments)), _Node())
            for segment in segments:
                node = node.child(segment)
            node.op = node.op or op

    def match(self, method: str, template: str) -> SpecOperation | None:
        key = template_key(template)
        found = self.templates.get((method, key))
        return self.templates.get(("GET", key)) if found is None and method == "HEAD" else found

    def match_path(self, method: str, path: str) -> SpecOperation | None:
        segments = _segments(path)
        root = self.roots.get((method, len(segments)))
        found = None if root is None else root.find(segments, 0)
        return self.match_path("GET", path) if found is None and method == "HEAD" else found


def _segments(path: str) -> list[str]:
    stripped = path.strip("/")
    return stripped.split("/") if stripped else []

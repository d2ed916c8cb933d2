"""Paths from an OpenAPI document, matched segment by segment: what `RouteLearner` answers with
before it learns anything, since a documented template beats a learned one."""

from __future__ import annotations

from collections.abc import Iterable
from re import Pattern

from apishield.normalise.segments import MAX_SEGMENT, decode, segment_pattern


class _SpecNode:
    __slots__ = ("literals", "patterns", "template", "wildcard")

    def __init__(self) -> None:
        self.literals: dict[str, _SpecNode] = {}
        self.patterns: list[tuple[Pattern[str], _SpecNode]] = []
        self.wildcard: _SpecNode | None = None
        self.template: str | None = None


class SpecPaths:
    """Documented paths: literal segments beat `{x}.json`-like ones, which beat a bare `{x}`."""

    def __init__(self, paths: Iterable[list[str]], *, fold_case: bool = False) -> None:
        """`paths` are documented paths already split into raw segments (`split_path`); with
        `fold_case`, literal segments match whatever their case, templates keep the spec's."""
        self.root = _SpecNode()
        self.empty = True
        self.fold_case = fold_case
        for segments in paths:
            self._add(segments)

    def _add(self, segments: list[str]) -> None:
        node, self.empty = self.root, False
        for segment in segments:
            # folded, a pattern's literal part (`{id}.JSON`) matches the folded text as well
            matcher = segment_pattern(segment.lower() if self.fold_case else segment)
            if matcher is None:
                text = decode(segment)
                node = node.literals.setdefault(
                    text.lower() if self.fold_case else text, _SpecNode()
                )
            elif matcher[0].pattern == "(.+?)":
                node.wildcard = node = node.wildcard or _SpecNode()
            else:
                node = self._pattern_child(node, matcher[0])
        if node.template is None:
            node.template = "/" + "/".join(segments)

    @staticmethod
    def _pattern_child(node: _SpecNode, pattern: Pattern[str]) -> _SpecNode:
        for known, child in node.patterns:
            if known.pattern == pattern.pattern:
                return child
        child = _SpecNode()
        node.patterns.append((pattern, child))
        node.patterns.sort(key=lambda item: -len(item[0].pattern))
        return child

    def match(self, segments: list[str]) -> str | None:
        if self.empty:
            return None
        if self.fold_case:
            return self._match(self.root, [decode(s).lower() for s in segments], 0)
        return self._match(self.root, [decode(s) for s in segments], 0)

    def _match(self, node: _SpecNode, texts: list[str], i: int) -> str | None:
        if i == len(texts):
            return node.template
        text = texts[i]
        child = node.literals.get(text)
        if child is not None and (found := self._match(child, texts, i + 1)) is not None:
            return found
        for pattern, child in node.patterns:
            if fits(pattern, text) and (found := self._match(child, texts, i + 1)) is not None:
                return found
        return None if node.wildcard is None else self._match(node.wildcard, texts, i + 1)


def fits(pattern: Pattern[str], text: str) -> bool:
    """Two parameters in one segment backtrack quadratically, so their input is bounded."""
    return (pattern.groups < 2 or len(text) <= MAX_SEGMENT) and bool(pattern.fullmatch(text))

"""Route templates learned from traffic: `/customers/40213377/profile` -> `/customers/{id}/profile`.

Names. A parameter is named by the kind of value seen there (`{id}`, `{uuid}`, `{hex}`,
`{token}`, `{email}`, `{phone}`, `{date}`, `{ip}`, or `{param}` for words learned to vary), and
a kind that repeats in one template gets a counter (`{id}`, `{id2}`). Names taken from the
preceding segment (`/customers/{customer_id}`) would need English singulars and have nothing to
go on after another parameter; kind names are stable and say what the value looked like.

Learning. Each host has a prefix tree of segments. Strong values (see `segments`) go to the
parameter child at once. Anything else is kept as a literal child until the evidence says the
position varies; then those children are folded into the parameter child, subtrees and all:

* weak values (short numbers, dates): a second value of the same kind, unless the first is
  established, so an API version date that is the only value under lots of traffic stays;
* codes (`US`, `GB`, …): `min_distinct` siblings of one shape with alike subtrees;
* words: `min_distinct` rarely seen siblings with the same word beneath (similar structure);
* leaves that read as values (`alice17`, slugs of four or more words): `min_distinct` of one
  shape, not yet established; the parameter then takes words of that shape only;
* any node whose literal children reach `MAX_LITERALS`: its rare ones, never a member with 32
  hits or more, or seen more than twice with paths beneath, however busy its siblings are.
  The parameter that crowd makes counts the words it takes since (`MAX_WORDS` at once) and
  splits one out again as a literal once it is established by the same test, so a prefix
  first seen after a scanner's sweep folded the root gets routes of its own; numbers and other
  values, and words under any other parameter, never split out.

These rules leave frequent siblings alone, so `/users/me` stays beside `/users/{id}`, and a
scanner's sweep at the root leaves `/v1` beside a busier `/v2`. A segment no endpoint is named
like (quotes, spaces, slashes: an attack's payload) goes to the parameter beside it, or is
rendered as `{param}` and not learned.
Until a fold, a value keeps its literal template: early requests get a provisional one. An
OpenAPI spec, when given, wins over all of this; paths it does not match are learned. Literals
are compared percent-decoded but rendered as first seen.

Memory. Literal children and extensions per node, nodes per host, hosts and path depth are
capped; past a cap the excess is folded into parameters, so a scanner's random paths cost a
bounded amount. Speed: a known literal costs one dict lookup, values are classified with `str`
methods, path parameters are read off the same walk that finds the template, and recent paths
without parameters map straight to their template until the tree changes. A learner
holds mutable state without locks: give each thread or worker its own.

Spellings. Routes and the limits and rules kept per route hold for every spelling of a path
that reaches the same handler, so a path is read as the server behind reads it (`split_path`).
Two spellings depend on that server. Case: with `fold_case` (`routes.case_insensitive`, for
IIS and ASP.NET) literals match whatever their case; without it a documented path still
matches in another case when nothing matches as sent, so a documented endpoint's rules hold
against either kind of server (a server that minds case answers such a request 404). An
encoded slash (`/api%2Fusers/1`): "separator" reads it as `/`, as servers that decode it
before routing do, "literal" as part of its segment; "either", when the server is not known,
reads it as `/` if that reaches a documented or learned route and the path as sent is not
documented, since the route it could reach is the one whose limits must hold.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from re import Pattern
from typing import Literal
from urllib.parse import unquote

from apishield.normalise.route_tree import Node, Tree
from apishield.normalise.segments import decode, segment_pattern
from apishield.normalise.spec_paths import SpecPaths, fits

MAX_HOSTS = 32
"""Hosts beyond this share one tree, as tenant subdomains usually serve one API."""
CACHE_SIZE = 4096
_WHOLE = re.compile(r"\{[^{}/]*\}")
"""A segment that is one parameter and nothing else, the common case."""

__all__ = ["EncodedSlash", "RouteLearner", "has_encoded_slash", "path_params", "split_path"]

EncodedSlash = Literal["either", "separator", "literal"]

_Recent = tuple[Tree | None, int, list[Node], str]


class RouteLearner:
    """Route templates per host, learned online from request paths."""

    def __init__(
        self,
        *,
        min_distinct: int = 8,
        spec_paths: Iterable[str] = (),
        fold_case: bool = False,
        encoded_slash: EncodedSlash = "either",
    ) -> None:
        if min_distinct < 2:
            raise ValueError(
                f"min_distinct={min_distinct}: use 2 or more (the default is 8), since one "
                "value cannot show that a position varies"
            )
        self.min_distinct = min_distinct
        self.fold_case = fold_case
        self.encoded_slash = encoded_slash
        documented = [split_path(path) for path in spec_paths]
        self._spec = SpecPaths(documented, fold_case=fold_case)
        self._folded = (
            None if fold_case or not documented else SpecPaths(documented, fold_case=True)
        )
        """Documented paths in any case, tried when nothing matches as sent."""
        self._trees: dict[str, Tree] = {}
        self._recent: dict[tuple[str, str], _Recent] = {}

    @property
    def node_count(self) -> int:
        """Nodes held over all hosts: what the memory caps bound."""
        return sum(tree.nodes for tree in self._trees.values())

    def observe(self, host: str, path: str) -> str:
        """Learn from one request path and return its current template."""
        return self.resolve(host, path)[0]

    def resolve(self, host: str, path: str) -> tuple[str, dict[str, str]]:
        """Learn from one request path: its current template and its path parameters.

        One walk gives both, as the last node of a walk knows where its template's parameters
        are. Only paths without parameters are remembered: one with parameters mostly names an
        object seen once, and remembering it would cost more, in memory and in garbage
        collection, than the walk it saves.
        """
        key = (host, path)
        recent = self._recent.get(key)
        if recent is not None:
            tree, version, trail, template = recent
            if tree is None or version == tree.version:
                for node in trail:
                    node.hits += 1
                return template, {}
        remember = True
        if "%2" in path and self.encoded_slash != "literal" and has_encoded_slash(path):
            read = self._slash_reading(host, path)
            # read as sent, it may read otherwise once the tree holds the decoded route
            remember = read is not path
            path, key = read, (host, read)
        segments = split_path(path)
        documented = None if self._spec.empty else self._documented(segments)
        if documented is not None:
            if "{" in documented:
                return documented, path_params(documented, path, fold_case=True)
            return self._remember(key, None, [], documented) if remember else documented, {}
        tree = self._trees.get(host) or self._tree(host)
        template, nodes = tree.observe(segments)
        if nodes is None:
            return template, path_params(template, path) if "{" in template else {}
        slots = (nodes[-1] if nodes else tree.root).slots
        if slots:
            params = {}  # a loop, not a comprehension, which would be a call of its own
            for index, name in slots:
                value = segments[index]
                params[name] = unquote(value) if "%" in value else value
            return template, params
        if "{" not in template:
            return self._remember(key, tree, nodes, template) if remember else template, {}
        # a parameter shares its segment
        return template, path_params(template, path, fold_case=self.fold_case)

    def template(self, host: str, path: str) -> str:
        """Current template without learning."""
        recent = self._recent.get((host, path))
        if recent is not None and (recent[0] is None or recent[1] == recent[0].version):
            return recent[3]
        if "%2" in path and self.encoded_slash != "literal" and has_encoded_slash(path):
            path = self._slash_reading(host, path)
        segments = split_path(path)
        documented = self._documented(segments)
        if documented is not None:
            return documented
        tree = self._known_tree(host) or Tree(self.min_distinct, fold_case=self.fold_case)
        return tree.render(tree.walk(segments, None))

    def _documented(self, segments: list[str]) -> str | None:
        documented = self._spec.match(segments)
        if documented is None and self._folded is not None:
            return self._folded.match(segments)
        return documented

    def _slash_reading(self, host: str, path: str) -> str:
        """The path with its encoded slashes read as the server behind reads them."""
        decoded = _ENCODED_SLASH.sub("/", path)
        if self.encoded_slash == "separator":
            return decoded
        if self._documented(split_path(path)) is not None:
            return path
        segments = split_path(decoded)
        if self._documented(segments) is not None:
            return decoded
        tree = self._known_tree(host)
        if tree is not None:
            trail, tail, _, ext = tree.walk(segments, None)
            if trail and not tail and not ext:
                return decoded
        return path

    def _known_tree(self, host: str) -> Tree | None:
        tree = self._trees.get(host.lower())
        return self._trees.get("*") if tree is None and self._full() else tree

    def _full(self) -> bool:
        return len(self._trees) >= MAX_HOSTS

    def _tree(self, host: str) -> Tree:
        host = host.lower()
        tree = self._trees.get(host)
        if tree is None:
            made = Tree(self.min_distinct, fold_case=self.fold_case)
            tree = self._trees.setdefault("*" if self._full() else host, made)
        return tree

    def _remember(
        self,
        key: tuple[str, str],
        tree: Tree | None,
        trail: list[Node],
        template: str,
    ) -> str:
        if len(self._recent) >= CACHE_SIZE:
            self._recent.clear()
        self._recent[key] = (tree, tree.version if tree else 0, trail, template)
        return template


_ENCODED_SLASH = re.compile("%2f", re.IGNORECASE)


def has_encoded_slash(path: str) -> bool:
    """Whether a path (before any query) holds `%2F`, which servers read two ways."""
    path = path.partition("?")[0]
    return "%2f" in path or "%2F" in path


def split_path(path: str) -> list[str]:
    """Raw segments as the server resolves them: no query, no empty segments, so `/a//b/` is
    `/a/b` and `` is `/`; dot segments resolved and path parameters dropped, so `/x/../a`,
    `/./a` and `/a;v=1` are `/a` too."""
    if "?" in path:
        path = path.partition("?")[0]
    if path[:1] != "/" and "://" in path:
        path = path.partition("://")[2].partition("/")[2]
    segments = path.strip("/").split("/")
    if "." in path or ";" in path or "%2" in path:
        return _resolved(segments)
    return [segment for segment in segments if segment] if "" in segments else segments


_DOT = frozenset({".", "%2e"})
_DOT_DOT = frozenset({"..", "%2e%2e", ".%2e", "%2e."})


def _resolved(segments: list[str]) -> list[str]:
    """Dot segments removed (RFC 3986 5.2.4, escaped dots as well, which several servers
    decode first) and `;` path parameters dropped (Tomcat and Jetty route `/a;x=1` as `/a`):
    a route's limits and rules then hold for every spelling of its path that reaches it."""
    resolved: list[str] = []
    for raw in segments:
        segment = raw.partition(";")[0] if ";" in raw else raw
        lowered = segment.lower()
        if lowered in _DOT_DOT:
            if resolved:
                resolved.pop()
        elif segment and lowered not in _DOT:
            resolved.append(segment)
    return resolved


def path_params(template: str, path: str, *, fold_case: bool = False) -> dict[str, str]:
    """Parameter name -> value for a path under a template (empty if it does not fit).

    Values are percent-decoded, so two spellings of one object ID count as one object; with
    `fold_case`, literal segments fit whatever their case.
    """
    count, steps = _plan(template, fold_case)
    segments = split_path(path)
    if len(segments) != count:
        return {}
    found: dict[str, str] = {}
    for index, literal, matcher, names in steps:
        text = decode(segments[index])
        if literal is not None:
            if literal != text and not (fold_case and literal.lower() == text.lower()):
                return {}
        elif matcher is None:
            found[names[0]] = text
        else:
            match = matcher.fullmatch(text) if fits(matcher, text) else None
            if match is None:
                return {}
            found.update(zip(names, match.groups(), strict=True))
    return found


_Step = tuple[int, str | None, "Pattern[str] | None", tuple[str, ...]]


@lru_cache(maxsize=4096)
def _plan(template: str, fold_case: bool) -> tuple[int, tuple[_Step, ...]]:
    """How to read a template's parameters, worked out once: most are whole segments."""
    steps: list[_Step] = []
    parts = _template_parts(template)
    for index, part in enumerate(parts):
        matcher = segment_pattern(part)
        if matcher is None:
            steps.append((index, decode(part), None, ()))
        elif _WHOLE.fullmatch(part):
            steps.append((index, None, None, matcher[1]))
        elif fold_case:
            folded = re.compile(matcher[0].pattern, re.DOTALL | re.IGNORECASE)
            steps.append((index, None, folded, matcher[1]))
        else:
            steps.append((index, None, matcher[0], matcher[1]))
    return len(parts), tuple(steps)


@lru_cache(maxsize=4096)
def _template_parts(template: str) -> tuple[str, ...]:
    return tuple(split_path(template))

"""One host's learned routes: a prefix tree of path segments, and the rules that fold literal
children into a parameter child. The algorithm is described in `routes`, which owns the trees.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import unquote

from apishield.normalise.segments import (
    Kind,
    classify,
    code_shape,
    decode,
    not_a_name,
    split_extension,
    word_shape,
)

MAX_LITERALS = 48
MAX_EXTENSIONS = 16
MAX_NODES = 4096
"""Per host, at about 0.8 kB a node; a large API needs a few hundred."""
MAX_DEPTH = 32
ESTABLISHED = 32
"""Hits after which a lone weak value (a version date), a word that reads as a value, or a
literal among a crowd counts as part of the API."""
RARE = 2
"""Hits up to which a word counts as rarely seen."""
MAX_WORDS = 256
"""Words a crowd's parameter counts at once, so that one that becomes part of the API (a
prefix first seen after a scanner's sweep folded the root) is split out again."""

_Step = tuple[str, str | None]
"""A piece of a template: (literal, None), (".ext", ""), or ("", parameter kind)."""


@dataclass(slots=True, eq=False)
class Node:
    label: str
    """A literal as first seen, or `.ext` for an extension; unused for a parameter."""
    kind: str | None = None
    """None for a literal, "" for an extension, else the parameter's kind."""
    weak: str | None = None
    """For a literal: the weak kind it holds, until a second value decides."""
    hits: int = 0
    literals: dict[str, Node] = field(default_factory=dict)
    param: Node | None = None
    exts: dict[str, Node] = field(default_factory=dict)
    open: bool = False
    """For a parameter: it takes words too, having absorbed many."""
    shapes: frozenset[str] = frozenset()
    """For a parameter: code shapes (`AA` once country codes were folded) and word shapes
    (`a0` once usernames like `alice17` were) it takes."""
    lengths: frozenset[int] = frozenset()
    """Lengths of its random tokens, so a token that happens to read as a word still fits."""
    words: dict[str, int] | None = None
    """For a parameter made by the crowd fold: hits per word it has taken since, until one is
    established and becomes a literal again."""
    template: str = ""
    version: int = -1
    """The tree version `template` was rendered at."""
    slots: tuple[tuple[int, str], ...] | None = None
    """For `template`: (segment index, parameter name) of each parameter, or None when one
    segment holds more than a parameter (`{id}.json`) and only a pattern can read it."""


_Route = tuple[list[Node], list[str], bool, str]
"""A walk's result: the nodes it ran through; the segments past the tree's reach (too deep, or
not learned) that are rendered from their kind; whether words among those are folded into
parameters, as past a memory cap; an extension of the last node that the tree does not hold.
A plain tuple, as this is built on every request."""


class Tree:
    """One host's routes, and the rules that fold literals into parameters."""

    def __init__(self, min_distinct: int, *, fold_case: bool = False) -> None:
        self.min_distinct = min_distinct
        self.fold_case = fold_case
        """Literals are keyed in lower case, for a server that routes `/Users` as `/users`;
        they render as first seen and values keep their case."""
        self.root = Node("")
        self.nodes = 1
        self.version = 0
        """Bumped by every fold, which is what invalidates cached templates."""

    def observe(self, segments: list[str]) -> tuple[str, list[Node] | None]:
        """Learn a path: its template, and the nodes a repeat would count a hit on (None when
        part of it is rendered outside the tree, which a cap may change without a fold)."""
        version = self.version
        changed: dict[Node, int] = {}
        route = self.walk(segments, changed)
        if changed:
            for node in sorted(changed, key=changed.__getitem__, reverse=True):
                self._settle(node)
            if self.version != version:
                route = self.walk(segments, None)
        trail, tail, _, ext = route
        if tail or ext:
            return self.render(route), None
        last = trail[-1] if trail else self.root
        if last.version == self.version:
            return last.template, trail
        return self.render(route), trail

    def walk(self, segments: list[str], changed: dict[Node, int] | None) -> _Route:
        """Follow (and with `changed`, learn) a path; `changed` collects nodes that grew."""
        node = self.root
        trail: list[Node] = []
        learn = changed is not None
        deep = len(segments) > MAX_DEPTH
        fold = self.fold_case
        for depth, raw in enumerate(segments[:MAX_DEPTH] if deep else segments):
            text = unquote(raw) if "%" in raw else raw
            child = node.literals.get(text.lower() if fold else text)
            if child is None:
                param = node.param
                if param is not None and "." not in raw and _takes(param, text, learn):
                    child = param
                    words = param.words
                    if learn and words is not None:
                        split = self._split(node, words, raw, text, depth < len(segments) - 1)
                        if split is not None:
                            child = split
                            if changed is not None:
                                changed[node] = depth
                else:
                    child, ext = self._place(node, raw, text, learn)
                    if child is None:
                        return trail, segments[depth:], deep or self.nodes >= MAX_NODES, ""
                    if changed is not None and child.hits == 0:
                        changed[node] = depth
                        changed.setdefault(trail[-2] if len(trail) > 1 else self.root, depth - 1)
                    if ext is not None:
                        child.hits += learn
                        trail.append(child)
                        child = self._extension(child, ext, learn)
                        if child is None:
                            rest = segments[depth + 1 :]
                            return trail, rest, deep or self.nodes >= MAX_NODES, ext
            child.hits += learn
            trail.append(child)
            node = child
        return trail, segments[MAX_DEPTH:] if deep else [], deep, ""

    def render(self, route: _Route) -> str:
        """The template, cached on its last node while the tree keeps its version."""
        trail, tail, fold, ext = route
        is_loose = tail or ext
        last = trail[-1] if trail else self.root
        if not is_loose and last.version == self.version:
            return last.template
        steps: list[_Step] = [(node.label, node.kind) for node in trail]
        if ext:
            steps.append(("." + ext, ""))
        if len(tail) > MAX_DEPTH:
            # a path of thousands of segments is an attack on whatever reads it: its template
            # keeps a bounded prefix, the rest is one {rest}
            loose = [*_loose_steps(tail[:MAX_DEPTH], fold), ("", "rest")]
        else:
            loose = _loose_steps(tail, fold)
        template = _render(steps + loose)
        if not is_loose:
            last.template, last.version = template, self.version
            last.slots = _slots(trail)
        return template

    def _place(
        self, node: Node, raw: str, text: str, learn: bool
    ) -> tuple[Node | None, str | None]:
        """The child for a segment that is not a known literal, made if `learn`."""
        split = split_extension(raw) if "." in raw else None
        ext = None
        if split is not None:
            raw, ext = split
            text = decode(raw)
            known = node.literals.get(text.lower() if self.fold_case else text)
            if known is not None:
                return known, ext
        kind = classify(text)
        param, full = node.param, self.nodes >= MAX_NODES
        if kind is not None and (kind.strong or param is not None):
            return self._param(node, kind, text, learn and not full), ext
        if kind is None and not_a_name(text):
            return param, None  # an attack's payload, extension and all, is no endpoint
        if param is not None and (full or _accepts(param, text)):
            return param, ext
        if not learn or full:
            return None, ext
        key = text.lower() if self.fold_case else text
        child = node.literals[key] = Node(_escape(raw), weak=kind.name if kind else None)
        self.nodes += 1
        return child, ext

    def _param(self, node: Node, kind: Kind, text: str, learn: bool) -> Node | None:
        param = node.param
        if param is None:
            if not learn:
                return None
            param = node.param = Node("", kind=kind.name)
            self.nodes += 1
        if learn and kind.strong and len(text) >= 16:
            _profile(param, text)
        return param

    def _extension(self, stem: Node, ext: str, learn: bool) -> Node | None:
        """Extensions hang off their stem and stay literal, so `{id}.json` and `{id}.xml` differ."""
        node = stem.exts.get(ext)
        if node is None and learn and self.nodes < MAX_NODES and len(stem.exts) < MAX_EXTENSIONS:
            node = stem.exts[ext] = Node("." + ext, kind="")
            self.nodes += 1
        return node

    def _split(
        self, node: Node, words: dict[str, int], raw: str, text: str, beneath: bool
    ) -> Node | None:
        """Count a word a crowd's parameter takes; once it is established as the crowd fold
        would keep it (frequent, or seen more than rarely with paths beneath), it becomes a
        literal again. Its subtree is learned afresh from then on: what the parameter learned
        from it stays there."""
        key = text.lower() if self.fold_case else text
        hits = words.get(key, 0) + 1
        if hits == 1 and len(words) >= MAX_WORDS:
            for word in [word for word, n in words.items() if n <= RARE]:
                del words[word]
            if len(words) >= MAX_WORDS:
                return None
        words[key] = hits
        if hits < ESTABLISHED and not (hits > RARE and beneath):
            return None
        del words[key]
        if self.nodes >= MAX_NODES or not _is_name(text):
            return None
        child = node.literals[key] = Node(_escape(raw), hits=hits - 1)
        self.nodes += 1
        self.version += 1
        return child

    def _settle(self, node: Node) -> None:
        """Apply the folding rules at one node after its children changed."""
        if node.literals:
            self._fold_weak(node)
        if len(node.literals) >= self.min_distinct:
            self._fold_codes(node)
            self._fold_similar(node)
            self._fold_values(node)
        if len(node.literals) >= MAX_LITERALS:
            self._fold_crowd(node)

    def _fold_weak(self, node: Node) -> None:
        """A second value of a weak kind makes a parameter; an established first one stays."""
        pending: dict[str, list[str]] = {}
        for key, child in node.literals.items():
            if child.weak is not None:
                pending.setdefault(child.weak, []).append(key)
        for kind, keys in pending.items():
            param = node.param
            take = keys
            if param is None or param.kind != kind:
                take = [key for key in keys if node.literals[key].hits < ESTABLISHED]
                if param is None and len(take) < 2:
                    continue
            if take:
                self._merge(node, take, kind)

    def _fold_codes(self, node: Node) -> None:
        """`min_distinct` codes of one shape with alike subtrees are values of one parameter."""
        groups: dict[str, list[str]] = {}
        fold = self.fold_case
        for key, child in node.literals.items():
            text = decode(child.label) if fold else key  # a code's shape is in its case
            shape = code_shape(text) if child.weak is None else None
            if shape is not None:
                groups.setdefault(shape, []).append(key)
        for shape, keys in groups.items():
            if len(keys) >= self.min_distinct and _alike([node.literals[k] for k in keys]):
                param = self._merge(node, keys, "param")
                param.shapes |= {shape}

    def _fold_similar(self, node: Node) -> None:
        """Rare words that share what lies beneath (`alice/repos`, `bob/repos`) are values."""
        rare = [(key, c) for key, c in node.literals.items() if c.hits <= RARE and c.literals]
        if len(rare) < self.min_distinct:
            return
        below, count = Counter(k for _, c in rare for k in c.literals).most_common(1)[0]
        if count >= self.min_distinct:
            self._merge(node, [key for key, c in rare if below in c.literals], "param").open = True

    def _fold_values(self, node: Node) -> None:
        """`min_distinct` leaves that read as generated values of one shape (`alice17`,
        `how-to-cook-pasta`) are values: a slug only while rarely seen, as fixed names can be
        hyphenated too; a word with digits until established. Plain words wait for the crowd,
        since a fixed set of them (`Daily`, `Monthly`, ...) starts as rare as values do."""
        groups: dict[str, list[str]] = {}
        for key, child in node.literals.items():
            if child.hits >= ESTABLISHED or child.literals or child.param or child.weak:
                continue
            shape = word_shape(key)
            if shape is not None and (shape == "a0" or child.hits <= RARE):
                groups.setdefault(shape, []).append(key)
        for shape, keys in groups.items():
            if len(keys) >= self.min_distinct:
                self._merge(node, keys, "param").shapes |= {shape}

    def _fold_crowd(self, node: Node) -> None:
        """The memory cap: a crowd of mostly single hits is a parameter bar the members that
        are part of the API (frequent, or seen more than rarely with paths beneath), however
        busy a sibling is; otherwise the rarest quarter goes, which keeps a large API's
        endpoints. A scanner's sweep of one-off paths folds; `/v1` beside a busy `/v2` stays."""
        ranked = sorted(node.literals, key=lambda key: node.literals[key].hits)
        hits = [node.literals[key].hits for key in ranked]
        if 2 * hits.count(1) >= len(hits):
            floor = min(ESTABLISHED, sum(hits) / self.min_distinct)
            keys = [
                key
                for key, n in zip(ranked, hits, strict=True)
                if n < floor and not (n > RARE and _leads_on(node.literals[key]))
            ]
        else:
            keys = ranked[: len(ranked) // 4]
        made = node.param is None
        param = self._merge(node, keys, "param")
        param.open = True
        if made:
            param.words = {}

    def _merge(self, node: Node, keys: list[str], kind: str) -> Node:
        """Fold literal children into the parameter child, subtrees and all."""
        param = node.param
        if param is None:
            param = node.param = Node("", kind=kind)
            self.nodes += 1
        for key in keys:
            self._absorb(param, node.literals.pop(key))
        self.version += 1
        return param

    def _absorb(self, into: Node, other: Node) -> None:
        """Union of two subtrees; the union may itself now call for folds below."""
        into.hits += other.hits
        self.nodes -= 1
        for mine, theirs in ((into.literals, other.literals), (into.exts, other.exts)):
            for key, child in theirs.items():
                if key in mine:
                    self._absorb(mine[key], child)
                else:
                    mine[key] = child
        if other.param is not None:
            if into.param is None:
                into.param = other.param
            else:
                self._absorb(into.param, other.param)
        into.open |= other.open
        into.shapes |= other.shapes
        into.lengths |= other.lengths
        self._settle(into)


def _render(steps: list[_Step]) -> str:
    """Numbering repeats (`{id}`, `{id2}`) keeps names unique, so `path_params` is a dict."""
    parts: list[str] = []
    seen: dict[str, int] = {}
    for label, kind in steps:
        if kind is None:
            parts.append(label)
        elif kind == "":
            parts[-1] += label
        else:
            seen[kind] = count = seen.get(kind, 0) + 1
            parts.append(f"{{{kind}{count}}}" if count > 1 else f"{{{kind}}}")
    return "/" + "/".join(parts)


def _slots(trail: list[Node]) -> tuple[tuple[int, str], ...] | None:
    """Where a walk's parameters are, named as `_render` names them, so that a request's path
    parameters are read from its segments without matching the template again."""
    slots: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    for index, node in enumerate(trail):
        kind = node.kind
        if kind == "":
            return None
        if kind is not None:
            seen[kind] = count = seen.get(kind, 0) + 1
            slots.append((index, f"{kind}{count}" if count > 1 else kind))
    return tuple(slots)


def _loose_steps(segments: list[str], fold: bool) -> list[_Step]:
    """Segments the tree does not hold: values by their kind, the rest literal unless folded;
    an attack's payload is a value, extension and all."""
    steps: list[_Step] = []
    for segment in segments:
        split = split_extension(segment) if "." in segment else None
        raw, ext = split or (segment, None)
        text = decode(raw)
        kind = classify(text)
        if kind is not None and kind.strong:
            steps.append(("", kind.name))
        elif kind is None and not_a_name(text):
            steps.append(("", "param"))
            continue
        else:
            steps.append(("", "param") if fold else (_escape(raw), None))
        if ext is not None:
            steps.append(("." + ext, ""))
    return steps


def _alike(nodes: list[Node]) -> bool:
    """Whether the subtrees are similar: values of one parameter lead to the same few places,
    while distinct endpoints that look alike (`/SMS`, `/SIP`, `/FAX`) each lead somewhere else."""
    beneath: set[str] = set()
    for node in nodes:
        beneath.update(node.literals)
        beneath.update("." + ext for ext in node.exts)
        if node.param is not None:
            beneath.add("{}")
    return len(beneath) <= len(nodes) // 2 + 1


def _is_name(text: str) -> bool:
    """Whether a word reads as an endpoint's name, not a value of any kind."""
    return classify(text) is None and word_shape(text) is None and not not_a_name(text)


def _leads_on(node: Node) -> bool:
    return bool(node.literals) or node.param is not None


def _takes(param: Node, text: str, learn: bool) -> bool:
    """Whether a parameter takes a value outright: the common case, kept off the slow path."""
    if param.open:
        return True
    if len(text) < 16 and text.isdigit() and text.isascii():
        return True  # a number, an ID to `classify` whatever it is, and too short to profile
    if param.shapes and word_shape(text) in param.shapes:
        return True  # a word of the shape of those folded here (`alice17`)
    kind = classify(text)
    if kind is None:
        return False
    if learn and kind.strong and len(text) >= 16:
        _profile(param, text)
    return True


def _profile(param: Node, text: str) -> None:
    """Remember a few lengths of the random values a parameter has taken, for `_accepts`."""
    if len(text) not in param.lengths and len(param.lengths) < 8 and text.isalnum():
        param.lengths |= {len(text)}


def _accepts(param: Node, text: str) -> bool:
    """Whether a segment that reads as a word is a value of this parameter after all."""
    if param.open or code_shape(text) in param.shapes:
        return True
    if param.shapes and word_shape(text) in param.shapes:
        return True
    if len(text) not in param.lengths or not text.isalnum():
        return False
    return not (text.isalpha() and (text.islower() or text.isupper()))


def _escape(raw: str) -> str:
    """Braces in a literal are encoded so that they never read as a parameter."""
    if "{" in raw or "}" in raw:
        return raw.replace("{", "%7B").replace("}", "%7D")
    return raw

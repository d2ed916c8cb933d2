"""A first look at a request's plain parts, so ordinary traffic skips value-by-value judging.

Most API requests carry IDs, dates, words and numbers in their path, query and cookies. Judging
each value separately (split, decode, scan) costs more than the rest of the pipeline, so the raw
parts are first scanned once, whole, for anything an injection could need: characters that code
uses, an encoding that could hide them, a SQL keyword, a path climb, or any signature at all. If
nothing is there, no value can hold an attack the full check would find, and the request is
quiet. The header values left to judge (a forwarded address, a client version, an API key) get
the same look once the plain parts are quiet, and are left out too when they are. The gate is a
superset by construction: every signature that could match a quiet text is in it as well, and
the buffer puts every value on a line of its own, where anchored signatures expect it.

A signature that cannot match without one of the suspicious characters (a quote, a bracket, a
control or non-ASCII byte...) adds nothing to the gate: wherever it could match, the suspicious
patterns already fire. Such signatures are left out of the gate's database, which makes the one
scan every request pays cheaper. Which ones they are is read off each pattern's syntax tree
(`needs_suspicious`), never assumed: a pattern the reading does not follow stays in.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Sequence
from functools import cache
from typing import Any

import hyperscan

from apishield.checks.hscache import compiled
from apishield.checks.signatures import Signature
from apishield.checks.signatures.base import confine

SUSPICIOUS = (
    # `&` too: the query is split at it, so a raw one is in a path or a cookie, where it is rare
    r"['\"`<>(){}\[\];|$\\*?!^~#&]|--",
    # any percent-escape but the harmless %20 %2C %2F %3A %40, which APIs send all the time
    r"%(?:[015-9a-fA-F][0-9a-fA-F]|2[1-9abdeABDE]|3[0-9b-fB-F]|4[1-9a-fA-F])",
    r"%[uU]",
    r"\+AD",
    r"\.\.",
    r"[\x00-\x08\x0b-\x1f\x7f-\xff]",  # \r included: a raw line break in a value arrives as one
    r"\b(?:or|and|xor|union|select|sleep|benchmark|waitfor|having|exec|execute|insert|update"
    r"|delete|drop|declare|procedure|rlike|regexp|shutdown|truncate|alter|create)\b",
    r"\b(?:order|group)[\s+]+by\b",
    r"://|:/|@",
)
"""What an injection needs, as raw text. Kept broad: a miss here is a missed attack."""

_COMMON_REASONS = re.compile(f"{SUSPICIOUS[0]}|{SUSPICIOUS[-1]}")
"""Two of the gate's own patterns, for `loud_at_a_glance`."""

_parser: Any = importlib.import_module("re._parser")
_op: Any = importlib.import_module("re._constants")
"""The standard library's regular-expression parser: its syntax trees say what a pattern needs."""
_CATEGORIES = {
    "CATEGORY_DIGIT": r"\d",
    "CATEGORY_NOT_DIGIT": r"\D",
    "CATEGORY_SPACE": r"\s",
    "CATEGORY_NOT_SPACE": r"\S",
    "CATEGORY_WORD": r"\w",
    "CATEGORY_NOT_WORD": r"\W",
}


class Gate:
    def __init__(self, signatures: Sequence[Signature]) -> None:
        patterns = [p.encode() for p in SUSPICIOUS]
        flags = [hyperscan.HS_FLAG_CASELESS | hyperscan.HS_FLAG_SINGLEMATCH] * len(patterns)
        for sig in signatures:
            form = gate_form(sig)
            if form is None:
                continue
            # confined as the matcher's are: `^` and `$` are the newlines around each value,
            # cheaper for Hyperscan than multi-line anchors
            patterns.append(confine(form).encode())
            flags.append(sig.flags | hyperscan.HS_FLAG_SINGLEMATCH)
        self._database = compiled(patterns, flags, range(len(patterns)))

    def quiet(self, text: str) -> bool:
        """True when nothing in `text` could start an injection. `text` holds one value per
        line (`targets.plain_parts`), with no line break inside a value."""
        found: list[int] = []

        def stop(sig_id: int, start: int, end: int, flags: int, context: object) -> bool:
            found.append(sig_id)
            return True  # one reason is enough: Hyperscan stops scanning

        try:
            buffer = f"\n{text}\n".encode("utf-8", "surrogatepass")
            self._database.scan(buffer, match_event_handler=stop)
        except hyperscan.ScanTerminated:
            return False
        except hyperscan.ScratchInUseError:
            return False  # another thread is scanning: judge value by value instead
        return not found

    def quiet_parts(self, first: str, second: str) -> tuple[bool, bool]:
        """Whether nothing in `first` could start an injection, and whether nothing in `first`
        nor in `second` could, in one scan. Each holds one value per line.

        Every pattern reports only its first match, and `first` comes first in the buffer: a
        pattern that matches anywhere in `first` reports there, so a `first` with no report is
        quiet whatever `second` holds. A match that ends on the line break between the two
        counts against `first`."""
        ends: list[int] = []

        def seen(sig_id: int, start: int, end: int, flags: int, context: object) -> None:
            ends.append(end)

        head = f"\n{first}\n".encode("utf-8", "surrogatepass")
        try:
            self._database.scan(
                head + f"{second}\n".encode("utf-8", "surrogatepass"), match_event_handler=seen
            )
        except hyperscan.ScratchInUseError:
            return False, False  # another thread is scanning: judge value by value instead
        if not ends:
            return True, True
        return min(ends) > len(head), False


def loud_at_a_glance(text: str) -> bool:
    """True when `text` holds one of the gate's commonest reasons (a bracket, a quote, a
    semicolon, `://`, `@`), which a regular expression finds at less cost than a scan: the gate
    would not call it quiet. For header values, where they are common (a Referer's `://`, a
    User-Agent's brackets)."""
    return _COMMON_REASONS.search(text) is not None


def gate_form(sig: Signature) -> str | None:
    """What the gate scans for `sig`: its gate form (or pattern) without the top-level
    alternatives that need a suspicious character, or None when every one of them does."""
    if needs_suspicious(sig.pattern):
        return None
    kept = [part for part in alternatives(sig.gate or sig.pattern) if not needs_suspicious(part)]
    return "|".join(kept) if kept else None


def alternatives(pattern: str) -> list[str]:
    """The top-level alternatives of `pattern`: split at each `|` outside groups, character
    classes and escapes."""
    parts: list[str] = []
    depth, start, index = 0, 0, 0
    in_class = False
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            # a `]` first in the class (after an optional `^`) is a member, not its end
            index += 2 if pattern.startswith("^]", index + 1) else 1
            index += 1 if pattern.startswith("]", index) else 0
            continue
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            parts.append(pattern[start:index])
            start = index + 1
        index += 1
    parts.append(pattern[start:])
    return parts


@cache
def needs_suspicious(pattern: str) -> bool:
    """True when every text `pattern` matches holds something SUSPICIOUS finds on its own: a
    character outside `_quiet_alphabet` or a pair of `_suspicious_pairs`.

    The pattern's syntax tree is walked for a way through that uses only quiet characters, two
    of which never stand side by side as a suspicious pair; the walk carries the set of last
    characters it can have reached. A construct it does not know lets any quiet text through,
    and a pattern Python's parser rejects counts as needing nothing: both keep the signature in
    the gate, the safe side.
    """
    try:
        tree = _parser.parse(pattern)
    except (re.error, RecursionError, OverflowError):
        return False
    return not _walk(tree, _START)


_START: frozenset[str] = frozenset({""})
"""Where a walk begins: nothing read yet, so no pair can be completed."""


def _walk(items: Any, states: frozenset[str]) -> frozenset[str]:
    """The last characters a quiet text can end on after matching `items` from `states`."""
    for op, argument in items:
        if not states:
            break
        states = _step(op, argument, states)
    return states


def _step(op: Any, argument: Any, states: frozenset[str]) -> frozenset[str]:
    if op is _op.LITERAL:
        return _read(frozenset({chr(argument)}), states)
    if op is _op.IN:
        return _read(_class_members(argument), states)
    if op is _op.NOT_LITERAL:
        return _read(_quiet_alphabet() - {chr(argument)}, states)
    if op is _op.ANY:
        return _read(_quiet_alphabet(), states)
    if op in (_op.MAX_REPEAT, _op.MIN_REPEAT, getattr(_op, "POSSESSIVE_REPEAT", None)):
        low, high, inner = argument
        for _ in range(low):
            states = _walk(inner, states)
        reached = states
        for _ in range(high - low):
            more = reached | _walk(inner, reached)
            if more == reached:
                break
            reached = more
        return reached
    if op is _op.SUBPATTERN:
        return _walk(argument[-1], states)
    if op is getattr(_op, "ATOMIC_GROUP", None):
        return _walk(argument, states)
    if op is _op.BRANCH:
        return frozenset().union(*(_walk(branch, states) for branch in argument[1]))
    if op is _op.AT:
        # the start of a value follows the gate text's line break: no pair runs across it
        return _START if str(argument) == "AT_BEGINNING" else states
    return _START | _quiet_alphabet()  # not understood: anything may have happened


def _read(chars: frozenset[str], states: frozenset[str]) -> frozenset[str]:
    """The quiet characters of `chars` that can follow one of `states` without a pair."""
    pairs = _suspicious_pairs()
    return frozenset(
        c for c in chars & _quiet_alphabet() if any(p + c not in pairs for p in states)
    )


def _class_members(items: Any) -> frozenset[str]:
    """The quiet characters a character class admits."""
    quiet = _quiet_alphabet()
    admitted: set[str] = set()
    negated = False
    for op, argument in items:
        if op is _op.NEGATE:
            negated = True
        elif op is _op.LITERAL:
            admitted.add(chr(argument))
        elif op is _op.RANGE:
            low, high = argument
            admitted.update(c for c in quiet if low <= ord(c) <= high)
        elif op is _op.CATEGORY and str(argument) in _CATEGORIES:
            spelled = _CATEGORIES[str(argument)]
            admitted.update(c for c in quiet if re.fullmatch(spelled, c, re.ASCII))
        else:
            return quiet  # not understood: assume it admits everything
    return quiet - admitted if negated else quiet & admitted


@cache
def _quiet_alphabet() -> frozenset[str]:
    """Characters that can stand in the gate's text without SUSPICIOUS firing on them alone:
    printable ASCII and tab, less what SUSPICIOUS finds. A line break inside a value (`\\n` in a
    pattern) is a carriage return in the gate's text, a control byte, so never quiet."""
    printable = (chr(code) for code in (0x09, *range(0x20, 0x7F)))
    return frozenset(c for c in printable if not _flagged(c))


@cache
def _suspicious_pairs() -> frozenset[str]:
    """Two quiet characters SUSPICIOUS finds together (`--`, `..`, `:/`, `%u`). Two word
    characters never count: SUSPICIOUS's words (`or`) need word boundaries the walk does not
    track, and inside a longer word they are quiet."""
    quiet = _quiet_alphabet()
    return frozenset(
        pair
        for pair in (first + second for first in quiet for second in quiet)
        if not _WORD_PAIR.fullmatch(pair) and _flagged(pair)
    )


_WORD_PAIR = re.compile(r"\w\w", re.ASCII)


@cache
def _suspicious_bytes() -> tuple[re.Pattern[bytes], ...]:
    return tuple(re.compile(p.encode(), re.IGNORECASE) for p in SUSPICIOUS)


def _flagged(text: str) -> bool:
    """Whether SUSPICIOUS finds something in `text` standing alone as a value."""
    data = text.encode("ascii")
    return any(pattern.search(data) for pattern in _suspicious_bytes())

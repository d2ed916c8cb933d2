"""Every injection signature over every value of a request in one Hyperscan scan.

Hyperscan compiles all patterns into one automaton and never backtracks, so a benign request costs
one linear pass whatever the number of signatures, and no input can make a pattern go
exponential. The texts of a request (each value and its decoded variants) are joined into one
buffer and scanned once; each match is mapped back to the text it ended in.

The buffer holds one text per line, with a newline before the first and after the last, and a
newline inside a text becomes a carriage return (CRLF signatures look for `\\r`). Every pattern
is compiled through `signatures.base.confine`, which keeps it on one line: `^` and `$` become
that newline (the same meaning, and far cheaper for Hyperscan than multi-line anchors), and `\\s`
and negated classes no longer match it. So no match spans two texts.

Patterns carry HS_FLAG_SINGLEMATCH, so a signature is reported once per scan, at the first text it
fires in: a hostile value repeating a payload a thousand times still costs one callback. A caller
that needs a signature on every text it fires in (a cheap pre-filter that picks values for a
slower check) names it in `every_text`: its pattern is extended to the end of the line, so
Hyperscan reports it at most once per text, never once per character.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Collection, Sequence
from functools import lru_cache

import hyperscan

from apishield.checks.hscache import compiled
from apishield.checks.signatures import SIGNATURES, Signature
from apishield.checks.signatures.base import confine

SEPARATOR = b"\n"
_ALWAYS = hyperscan.HS_FLAG_SINGLEMATCH


class SignatureError(ValueError):
    """A signature that Hyperscan cannot compile; the message names it and says why."""


class Matcher:
    """One compiled block-mode database over a fixed list of signatures."""

    def __init__(
        self, signatures: Sequence[Signature] = SIGNATURES, every_text: Collection[str] = ()
    ) -> None:
        self.signatures: tuple[Signature, ...] = tuple(signatures)
        self.every_text = frozenset(every_text)
        unknown = self.every_text - {sig.rule_id for sig in self.signatures}
        if unknown:
            raise ValueError(
                f"every_text names rule ids not among the signatures: {sorted(unknown)}"
            )
        self._database = _compile(self.signatures, self.every_text) if self.signatures else None

    def scan(self, texts: Sequence[str]) -> list[tuple[int, Signature]]:
        """(index of the text, signature) for each signature that fires, in order of match."""
        if self._database is None or not texts:
            return []
        buffer = _join(texts)
        hits: list[tuple[int, Signature]] = []
        signatures = self.signatures
        starts: list[int] = []

        def on_match(sig_id: int, start: int, end: int, flags: int, context: object) -> None:
            if not starts:
                starts.extend(_starts(texts))
            # The last byte of a match lies in its text, or in the newline after it.
            index = max(bisect_right(starts, end - 1) - 1, 0)
            hits.append((index, signatures[sig_id]))

        try:
            self._database.scan(buffer, match_event_handler=on_match)
        except hyperscan.ScratchInUseError:
            # Another thread is scanning with the shared scratch: use a private copy.
            hits.clear()
            scratch = self._database.scratch.clone()
            self._database.scan(buffer, match_event_handler=on_match, scratch=scratch)
        return hits


def _compile(signatures: tuple[Signature, ...], every_text: frozenset[str]) -> hyperscan.Database:
    expressions: list[bytes] = []
    flags: list[int] = []
    for sig in signatures:
        pattern = confine(sig.pattern)
        if sig.rule_id in every_text:
            expressions.append(f"(?:{pattern})[^\\n]*\\n".encode())
            flags.append(sig.flags)
        else:
            expressions.append(pattern.encode("utf-8"))
            flags.append(sig.flags | _ALWAYS)
    try:
        return compiled(expressions, flags, range(len(signatures)))
    except hyperscan.error as exc:
        raise SignatureError(f"{_culprit(signatures)}: {exc}") from exc


def _culprit(signatures: tuple[Signature, ...]) -> str:
    """Name the first signature that fails on its own, so a bad pattern is easy to find."""
    for sig in signatures:
        single = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        try:
            single.compile(expressions=[confine(sig.pattern).encode()], flags=sig.flags | _ALWAYS)
        except hyperscan.error:
            return f"signature {sig.rule_id} pattern {sig.pattern!r} does not compile"
    return "the signature set does not compile as a whole"


def _join(texts: Sequence[str]) -> bytes:
    """One buffer, one line per text. The common all-ASCII case costs two C-level passes."""
    joined = "\n".join(texts)
    if joined.count("\n") != len(texts) - 1:
        joined = "\n".join(text.replace("\n", "\r") for text in texts)
    joined = f"\n{joined}\n"
    if joined.isascii():
        return joined.encode("ascii")
    return joined.encode("utf-8", errors="surrogatepass")


def _starts(texts: Sequence[str]) -> list[int]:
    """Byte offset at which each text starts in the buffer; computed only once something matched."""
    starts: list[int] = []
    offset = len(SEPARATOR)
    for text in texts:
        starts.append(offset)
        size = len(text) if text.isascii() else len(text.encode("utf-8", errors="surrogatepass"))
        offset += size + len(SEPARATOR)
    return starts


@lru_cache(maxsize=1)
def default_matcher() -> Matcher:
    """The shared matcher over SIGNATURES, built on first use (compiling takes a moment;
    loading from an installed `hscache` store does not)."""
    return Matcher()

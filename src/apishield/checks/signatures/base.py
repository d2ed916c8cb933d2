"""What a signature is, and the pattern pieces the per-class modules share.

Patterns are Hyperscan syntax: no backreferences and no lookaround. They run over each text of a
request joined by newlines (see `checks.matcher`), so `^` and `$` mean the start and end of one
value; `confine` narrows `\\s` and negated classes so that no match runs into the next value.
"""

from __future__ import annotations

from dataclasses import dataclass

import hyperscan

from apishield.exchange import Severity

CASELESS = hyperscan.HS_FLAG_CASELESS

CLASSES = (
    "sqli",
    "xss",
    "rce",
    "lfi",
    "rfi",
    "ssrf",
    "log4shell",
    "nosqli",
    "xxe",
    "ssti",
    "ssi",
    "ldap",
    "crlf",
    "php",
    "java",
    "nodejs",
    "prototype_pollution",
    "perl",
    "ruby",
    "session_fixation",
    "scanner",
)
"""Every attack class a signature may name, in the order reports list them."""


@dataclass(frozen=True, slots=True)
class Signature:
    """One attack technique: a stable id, its class, and the Hyperscan pattern that finds it."""

    rule_id: str
    """Stable id such as "inj.xss.script-tag"; findings and suppressions refer to it."""
    cls: str
    """One of CLASSES."""
    title: str
    pattern: str
    severity: Severity
    """HIGH when the pattern alone is a confident attack, MEDIUM for a weaker signal."""
    flags: int = CASELESS
    gate: str = ""
    """A cheaper pattern the gate (`checks.gate`) scans instead: one that matches wherever
    `pattern` does in a text without any of the gate's SUSPICIOUS characters. Empty: the gate
    scans `pattern` itself."""


def high(
    rule_id: str, cls: str, title: str, pattern: str, flags: int = CASELESS, gate: str = ""
) -> Signature:
    """A confident signature: the technique rarely appears in benign input."""
    return Signature(f"inj.{cls}.{rule_id}", cls, title, pattern, Severity.HIGH, flags, gate)


def medium(rule_id: str, cls: str, title: str, pattern: str, flags: int = CASELESS) -> Signature:
    """A weaker signal: worth a finding, not enough on its own to block."""
    return Signature(f"inj.{cls}.{rule_id}", cls, title, pattern, Severity.MEDIUM, flags)


def spread(word: str, junk: str) -> str:
    """`word` with `junk` between its letters, at least once: `ja&tab;vascript`, `f o r m`.

    The plain spelling is left to other signatures; a word broken up this way is evasion.
    """
    parts = []
    for i in range(1, len(word)):
        rest = (junk + "*").join(word[i:])
        parts.append(f"{word[:i]}{junk}+{rest}")
    return "(?:" + "|".join(parts) + ")"


_BLANK = r"\t\x0b\x0c\r "


def confine(pattern: str) -> str:
    """Keep a pattern inside one text: nothing in it can match the newline that joins texts.

    Patterns are written with the usual `\\s`, `\\n` and `[^...]`. The matcher joins texts with
    `\\n` and turns a newline inside a text into `\\r`, so it compiles each pattern through this
    once: `\\s` loses the newline, `\\n` means `\\r`, and negated classes exclude the newline.
    `^` and `$` become the newlines around every text in the buffer: the same meaning, and much
    cheaper for Hyperscan than multi-line anchors.
    """
    out: list[str] = []
    in_class = negated = False
    i = 0
    while i < len(pattern):
        pair = pattern[i : i + 2]
        if pair[0] == "\\" and len(pair) == 2:
            out.append(_escape(pair, in_class, negated))
            i += 2
        elif pair[0] == "[" and not in_class:
            in_class, negated = True, pair == "[^"
            out.append("[^\\n" if negated else "[")
            i += 2 if negated else 1
            if pattern.startswith("]", i):
                out.append("\\]")
                i += 1
        else:
            in_class = in_class and pair[0] != "]"
            out.append("\\n" if pair[0] in "$^" and not in_class else pair[0])
            i += 1
    return "".join(out)


def _escape(pair: str, in_class: bool, negated: bool) -> str:
    if pair == "\\s":
        return _BLANK if in_class else f"[{_BLANK}]"
    if pair == "\\n" and not negated:
        return "\\r"
    return pair

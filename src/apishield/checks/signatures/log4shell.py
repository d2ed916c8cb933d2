"""Log4Shell (CVE-2021-44228): a JNDI lookup in any logged value, through Log4j's own nesting
(`${lower:j}`, `${::-j}`, `${env:X:-j}`) that hides the word `jndi` from plain filters."""

from __future__ import annotations

from apishield.checks.signatures.base import Signature, high, medium

_PIECE = r"(?:[^${}\n]|\$\{[^{}\n]*\})*"
"""Letters or whole nested lookups, such as `${lower:j}` or `${::-n}`."""

SIGNATURES: tuple[Signature, ...] = (
    high("jndi", "log4shell", "JNDI lookup", r"\$\{\s*jndi\s*:"),
    high(
        "nested-jndi",
        "log4shell",
        "JNDI lookup spelled through nested Log4j lookups",
        rf"\$\{{{_PIECE}\$\{{[^{{}}\n]*\}}{_PIECE}:\s*{_PIECE}(?:ldaps?|rmi|dns|iiop|corba|nds|nis|"
        r"https?)\s*:|\$\{[^\n]*\$\{\s*(?:lower|upper|::-|env:[^}\n]*:-)[^}\n]*[jJ]\s*\}",
    ),
    high(
        "lookup-protocol",
        "log4shell",
        "Log4j lookup around a directory protocol URL",
        r"\$\{[^\n]*(?:ldaps?|rmi|iiop|corba|nds|nis|dns)(?:\}|:|\$\{)[^\n]*//",
    ),
    medium(
        "lookup",
        "log4shell",
        "Log4j lookup that leaks environment or system data",
        r"\$\{\s*(?:env|sys|java|main|ctx|jvmrunargs|spring|k8s|docker|bundle|web|log4j|"
        r"marker|sd|map|event|base64|lower|upper|date|hostname|::-)[^}\n]*\}",
    ),
)

"""The injection signatures: one explicit list, assembled from one module per attack family.

`SIGNATURES` is the list `checks.matcher` compiles. A signature's `rule_id` is stable (findings,
suppressions and tests refer to it); its `cls` is one of `CLASSES`.
"""

from __future__ import annotations

from apishield.checks.signatures import (
    data,
    files,
    java,
    log4shell,
    other,
    php,
    protocol,
    rce,
    sqli,
    ssrf,
    xss,
)
from apishield.checks.signatures.base import CLASSES, Signature

SIGNATURES: tuple[Signature, ...] = (
    *sqli.SIGNATURES,
    *xss.SIGNATURES,
    *rce.SIGNATURES,
    *files.SIGNATURES,
    *ssrf.SIGNATURES,
    *log4shell.SIGNATURES,
    *data.SIGNATURES,
    *protocol.SIGNATURES,
    *php.SIGNATURES,
    *java.SIGNATURES,
    *other.SIGNATURES,
)

__all__ = ["CLASSES", "SIGNATURES", "Signature"]

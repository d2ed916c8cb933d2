"""Runs the registered checks of one phase as a pipeline stage, each check contained on its own."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence

from apishield.checks.registry import Check, CheckContext, Phase
from apishield.exchange import Exchange

log = logging.getLogger("apishield.checks")


class CheckStage:
    """One stage per phase; a check that raises is counted and skipped, the others still run."""

    def __init__(self, phase: Phase, checks: Sequence[Check], context: CheckContext) -> None:
        self.name = f"checks.{phase.value}"
        self.checks = tuple(check for check in checks if check.phase is phase)
        self.context = context
        self.errors: Counter[str] = Counter()

    def __call__(self, exchange: Exchange) -> None:
        findings = exchange.findings
        context = self.context
        for check in self.checks:
            try:
                found = check.run(exchange, context)
                if found:  # most checks find nothing in most requests
                    findings.extend(found)
            except Exception:
                self.errors[check.name] += 1
                if self.errors[check.name] <= 3:
                    log.exception("check %s failed on %s; skipped", check.name, exchange.source)

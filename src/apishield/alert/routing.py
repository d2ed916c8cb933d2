"""Which alerts a sink takes: at least its minimum severity, and only the kinds it lists."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from apishield.alert.alert import Alert
from apishield.exchange import Severity


def severity(label: str) -> Severity:
    """ "high" -> Severity.HIGH, for the labels the configuration accepts."""
    return Severity[label.upper()]


@dataclass(frozen=True, slots=True)
class Route:
    min_severity: Severity = Severity.HIGH
    kinds: frozenset[str] = frozenset(("incident", "finding"))

    @classmethod
    def of(cls, min_severity: str, kinds: Iterable[str]) -> Route:
        return cls(severity(min_severity), frozenset(kinds))

    def accepts(self, alert: Alert) -> bool:
        return alert.severity >= self.min_severity and alert.kind in self.kinds

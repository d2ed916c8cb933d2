"""The `Alerter`: what the analysis thread calls on incidents and findings.

Every call decides in the caller's thread (severity, routing, de-duplication; microseconds) and
hands the alert to each sink's dispatcher, whose own thread does the I/O. Nothing here raises
into analysis: a malformed summary is logged (the first three) and counted.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from apishield.alert.alert import Alert, from_finding, from_incident
from apishield.alert.dedup import Cooldown, Grades
from apishield.alert.dispatcher import Dispatcher
from apishield.alert.routing import Route, severity
from apishield.alert.sinks import build_sink
from apishield.config import AlertsConfig
from apishield.exchange import Exchange, Finding, Severity

log = logging.getLogger("apishield.alert")
LOGGED_ERRORS = 3


@dataclass(slots=True)
class Outlet:
    """One configured sink: what it takes, what it has said lately, and its thread."""

    route: Route
    cooldown: Cooldown
    dispatcher: Dispatcher

    def offer(self, alert: Alert, key: tuple[str, str] | None = None) -> None:
        """Queue `alert` if routed here; `key` (actor, rule) goes through the cool-down."""
        if not self.route.accepts(alert):
            return
        if key is not None and not self.cooldown.allow(key):
            self.dispatcher.counts.suppressed += 1
            return
        self.dispatcher.offer(alert)


class Alerter:
    """Called from the analysis thread; decides there, delivers on each sink's own thread."""

    def __init__(
        self,
        outlets: Sequence[Outlet] = (),
        *,
        findings_min_severity: str = "high",
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.outlets = list(outlets)
        self._findings_min = (
            None if findings_min_severity == "off" else severity(findings_min_severity)
        )
        self._grades = Grades()
        self._clock = wall_clock
        self._lock = threading.Lock()
        self.errors = 0

    @classmethod
    def from_config(
        cls, config: AlertsConfig, *, clock: Callable[[], float] = time.monotonic
    ) -> Alerter:
        """Build the sinks and start their threads; with none configured, every call is a no-op.
        `clock` measures cool-downs (tests pass their own). Raises ConfigError for an unreadable
        password file."""
        sinks = [build_sink(sink) for sink in config.sinks]  # all read before a thread starts
        outlets = []
        names: dict[str, int] = {}
        for sink_config, sink in zip(config.sinks, sinks, strict=True):
            kind = sink_config.type
            names[kind] = names.get(kind, 0) + 1
            name = kind if names[kind] == 1 else f"{kind}-{names[kind]}"
            dispatcher = Dispatcher(
                name,
                sink,
                capacity=config.queue,
                retries=config.retries,
                backoff=config.backoff_seconds,
            )
            route = Route.of(sink_config.min_severity, sink_config.kinds)
            outlets.append(Outlet(route, Cooldown(config.cooldown_seconds, clock), dispatcher))
        return cls(outlets, findings_min_severity=config.findings_min_severity)

    def incident(self, summary: Mapping[str, Any]) -> None:
        """An incident opened or grew: alert when it is new or its severity rose."""
        if not self.outlets:
            return
        try:
            key = (summary["id"], summary.get("scope"))
            with self._lock:
                if not self._grades.rises(key, severity(str(summary["severity"]))):
                    return
                alert = from_incident(summary, self._clock())
                for outlet in self.outlets:
                    outlet.offer(alert)
        except Exception:
            self._error("an incident summary")

    def finding(self, exchange: Exchange) -> None:
        """Findings were just added to `exchange`: alert on those at or above the threshold, once
        per (actor, rule) and sink within the cool-down."""
        threshold = self._findings_min
        if not exchange.findings or not self.outlets or threshold is None:
            return
        try:
            chosen = _chosen(exchange.findings, threshold)
            if not chosen:
                return
            actor = exchange.actor
            key = actor.key if actor is not None else f"ip:{exchange.request.peer_ip}"
            with self._lock:
                now = self._clock()
                for finding in chosen:
                    alert = from_finding(exchange, finding, key, now)
                    for outlet in self.outlets:
                        outlet.offer(alert, (key, finding.rule_id))
        except Exception:
            self._error("a finding")

    def stats(self) -> dict[str, Any]:
        """{"sinks": {name: {sent, failed, retried, dropped, suppressed, queued}}, "errors": n}."""
        sinks = {outlet.dispatcher.name: outlet.dispatcher.stats() for outlet in self.outlets}
        return {"sinks": sinks, "errors": self.errors}

    def close(self, timeout: float = 5.0) -> None:
        """Deliver what is queued within `timeout` seconds, then stop every sink's thread. A
        thread still inside a delivery (a receiver that does not answer) is left to finish on
        its own; it is a daemon and holds nothing."""
        deadline = time.monotonic() + timeout
        for outlet in self.outlets:
            outlet.dispatcher.stop(deadline)
        for outlet in self.outlets:
            outlet.dispatcher.join(deadline)

    def _error(self, what: str) -> None:
        self.errors += 1
        if self.errors <= LOGGED_ERRORS:
            log.warning("alerts: could not read %s; no alert raised", what, exc_info=True)


def _chosen(findings: Sequence[Finding], threshold: Severity) -> list[Finding]:
    """The findings at or above `threshold`, the most severe of each rule."""
    best: dict[str, Finding] = {}
    for finding in findings:
        if finding.severity < threshold:
            continue
        held = best.get(finding.rule_id)
        if held is None or finding.severity > held.severity:
            best[finding.rule_id] = finding
    return list(best.values())

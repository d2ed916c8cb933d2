"""The `Alerter`: what the analysis thread calls on incidents and findings.

Every call decides in the caller's thread (severity, routing, de-duplication; microseconds) and
hands the alert to each sink's dispatcher, whose own thread does the I/O. Nothing here raises
into analysis: a malformed summary is logged (the first three) and counted.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from apishield.alert.alert import Alert, from_finding, from_incident
from apishield.alert.dedup import Campaigns, Cooldown, Grades
from apishield.alert.dispatcher import Dispatcher
from apishield.alert.routing import Route, severity
from apishield.alert.sinks import build_sink
from apishield.config import AlertsConfig
from apishield.exchange import Actor, Exchange, Finding, Severity

log = logging.getLogger("apishield.alert")
LOGGED_ERRORS = 3


@dataclass(slots=True)
class Outlet:
    """One configured sink: what it takes, what it has said lately, and its thread."""

    route: Route
    cooldown: Cooldown
    dispatcher: Dispatcher

    def offer(self, alert: Alert, keys: Sequence[Hashable] = ()) -> None:
        """Queue `alert` if routed here and none of `keys` ((who, rule) pairs) is cooling down."""
        if not self.route.accepts(alert):
            return
        if keys and not self.cooldown.allow(*keys):
            self.dispatcher.counts.suppressed += 1
            return
        self.dispatcher.offer(alert)

    def suppress(self, alert: Alert) -> None:
        """Count `alert`, if routed here, as said already."""
        if self.route.accepts(alert):
            self.dispatcher.counts.suppressed += 1


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
        self._campaigns = Campaigns()
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
        """Findings were just added to `exchange`: alert on those at or above the threshold. A
        campaign's findings alert once per campaign and again when their severity rises; the
        others once per (actor, rule) and sink within the cool-down, and no more often than
        their address when the actor's credentials are unverified (`_cooling`)."""
        threshold = self._findings_min
        if not exchange.findings or not self.outlets or threshold is None:
            return
        try:
            chosen = _chosen(exchange.findings, threshold)
            if not chosen:
                return
            actor = exchange.actor
            ip = actor.ip if actor is not None else exchange.request.peer_ip
            key = actor.key if actor is not None else f"ip:{ip}"
            with self._lock:
                now = self._clock()
                for finding in chosen:
                    if finding.scope.startswith("campaign:"):
                        self._campaign(exchange, finding, key, now)
                        continue
                    who, keys = _cooling(finding, actor, key, ip)
                    alert = from_finding(exchange, finding, who, now)
                    for outlet in self.outlets:
                        outlet.offer(alert, keys)
        except Exception:
            self._error("a finding")

    def _campaign(self, exchange: Exchange, finding: Finding, actor: str, now: float) -> None:
        alert = from_finding(exchange, finding, actor, now)
        said = not self._campaigns.rises(finding.scope, finding.severity, exchange.started)
        for outlet in self.outlets:
            if said:
                outlet.suppress(alert)
            else:
                outlet.offer(alert)

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


def _cooling(
    finding: Finding, actor: Actor | None, key: str, ip: str
) -> tuple[str, list[tuple[str, str]]]:
    """Whom a finding is about and the (who, rule) keys of its cool-down.

    A detector's finding is about its scope's actor (the address, for a rule that counts by IP).
    Credentials apishield cannot verify (API keys, sessions, Basic users, JWTs without a
    configured key) cost a scanner nothing to invent afresh on every request, so their findings
    also cool down on the client address: one address alerts once per rule, however many
    credentials it sends. A verified JWT's identity alerts on its own.
    """
    who = finding.scope.removeprefix("actor:") if finding.scope.startswith("actor:") else key
    keys = [(who, finding.rule_id)]
    address = f"ip:{ip}"
    if address != who and not (actor is not None and actor.jwt_verified):
        keys.append((address, finding.rule_id))
    return who, keys


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

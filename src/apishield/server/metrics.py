"""Prometheus metrics of a server: what it saw, decided and found, and how far behind it is.

Its own registry (not the process-global one), so two servers in one process (tests, the demo)
never collide. Labels are bounded: rule ids and severities are finite; endpoints are route
templates the inventory has seen at least `SETTLED` times (a template from a few requests may
still be a raw path, with a user's name in it), numbers and other values in them shown by their
kind, at most `MAX_ENDPOINTS` of them; the rest are "unsettled" or "other".
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from apishield.detect.incidents import Incident
from apishield.exchange import Exchange, threat_label

MAX_ENDPOINTS = 500
SETTLED = 100
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "apishield_requests", "Exchanges analysed, by threat level", ["threat"], registry=r
        )
        self.decisions = Counter(
            "apishield_decisions",
            "Decisions other than a plain allow, by action and whether enforced",
            ["action", "enforced"],
            registry=r,
        )
        self.findings = Counter(
            "apishield_findings",
            "Findings, by rule and severity",
            ["rule", "severity"],
            registry=r,
        )
        self.incidents = Counter(
            "apishield_incidents",
            "Incidents opened, by the rule that opened them, category and severity at opening",
            ["rule", "category", "severity"],
            registry=r,
        )
        self.latency = Histogram(
            "apishield_upstream_latency_seconds",
            "Answer time per endpoint (method and route template)",
            ["endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.lag = Gauge(
            "apishield_ingest_lag_seconds",
            "Wall clock minus the event time of the latest exchange analysed",
            registry=r,
        )
        self.queue = Gauge("apishield_queue_depth", "Exchanges waiting for analysis", registry=r)
        self.dropped = Counter(
            "apishield_ingest_refused",
            "Exchanges refused because the analysis queue was full (senders retry)",
            registry=r,
        )
        self._endpoints: set[str] = set()

    def watch_alerts(self, stats: Callable[[], Mapping[str, Any]]) -> None:
        """Export the alerter's counts (`Alerter.stats`), read when /metrics is scraped."""
        self.registry.register(_AlertCollector(stats))

    def exchange(self, exchange: Exchange, endpoint: str | None = None) -> None:
        """`endpoint`: "METHOD template" once the template is settled, else None."""
        self.requests.labels(threat_label(exchange.threat_level)).inc()
        decision = exchange.decision
        if decision.rule:
            self.decisions.labels(decision.action.value, str(decision.enforced).lower()).inc()
        for finding in exchange.findings:
            self.findings.labels(finding.rule_id, finding.severity.label).inc()
        if exchange.duration is not None:
            self.latency.labels(self._endpoint(endpoint)).observe(exchange.duration)

    def incident(self, incident: Incident) -> None:
        """An incident's first detection."""
        opened_by = next(iter(incident.rules), "")
        self.incidents.labels(opened_by, incident.category, incident.severity.label).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def _endpoint(self, name: str | None) -> str:
        if name is None:
            return "unsettled"
        if name in self._endpoints:
            return name
        if len(self._endpoints) < MAX_ENDPOINTS:
            self._endpoints.add(name)
            return name
        return "other"


ALERT_COUNTS = ("sent", "failed", "retried", "dropped", "suppressed")


class _AlertCollector(Collector):
    """Per-sink alert counts as the dispatchers keep them: what was delivered, given up,
    retried, dropped on a full queue, held back by the cool-down, and what still waits."""

    def __init__(self, stats: Callable[[], Mapping[str, Any]]) -> None:
        self._stats = stats

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        stats = self._stats()
        alerts = CounterMetricFamily(
            "apishield_alerts", "Alerts per sink, by outcome", labels=["sink", "outcome"]
        )
        queued = GaugeMetricFamily(
            "apishield_alert_queue_depth", "Alerts waiting for their sink", labels=["sink"]
        )
        for sink, counts in stats.get("sinks", {}).items():
            for outcome in ALERT_COUNTS:
                alerts.add_metric([sink, outcome], counts.get(outcome, 0))
            queued.add_metric([sink], counts.get("queued", 0))
        errors = CounterMetricFamily(
            "apishield_alert_errors", "Incidents or findings the alerter failed to turn into alerts"
        )
        errors.add_metric([], stats.get("errors", 0))
        yield alerts
        yield queued
        yield errors

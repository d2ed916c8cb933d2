"""The server's metrics: alert delivery per sink, read from the alerter when scraped."""

from __future__ import annotations

from typing import Any

from apishield.server.metrics import Metrics


def test_alert_counts_per_sink_are_exported_when_scraped() -> None:
    stats: dict[str, Any] = {
        "sinks": {
            "webhook": {
                "sent": 5, "failed": 2, "retried": 7, "dropped": 4, "suppressed": 3, "queued": 1,
            },
        },
        "errors": 0,
    }  # fmt: skip
    metrics = Metrics()
    metrics.watch_alerts(lambda: stats)
    text = metrics.render().decode()
    assert 'apishield_alerts_total{outcome="dropped",sink="webhook"} 4.0' in text
    assert 'apishield_alerts_total{outcome="failed",sink="webhook"} 2.0' in text
    assert 'apishield_alerts_total{outcome="suppressed",sink="webhook"} 3.0' in text
    assert 'apishield_alert_queue_depth{sink="webhook"} 1.0' in text
    stats["sinks"]["webhook"]["dropped"] = 9
    assert 'outcome="dropped",sink="webhook"} 9.0' in metrics.render().decode()

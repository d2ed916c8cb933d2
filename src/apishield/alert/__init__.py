"""Real-time alerts on incidents and high-severity findings: webhook, Slack, syslog (RFC 5424
and CEF), email and stdout, each sink on its own thread so a dead receiver never slows analysis.

    alerter = Alerter.from_config(config.alerts)
    alerter.incident(incident.summary())   # on open, and when its severity rises
    alerter.finding(exchange)              # findings at or above alerts.findings_min_severity
    alerter.close()
"""

from apishield.alert.alert import Alert
from apishield.alert.alerter import Alerter

__all__ = ["Alert", "Alerter"]

"""One JSON line per request that has findings, for a SIEM (`apishield analyze --findings FILE`).

The line names the route template, not the raw path: raw paths carry customer identifiers, and
apishield keeps none. What an attacker sent is in each finding's short evidence sample.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from apishield.exchange import Exchange
from apishield.normalise.segments import shaped


def findings_line(exchange: Exchange) -> bytes:
    request = exchange.request
    actor = exchange.actor
    findings = exchange.findings
    record: dict[str, Any] = {
        "time": datetime.fromtimestamp(exchange.started, UTC).isoformat(timespec="milliseconds"),
        "client_ip": actor.ip if actor is not None else request.peer_ip,
        "identity": actor.identity if actor is not None else None,
        "api_key": str(actor.api_key) if actor is not None and actor.api_key else None,
        "method": request.method,
        "host": request.host,
        "path": shaped(exchange.route) if exchange.route else "(unrouted)",
        "status": exchange.response.status if exchange.response is not None else None,
        "threat_level": exchange.threat,
        "rule_ids": sorted({f.rule_id for f in findings}),
        "classes": sorted({f.evidence["class"] for f in findings if "class" in f.evidence}),
        "findings": [
            {
                "rule_id": f.rule_id,
                "severity": f.severity.label,
                "title": f.title,
                "category": f.category,
                "evidence": dict(f.evidence),
            }
            for f in findings
        ],
        "source": exchange.source,
    }
    return orjson.dumps(record) + b"\n"

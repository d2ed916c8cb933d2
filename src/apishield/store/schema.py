"""The tables. Counts, shapes, classes and keyed hashes only: no raw personal data, no secrets."""

from __future__ import annotations

import hashlib

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

runs = Table(
    "runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("started_at", Float, nullable=False),
    Column("finished_at", Float),
    Column("sources", JSON, nullable=False),
    Column("lines", Integer, nullable=False, default=0),
    Column("events", Integer, nullable=False, default=0),
    Column("skipped", Integer, nullable=False, default=0),
    Column("spec_title", String(256)),
    Column("coverage", JSON),
    Column("stage_errors", JSON),
    Column("summary", JSON),  # the document's summary: counts by state, risk, data class
)

endpoints = Table(
    "endpoints",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("key", String(16), nullable=False),
    Column("method", String(16), nullable=False),
    Column("host", String(255), nullable=False),
    Column("template", Text, nullable=False),
    Column("state", String(16), nullable=False),
    Column("deprecated", Boolean, nullable=False, default=False),
    Column("operation_id", String(255)),
    Column("risk_score", Integer, nullable=False),
    Column("risk_factors", JSON, nullable=False),
    Column("requests", Integer, nullable=False),
    Column("first_seen", Float),
    Column("last_seen", Float),
    Column("summary", JSON, nullable=False),
    Index("endpoints_lookup", "run_id", "key"),
)

ingest_errors = Table(
    "ingest_errors",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("source", Text, nullable=False),
    Column("line", Integer, nullable=False),
    Column("reason", Text, nullable=False),
)


finding_rules = Table(
    "finding_rules",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("rule_id", String(128), nullable=False),
    Column("title", Text, nullable=False),
    Column("severity", String(16), nullable=False),
    Column("category", String(32), nullable=False),
    Column("class", String(32), nullable=False),
    Column("requests", Integer, nullable=False),
    Column("endpoints", JSON, nullable=False),  # top route templates, never raw paths
    Column("actors", JSON, nullable=False),
)

threat_levels = Table(
    "threat_levels",
    metadata,
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("level", String(16), primary_key=True),
    Column("requests", Integer, nullable=False),
)


incidents = Table(
    "incidents",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("incident", Integer, nullable=False),
    Column("severity", String(16), nullable=False, index=True),
    Column("title", Text, nullable=False),
    Column("category", String(32), nullable=False),
    Column("scope", Text, nullable=False),
    Column("first_seen", Float, nullable=False),
    Column("last_seen", Float, nullable=False),
    Column("detail", JSON, nullable=False),  # rules, actors, endpoints, timeline: no raw values
    Index("incidents_number", "run_id", "incident"),
    Index("incidents_order", "run_id", "severity", "last_seen"),
)


endpoint_minutes = Table(
    "endpoint_minutes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("endpoint", String(16), nullable=False),
    Column("start", Float, nullable=False),
    Column("seconds", Float, nullable=False),
    Column("requests", Integer, nullable=False),
    Column("errors", Integer, nullable=False),
    Column("p95_ms", Float),
    Index("endpoint_minutes_lookup", "run_id", "endpoint", "start"),
)
"""Traffic per endpoint per event-time bucket (a minute live, wider for long replays)."""

actors = Table(
    "actors",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("actor", Text, nullable=False),
    Column("requests", Integer, nullable=False),
    Column("high", Integer, nullable=False),
    Column("incidents", Integer, nullable=False),
    Column("last_seen", Float, nullable=False),
    Column("detail", JSON, nullable=False),  # addresses, templates, counts: no raw values
)

incident_endpoints = Table(
    "incident_endpoints",
    metadata,
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("incident", Integer, primary_key=True),
    Column("endpoint", String(16), primary_key=True),
    Index("incident_endpoints_lookup", "run_id", "endpoint"),
)
"""Which endpoints an incident touched, by endpoint id, for the endpoint page."""


def endpoint_key(method: str, host: str, template: str) -> str:
    """An endpoint's id, the same in every snapshot and run: links stay valid while live."""
    return hashlib.sha256(f"{method} {host} {template}".encode()).hexdigest()[:12]


def named_endpoint_key(name: str) -> str | None:
    """The id of an endpoint as detectors name it ("METHOD host template"), None if malformed."""
    method, _, rest = name.partition(" ")
    host, _, template = rest.partition(" ")
    return endpoint_key(method, host, template) if template else None


spec_findings = Table(
    "spec_findings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("rule", String(64), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("category", String(32), nullable=False),
    Column("method", String(16), nullable=False),
    Column("path", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("detail", Text, nullable=False),
    Column("fix", Text, nullable=False),
    Column("requests", Integer, nullable=False),
    Column("unauthenticated", Integer, nullable=False),
)
"""What the run's spec alone says is risky (`apishield spec audit`), with the traffic each
operation saw."""

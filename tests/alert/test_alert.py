"""The Alert value: built from a real incident summary or a finding, carrying templates and
masked evidence, never a raw path, query or body; text from traffic shown escaped and bounded."""

from __future__ import annotations

from dataclasses import replace

import orjson
import pytest

from apishield.alert.alert import MAX_EVIDENCE, MAX_LISTED, MAX_VALUE, from_finding, from_incident
from apishield.exchange import Actor, Finding, Severity
from apishield.testing import T0, make_exchange

from .conftest import summary


def test_an_incident_summary_becomes_an_alert() -> None:
    alert = from_incident(summary(7, (Severity.MEDIUM, Severity.HIGH)), raised_at=T0 + 60)
    assert (alert.kind, alert.incident_id, alert.severity) == ("incident", 7, Severity.HIGH)
    assert alert.rules == ("enum.sequential-walk",)
    assert alert.actors == ("ip:203.0.113.9",)
    assert alert.ips == ("203.0.113.9",)
    assert alert.endpoints == ("GET api.example.com /v2/customers/{id}",)
    assert (alert.first_seen, alert.last_seen) == (T0, T0 + 1)
    assert alert.evidence == {"enum.sequential-walk.objects": "120"}
    body = alert.body()
    assert body["first_seen"] == "2023-11-14T22:13:20.000Z"
    assert body["scope"] == "actor:ip:203.0.113.9"


def test_long_lists_and_evidence_are_capped() -> None:
    raw = summary()
    raw["actors"] = {f"ip:10.0.0.{n}": 1 for n in range(60)}
    raw["timeline"][0]["evidence"] = {f"k{n}": "x" * 500 for n in range(30)}
    alert = from_incident(raw, T0)
    assert len(alert.actors) == MAX_LISTED
    assert alert.evidence is not None
    assert len(alert.evidence) == MAX_EVIDENCE
    assert all(len(v) == MAX_VALUE for v in alert.evidence.values())


@pytest.mark.parametrize("broken", [{}, {"id": 1, "severity": "grave"}])
def test_a_malformed_summary_raises(broken: dict[str, object]) -> None:
    with pytest.raises((KeyError, ValueError)):
        from_incident(broken, T0)


def test_a_finding_names_the_route_template_not_the_request() -> None:
    exchange = make_exchange(
        "POST",
        "/v2/customers/48213377/notes",
        query="token=s3cr3t-query-value",
        body=b'{"note": "personal text of a customer"}',
        peer_ip="198.51.100.4",
    )
    exchange.route = "/v2/customers/{id}/notes"
    exchange.actor = Actor("198.51.100.4", identity="alice")
    finding = Finding("inj.sqli.union-select", "SQL injection", Severity.HIGH, {"sample": "' UN…"})
    alert = from_finding(exchange, finding, exchange.actor.key, raised_at=T0)
    assert alert.endpoints == ("POST /v2/customers/{id}/notes",)
    assert (alert.actors, alert.ips, alert.rules) == (
        ("id:alice",),
        ("198.51.100.4",),
        ("inj.sqli.union-select",),
    )
    text = orjson.dumps(alert.body()).decode()
    for raw in ("48213377", "s3cr3t-query-value", "personal text"):
        assert raw not in text


def test_a_finding_on_a_value_the_learner_keeps_as_a_literal_names_its_kind() -> None:
    exchange = make_exchange("GET", "/v2/tax/078-05-1120/status")
    exchange.route = "/v2/tax/078-05-1120/status"  # seen once: the learner keeps the value
    exchange.actor = Actor("198.51.100.4")
    finding = Finding("auth.missing", "unauthenticated", Severity.MEDIUM, {"basis": "spec"})
    alert = from_finding(exchange, finding, exchange.actor.key, raised_at=T0)
    assert alert.endpoints == ("GET /v2/tax/{phone}/status",)


def test_text_from_traffic_is_shown_escaped_and_bounded() -> None:
    identity = "eve\r\nBcc: x@evil.example\x1b[2J\u202egnp.exe\ud800" + "e" * 100_000
    exchange = make_exchange("GET", "/v2/plans")
    exchange.route = "/v2/plans"
    exchange.actor = Actor("198.51.100.4", identity=identity)
    finding = Finding("inj.sqli", "SQL injection", Severity.HIGH, {"sample": "1--\r\n<13>1 FAKE"})
    alert = from_finding(exchange, finding, exchange.actor.key, raised_at=T0)
    [actor] = alert.actors
    assert actor.startswith("id:eve\\r\\nBcc: x@evil.example\\x1b[2J\\u202egnp.exe\\ud800eee")
    assert len(actor) == MAX_VALUE
    assert alert.evidence == {"sample": "1--\\r\\n<13>1 FAKE"}
    orjson.dumps(alert.body())  # a lone surrogate is not UTF-8; shown escaped, it encodes


def test_an_alert_built_directly_is_shown_the_same_way() -> None:
    alert = replace(from_incident(summary(), T0), title="a\nb", actors=("id:" + "x" * 500,))
    assert alert.title == "a\\nb"
    assert len(alert.actors[0]) == MAX_VALUE
    assert replace(alert) == alert  # showing twice changes nothing

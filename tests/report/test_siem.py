from __future__ import annotations

import orjson

from apishield.exchange import Actor, Finding, Severity
from apishield.report.siem import findings_line
from apishield.testing import T0, make_exchange


def test_a_line_names_who_what_and_why_without_the_raw_path() -> None:
    exchange = make_exchange(path="/customers/40213377", status=200)
    exchange.route = "/customers/{id}"
    exchange.actor = Actor(ip="198.51.100.9", identity="alice")
    exchange.findings += [
        Finding("inj.sqli.tokens", "SQL injection", Severity.HIGH, {"class": "sqli"}, "API8:2023"),
        Finding("hdr.nosniff", "No nosniff", Severity.LOW),
    ]
    line = findings_line(exchange)
    assert line.endswith(b"\n")
    record = orjson.loads(line)
    assert record["time"].startswith("2023-11-14T22:13:20")
    assert record["client_ip"] == "198.51.100.9"
    assert record["identity"] == "alice"
    assert record["path"] == "/customers/{id}"
    assert b"40213377" not in line
    assert record["threat_level"] == "high"
    assert record["rule_ids"] == ["hdr.nosniff", "inj.sqli.tokens"]
    assert record["classes"] == ["sqli"]
    assert record["findings"][0]["severity"] == "high"
    assert T0 == 1_700_000_000.0


def test_a_route_not_settled_yet_keeps_no_identifier() -> None:
    # The first request on a route is routed by its raw path until a second value is seen.
    exchange = make_exchange(path="/v1/tax/100-45-6789/status", status=200)
    exchange.route = "/v1/tax/100-45-6789/status"
    exchange.findings.append(Finding("hdr.nosniff", "No nosniff", Severity.LOW))
    line = findings_line(exchange)
    assert orjson.loads(line)["path"] == "/v1/tax/{phone}/status"
    assert b"6789" not in line

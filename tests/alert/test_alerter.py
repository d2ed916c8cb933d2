"""The Alerter against real HTTP receivers on 127.0.0.1: routing, cool-downs, incidents
re-alerted on a severity rise, retries, dead receivers that never hold up the caller, overflow,
and close() delivering what is queued."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from typing import Any

from apishield.alert import Alerter
from apishield.exchange import Actor, Exchange, Finding, Severity
from apishield.testing import make_exchange

from .conftest import (
    HttpReceiver,
    SilentServer,
    summary,
    wait_until,
    webhook,
)

Build = Callable[..., Alerter]
Http = Callable[..., HttpReceiver]


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def attack(
    ip: str = "198.51.100.4", rule: str = "inj.sqli.union-select", level: Severity = Severity.HIGH
) -> Exchange:
    exchange = make_exchange("GET", "/v2/search", query="q=1 union select", peer_ip=ip)
    exchange.route = "/v2/search"
    exchange.actor = Actor(ip)
    exchange.findings.append(Finding(rule, "SQL injection", level, {"sample": "1 un…"}))
    return exchange


def sink_stats(alerter: Alerter, name: str = "webhook") -> dict[str, int]:
    stats: dict[str, int] = alerter.stats()["sinks"][name]
    return stats


def test_routing_by_severity_and_kind(alerters: Build, http: Http) -> None:
    everything, incidents_high = http(), http()
    alerter = alerters(
        {
            "sinks": [
                webhook(everything.url, min_severity="low"),
                webhook(incidents_high.url, min_severity="high", kinds=["incident"]),
            ],
            "findings_min_severity": "low",
        }
    )
    alerter.incident(summary(1, (Severity.MEDIUM,)))
    alerter.incident(summary(2, (Severity.CRITICAL,)))
    alerter.finding(attack(level=Severity.HIGH))
    alerter.finding(attack(level=Severity.INFO))  # below findings_min_severity: nothing
    got = [body for _, _, body in everything.inbox.wait(3)]
    assert sorted((b["kind"], b["severity"]) for b in got) == [
        ("finding", "high"),
        ("incident", "critical"),
        ("incident", "medium"),
    ]
    only = incidents_high.inbox.wait(1)
    alerter.close()
    assert [body["incident_id"] for _, _, body in only] == [2]
    assert len(incidents_high.inbox.items) == 1
    assert sink_stats(alerter, "webhook-2")["sent"] == 1


def test_findings_cool_down_per_actor_and_rule(alerters: Build, http: Http) -> None:
    receiver = http()
    clock = Clock()
    alerter = alerters({"sinks": [webhook(receiver.url)], "cooldown_seconds": 600}, clock=clock)
    alerter.finding(attack("198.51.100.4", "inj.sqli.union-select"))
    alerter.finding(attack("198.51.100.4", "inj.sqli.union-select"))  # same actor and rule
    alerter.finding(attack("198.51.100.4", "inj.xss.script-tag"))
    alerter.finding(attack("198.51.100.5", "inj.sqli.union-select"))
    clock.now = 600.0
    alerter.finding(attack("198.51.100.4", "inj.sqli.union-select"))  # the cool-down is over
    alerter.close()
    keys = [(b["actors"][0], b["rules"][0]) for _, _, b in receiver.inbox.items]
    assert keys == [
        ("ip:198.51.100.4", "inj.sqli.union-select"),
        ("ip:198.51.100.4", "inj.xss.script-tag"),
        ("ip:198.51.100.5", "inj.sqli.union-select"),
        ("ip:198.51.100.4", "inj.sqli.union-select"),
    ]
    assert sink_stats(alerter)["suppressed"] == 1


def credentialed(identity: str, *, verified: bool = False, ip: str = "203.0.113.66") -> Exchange:
    """`attack()` from `ip` with a bearer JWT naming `identity`."""
    exchange = attack(ip)
    exchange.actor = Actor(
        ip, identity, "jwt", auth_scheme="bearer", jwt_verified=verified, user_agent="x"
    )
    return exchange


def test_rotating_unverified_credentials_alert_once_per_address(
    alerters: Build, http: Http
) -> None:
    receiver = http()
    alerter = alerters({"sinks": [webhook(receiver.url)]}, clock=Clock())
    for n in range(50):  # a scanner inventing a token per request
        alerter.finding(credentialed(f"u{n}"))
    alerter.finding(credentialed("u0", ip="203.0.113.67"))  # a known token from elsewhere
    alerter.finding(credentialed("u99", ip="203.0.113.67"))
    alerter.close()
    got = [(b["actors"][0], b["ips"][0]) for _, _, b in receiver.inbox.items]
    assert got == [("id:u0", "203.0.113.66"), ("id:u99", "203.0.113.67")]
    assert sink_stats(alerter)["suppressed"] == 50


def test_verified_identities_alert_on_their_own(alerters: Build, http: Http) -> None:
    receiver = http()
    alerter = alerters({"sinks": [webhook(receiver.url)]}, clock=Clock())
    for identity in ("alice", "bob", "alice"):  # behind one carrier NAT
        alerter.finding(credentialed(identity, verified=True))
    alerter.close()
    assert [b["actors"][0] for _, _, b in receiver.inbox.items] == ["id:alice", "id:bob"]


def test_a_detector_finding_is_about_its_scope(alerters: Build, http: Http) -> None:
    receiver = http()
    alerter = alerters({"sinks": [webhook(receiver.url)]}, clock=Clock())
    for n in range(5):
        exchange = credentialed(f"u{n}")
        scope = "actor:ip:203.0.113.66"
        exchange.findings = [
            Finding("scan.attack-requests", "Scanner", Severity.HIGH, {}, "", scope)
        ]
        alerter.finding(exchange)
    alerter.close()
    got = [(b["actors"], b["scope"]) for _, _, b in receiver.inbox.items]
    assert got == [(["ip:203.0.113.66"], "actor:ip:203.0.113.66")]


def test_a_campaign_alerts_once_and_on_each_rise(alerters: Build, http: Http) -> None:
    receiver, findings_only = http(), http()
    alerter = alerters(
        {
            "sinks": [
                webhook(receiver.url, min_severity="low"),
                webhook(findings_only.url, min_severity="critical", kinds=["finding"]),
            ],
            "findings_min_severity": "low",
        },
        clock=Clock(),
    )
    scope = "campaign:enum.target-many-ips:GET api.example.com /v2/numbers/{msisdn}"
    levels = [Severity.HIGH] * 60 + [Severity.CRITICAL] * 20 + [Severity.HIGH]
    for n, level in enumerate(levels):  # each from a proxy address of its own
        exchange = attack(f"198.18.{n}.20")
        exchange.started += n * 60.0
        finding = Finding("enum.target-many-ips", "One object, many IPs", level, {}, "", scope)
        exchange.findings = [finding]
        alerter.finding(exchange)
    alerter.close()
    got = [(b["severity"], b["ips"][0], b["scope"]) for _, _, b in receiver.inbox.items]
    assert got == [("high", "198.18.0.20", scope), ("critical", "198.18.60.20", scope)]
    assert [b["severity"] for _, _, b in findings_only.inbox.wait(1)] == ["critical"]
    assert sink_stats(alerter)["suppressed"] == len(levels) - 2
    assert sink_stats(alerter, "webhook-2")["suppressed"] == 19


def test_an_incident_alerts_on_open_and_on_each_rise_only(alerters: Build, http: Http) -> None:
    receiver = http()
    alerter = alerters({"sinks": [webhook(receiver.url, min_severity="low")]})
    levels = (Severity.MEDIUM, Severity.MEDIUM, Severity.HIGH, Severity.HIGH, Severity.CRITICAL)
    for n in range(1, len(levels) + 1):  # the incident grows one detection at a time
        alerter.incident(summary(4, levels[:n]))
    alerter.incident(summary(4, (Severity.LOW,)))  # never lower, never the same again
    alerter.close()
    assert [b["severity"] for _, _, b in receiver.inbox.items] == ["medium", "high", "critical"]


def test_retries_until_the_receiver_accepts(alerters: Build, http: Http) -> None:
    receiver = http(statuses=[500, 500])
    alerter = alerters({"sinks": [webhook(receiver.url)], "retries": 3, "backoff_seconds": 0.01})
    alerter.incident(summary(1))
    receiver.inbox.wait(1)
    wait_until(lambda: sink_stats(alerter)["sent"] == 1)
    assert receiver.attempts == 3
    assert sink_stats(alerter) == {
        "sent": 1,
        "failed": 0,
        "retried": 2,
        "dropped": 0,
        "suppressed": 0,
        "queued": 0,
    }


def test_a_refusing_receiver_is_not_retried(alerters: Build, http: Http) -> None:
    receiver = http(statuses=[404])
    alerter = alerters({"sinks": [webhook(receiver.url)], "backoff_seconds": 0.01})
    alerter.incident(summary(1))
    wait_until(lambda: sink_stats(alerter)["failed"] == 1)
    assert (receiver.attempts, sink_stats(alerter)["retried"]) == (1, 0)


def test_a_hanging_receiver_never_holds_up_the_caller(
    alerters: Build, receivers: list[Any]
) -> None:
    silent = SilentServer()
    receivers.append(silent)
    config = {
        "sinks": [{**webhook(silent.url), "timeout": 60}],
        "queue": 5,
        "retries": 1,
        "backoff_seconds": 0.01,
    }
    alerter = alerters(config)
    alerter.incident(summary(1))
    wait_until(lambda: len(silent.accepted) == 1)  # the sink is inside its first delivery
    for n in range(2, 50):
        alerter.incident(summary(n))
        alerter.finding(attack(f"198.51.100.{n}"))
    # Every call above returned while the receiver had not answered a single byte (it never
    # does; its 60 s timeout has not passed), so none of them waited for it.
    stats = sink_stats(alerter)
    assert (stats["sent"], stats["failed"], stats["retried"]) == (0, 0, 0)
    assert stats["queued"] == 5
    assert stats["dropped"] == 2 * 48 - 5


def test_a_closed_port_fails_after_its_retries_and_analysis_goes_on(
    alerters: Build, http: Http
) -> None:
    # A bound socket that never listens: connecting is refused at once, and no other test
    # can take the port while this one runs.
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    dead = f"http://127.0.0.1:{closed.getsockname()[1]}/hook"
    live = http()
    alerter = alerters(
        {
            "sinks": [webhook(dead, timeout=2.0), webhook(live.url)],
            "retries": 2,
            "backoff_seconds": 0.01,
        }
    )
    for n in range(1, 4):
        alerter.incident(summary(n))
    assert len(live.inbox.wait(3)) == 3
    wait_until(lambda: sink_stats(alerter)["failed"] == 3)
    assert sink_stats(alerter)["retried"] == 6
    assert sink_stats(alerter, "webhook-2")["sent"] == 3
    closed.close()


def test_close_delivers_what_is_queued(alerters: Build, http: Http) -> None:
    gate = threading.Event()
    receiver = http(gate=gate)
    alerter = alerters({"sinks": [webhook(receiver.url)]})
    for n in range(1, 6):
        alerter.incident(summary(n))
    closing = threading.Thread(target=alerter.close, kwargs={"timeout": 30})
    closing.start()
    gate.set()  # the receiver starts answering only once close() is waiting
    closing.join(30)
    assert not closing.is_alive()
    assert [b["incident_id"] for _, _, b in receiver.inbox.items] == [1, 2, 3, 4, 5]
    assert sink_stats(alerter)["queued"] == 0


def test_without_sinks_every_call_is_a_no_op(alerters: Build) -> None:
    alerter = alerters({})
    alerter.incident(summary(1))
    alerter.finding(attack())
    assert alerter.stats() == {"sinks": {}, "errors": 0}
    alerter.close()


def test_a_malformed_summary_is_counted_not_raised(alerters: Build, http: Http) -> None:
    receiver = http()
    alerter = alerters({"sinks": [webhook(receiver.url)]})
    alerter.incident({"id": 1})
    alerter.incident({"id": 2, "severity": "grave", "title": "x"})
    alerter.incident(summary(3))
    receiver.inbox.wait(1)
    assert alerter.stats()["errors"] == 2


def test_findings_off_alerts_on_incidents_only(alerters: Build, http: Http) -> None:
    receiver = http()
    alerter = alerters({"sinks": [webhook(receiver.url)], "findings_min_severity": "off"})
    alerter.finding(attack(level=Severity.CRITICAL))
    alerter.incident(summary(1))
    alerter.close()
    assert [b["kind"] for _, _, b in receiver.inbox.items] == ["incident"]


def test_one_alert_per_rule_of_an_exchange(alerters: Build, http: Http) -> None:
    receiver = http()
    alerter = alerters({"sinks": [webhook(receiver.url)]})
    exchange = attack(level=Severity.HIGH)
    exchange.findings.append(Finding("inj.sqli.union-select", "SQL injection", Severity.CRITICAL))
    exchange.findings.append(Finding("proto.header", "Odd header", Severity.LOW))
    alerter.finding(exchange)
    alerter.close()
    assert [(b["rules"], b["severity"]) for _, _, b in receiver.inbox.items] == [
        (["inj.sqli.union-select"], "critical")
    ]

"""Syslog against real sockets: RFC 5424 over UDP and TCP (octet counting), and CEF. What arrives
is read back by the small parsers below, written from the RFC and the CEF guide, not from the
formatter: PRI, version, structured data with its escaping, CEF fields with theirs."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

import apishield
from apishield.alert import Alerter
from apishield.alert.alert import Alert, from_finding, from_incident
from apishield.alert.sinks.syslog import (
    MAX_SD_VALUE,
    SD_BUDGET,
    SD_ID,
    UDP_LIMIT,
    Header,
    cef,
    rfc5424,
    sd_value,
)
from apishield.exchange import Actor, Exchange, Finding, Severity
from apishield.testing import T0, make_exchange

from ..conftest import TcpReceiver, UdpReceiver, summary

HEADER = re.compile(r"<(\d{1,3})>(\d) (\S+) (\S+) (\S+) (\S+) (\S+) ")


def parse_5424(line: str) -> dict[str, Any]:
    """RFC 5424 section 6: the header, then "-" or one SD-ELEMENT, then the message."""
    match = HEADER.match(line)
    assert match is not None, line
    pri, version, timestamp, host, app, procid, msgid = match.groups()
    rest = line[match.end() :]
    parsed: dict[str, Any] = {
        "pri": int(pri),
        "version": version,
        "timestamp": timestamp,
        "host": host,
        "app": app,
        "procid": procid,
        "msgid": msgid,
    }
    if rest.startswith("- "):
        return {**parsed, "sd_id": None, "params": [], "msg": rest[2:]}
    sd_id, params, end = _element(rest)
    return {**parsed, "sd_id": sd_id, "params": params, "msg": rest[end + 1 :]}


def _element(text: str) -> tuple[str, list[tuple[str, str]], int]:
    assert text[0] == "["
    position = text.index(" ")
    sd_id = text[1:position]
    params: list[tuple[str, str]] = []
    while text[position] == " ":
        equals = text.index('="', position)
        name = text[position + 1 : equals]
        value, position = _quoted(text, equals + 2)
        params.append((name, value))
    assert text[position] == "]"
    return sd_id, params, position + 1


def _quoted(text: str, start: int) -> tuple[str, int]:
    """A PARAM-VALUE up to its closing quote; a backslash escapes '"', '\\' and ']'."""
    value = []
    position = start
    while text[position] != '"':
        if text[position] == "\\" and text[position + 1] in '"\\]':
            position += 1
        value.append(text[position])
        position += 1
    return "".join(value), position + 1


def parse_cef(text: str) -> tuple[list[str], dict[str, str]]:
    """Seven header fields split on unescaped '|', then key=value pairs."""
    fields: list[str] = []
    current: list[str] = []
    position = 0
    while len(fields) < 7:
        char = text[position]
        if char == "\\":
            current.append(text[position + 1])
            position += 2
            continue
        if char == "|":
            fields.append("".join(current))
            current = []
        else:
            current.append(char)
        position += 1
    extension = text[position:]
    keys = list(re.finditer(r"(?:^| )(\w+)=", extension))
    pairs = {}
    for this, after in zip(keys, [*keys[1:], None], strict=True):
        raw = extension[this.end() : after.start() if after else len(extension)]
        pairs[this.group(1)] = _cef_unescape(raw)
    return fields, pairs


def _cef_unescape(raw: str) -> str:
    table = {"\\": "\\", "=": "=", "n": "\n", "r": "\r"}
    return re.sub(r"\\(.)", lambda m: table.get(m.group(1), m.group(0)), raw)


def tricky_exchange() -> Exchange:
    """A finding whose actor, title and evidence hold every character either format escapes."""
    exchange = make_exchange("GET", "/v2/search", peer_ip="198.51.100.4")
    exchange.route = "/v2/items/{id}"
    exchange.actor = Actor("198.51.100.4", identity='ev"il]\\user')
    exchange.findings.append(
        Finding(
            "inj.sqli.union-select",
            "SQL | injection \\ here",
            Severity.HIGH,
            {"sample": "a=b\nc\\d suser=forged"},
            "API8:2023",
        )
    )
    return exchange


def tricky_alert() -> Alert:
    exchange = tricky_exchange()
    return from_finding(exchange, exchange.findings[0], "id:" + 'ev"il]\\user', T0 + 5)


def test_rfc5424_header_and_structured_data() -> None:
    alert = tricky_alert()
    line = rfc5424(alert, Header(facility=16)).decode()
    parsed = parse_5424(line)
    assert parsed["pri"] == 16 * 8 + 3  # local0, err
    assert parsed["version"] == "1"
    assert parsed["timestamp"] == "2023-11-14T22:13:25.000Z"
    assert (parsed["app"], parsed["msgid"], parsed["sd_id"]) == ("apishield", "finding", SD_ID)
    params = dict(parsed["params"])
    assert params["actor"] == 'id:ev"il]\\user'  # escaped on the wire, intact once parsed
    assert params["endpoint"] == "GET /v2/items/{id}"
    assert (params["kind"], params["severity"], params["rule"]) == (
        "finding",
        "high",
        "inj.sqli.union-select",
    )
    assert parsed["msg"] == "SQL | injection \\ here (sample=a=b\\nc\\d suser=forged)"  # one line


def test_repeated_names_carry_lists() -> None:
    alert = from_incident(summary(4, (Severity.HIGH, Severity.HIGH), rules=("a.x", "b.y")), T0)
    parsed = parse_5424(rfc5424(alert, Header(facility=4)).decode())
    assert [v for k, v in parsed["params"] if k == "rule"] == ["a.x", "b.y"]
    assert dict(parsed["params"])["incident"] == "4"
    assert parsed["pri"] == 4 * 8 + 3


@pytest.mark.parametrize("facility", ["local4", "auth"])
def test_over_udp(facility: str, alerters: Callable[..., Alerter], receivers: list[Any]) -> None:
    receiver = UdpReceiver()
    receivers.append(receiver)
    sink = {"type": "syslog", "port": receiver.port, "protocol": "udp", "facility": facility}
    alerter = alerters({"sinks": [sink]})
    alerter.incident(summary(11, (Severity.CRITICAL,)))
    parsed = parse_5424(receiver.receive().decode())
    code = {"local4": 20, "auth": 4}[facility]
    assert parsed["pri"] == code * 8 + 2  # critical is syslog's crit
    assert dict(parsed["params"])["incident"] == "11"
    assert parsed["msg"].startswith("Title of enum.sequential-walk")


def test_a_long_udp_message_is_cut_to_the_datagram_limit(
    alerters: Callable[..., Alerter], receivers: list[Any]
) -> None:
    receiver = UdpReceiver()
    receivers.append(receiver)
    alerter = alerters({"sinks": [{"type": "syslog", "port": receiver.port}]})
    raw = summary(1)
    raw["title"] = "é" * 3000
    alerter.incident(raw)
    datagram = receiver.receive()
    assert len(datagram) <= UDP_LIMIT
    assert parse_5424(datagram.decode())["sd_id"] == SD_ID  # still valid UTF-8 and RFC 5424


def test_over_tcp_with_octet_counting(
    alerters: Callable[..., Alerter], receivers: list[Any]
) -> None:
    receiver = TcpReceiver()
    receivers.append(receiver)
    sink = {"type": "syslog", "port": receiver.port, "protocol": "tcp"}
    alerter = alerters({"sinks": [sink]})
    for n in (1, 2, 3):
        alerter.incident(summary(n))
    frames = receiver.inbox.wait(3)
    incidents = [dict(parse_5424(frame.decode())["params"])["incident"] for frame in frames]
    assert incidents == ["1", "2", "3"]


def test_cef_fields_and_escaping(alerters: Callable[..., Alerter], receivers: list[Any]) -> None:
    receiver = TcpReceiver()
    receivers.append(receiver)
    sink = {"type": "syslog", "port": receiver.port, "protocol": "tcp", "format": "cef"}
    alerter = alerters({"sinks": [sink]})
    alerter.finding(tricky_exchange())
    [frame] = receiver.inbox.wait(1)
    parsed = parse_5424(frame.decode())
    assert parsed["sd_id"] is None
    fields, extension = parse_cef(parsed["msg"])
    assert fields == [
        "CEF:0",
        "apishield",
        "apishield",
        apishield.__version__,
        "inj.sqli.union-select",
        "SQL | injection \\ here",
        "8",
    ]
    assert b"\n" not in frame
    assert extension["cs5"] == "sample=a=b\\nc\\d suser=forged"  # not a second suser
    assert extension["suser"] == 'id:ev"il]\\user'
    assert extension["src"] == "198.51.100.4"
    assert extension["cs3"] == "GET /v2/items/{id}"
    assert extension["cs1Label"] == "rules"
    assert extension["rt"] == str(int(extension["rt"]))


def test_a_line_break_from_traffic_stays_inside_its_value() -> None:
    actor = 'id:eve"] \r\n<13>1 2026-01-05T00:00:00Z forged apishield - - - x\x1b[2J\u2028'
    alert = from_incident(summary(5, actor=actor), T0)
    line = rfc5424(alert, Header(facility=16))
    assert b"\r" not in line
    assert b"\n" not in line
    assert b"\x1b" not in line
    params = parse_5424(line.decode())["params"]
    shown = 'id:eve"] \\r\\n<13>1 2026-01-05T00:00:00Z forged apishield - - - x\\x1b[2J\\u2028'
    assert dict(params)["actor"] == shown
    assert [name for name, _ in params][-2:] == ["first", "last"]  # the element goes on


def _hostile_summary() -> dict[str, Any]:
    """Every list full of long names an attacker chose: 4-byte characters and escapes."""
    raw = summary(7)
    raw["actors"] = {f"id:{chr(0x1F600 + n) * 100}": 1 for n in range(10)} | {
        "id:" + '\\"]' * 100 + str(n): 1 for n in range(10)
    }
    raw["rules"] = ["rule." + "\\" * 150 + str(n) for n in range(20)]
    raw["ips"] = ["203.0.113.1", "2001:db8::1"]
    raw["endpoints"] = [f"GET {'h' * 150}.example /v2/{{id}}/{n}" for n in range(20)]
    return raw


def test_names_an_attacker_chose_never_cut_the_structured_data(
    alerters: Callable[..., Alerter], receivers: list[Any]
) -> None:
    receiver = UdpReceiver()
    receivers.append(receiver)
    alerter = alerters({"sinks": [{"type": "syslog", "port": receiver.port}]})
    alerter.incident(_hostile_summary())
    datagram = receiver.receive()
    assert len(datagram) <= UDP_LIMIT
    line = datagram.decode()
    parsed = parse_5424(line)  # the element is closed: its parser reached "]"
    assert parsed["msg"].startswith("Title of enum.sequential-walk")
    start = line.index("[")
    structured = line[start : start + line[start:].index('"] ') + 2]
    assert len(structured.encode()) <= SD_BUDGET
    names = {name for name, _ in parsed["params"]}
    assert names == {
        "kind",
        "severity",
        "incident",
        "category",
        "rule",
        "actor",
        "ip",
        "endpoint",
        "first",
        "last",
    }
    assert all(len(value.encode()) <= MAX_SD_VALUE for _, value in parsed["params"])


@pytest.mark.parametrize("char", ["\\", '"', "]", "é", "\r", "\U0001f600"])
def test_a_long_value_is_shortened_between_escapes(char: str) -> None:
    cut = sd_value(char * 300)
    assert len(cut.encode()) <= MAX_SD_VALUE
    assert cut.endswith("…")
    parsed = parse_5424(f'<1>1 - - - - - [x@1 v="{cut}" w="next"] message')
    assert parsed["params"][1] == ("w", "next")  # the cut value closed where it should
    assert parsed["msg"] == "message"


def test_cef_for_an_incident_names_its_category() -> None:
    alert = replace(from_incident(summary(2, (Severity.MEDIUM,)), T0), ips=("2001:db8::1",))
    fields, extension = parse_cef(parse_5424(cef(alert, Header(16)).decode())["msg"])
    assert (fields[4], fields[6]) == ("API1:2023", "5")
    assert extension["externalId"] == "2"
    assert "src" not in extension  # IPv6 goes in cs4 only
    assert extension["cs4"] == "2001:db8::1"

"""Syslog: RFC 5424 messages with the alert as structured data, or CEF for SIEMs that read
ArcSight's format, sent over UDP (one datagram each, RFC 5426) or TCP (octet counting, RFC 6587).

    <PRI>1 TIMESTAMP HOST apishield PROCID MSGID [apishield@32473 kind="finding" ...] title
    <PRI>1 TIMESTAMP HOST apishield PROCID MSGID - CEF:0|apishield|apishield|0.1.0|rule|title|8|...

32473 is the private enterprise number RFC 5612 sets aside for examples.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Callable
from typing import get_args

import apishield
from apishield.alert.alert import Alert, iso
from apishield.alert.sinks.base import SinkError
from apishield.config import Facility
from apishield.controls import escape_controls
from apishield.exchange import Severity

SD_ID = "apishield@32473"
UDP_LIMIT = 2_048
"""Bytes a receiver SHOULD take in one datagram (RFC 5426); longer messages lose their end."""
MAX_VALUES = 5
"""Values per repeated SD-PARAM (rule, actor, ip, endpoint)."""
MAX_SD_VALUE = 128
"""Bytes of one PARAM-VALUE as sent (escaped, UTF-8); a longer value ends in "…"."""
SD_BUDGET = 1_200
"""Bytes of the whole SD-ELEMENT. The header is at most about 330 (HOSTNAME is 255 at most), so
a 2,048-byte datagram always carries the structured data whole, and the title after it."""
SYSLOG_SEVERITY = {
    Severity.CRITICAL: 2,
    Severity.HIGH: 3,
    Severity.MEDIUM: 4,
    Severity.LOW: 5,
    Severity.INFO: 6,
}
"""crit, err, warning, notice, informational."""
CEF_SEVERITY = {
    Severity.CRITICAL: 10,
    Severity.HIGH: 8,
    Severity.MEDIUM: 5,
    Severity.LOW: 3,
    Severity.INFO: 1,
}


def facility_code(name: str) -> int:
    return get_args(Facility).index(name)


def _hostname() -> str:
    """The HOSTNAME field: printable US-ASCII without spaces, 255 at most, else the nil "-"."""
    name = socket.gethostname()
    ok = name and len(name) <= 255 and all(33 <= ord(c) <= 126 for c in name)
    return name if ok else "-"


class Header:
    """The RFC 5424 header fields that stay the same for a process."""

    def __init__(self, facility: int) -> None:
        self.facility = facility
        self.host = _hostname()
        self.procid = str(os.getpid())

    def line(self, alert: Alert, structured: str, message: str) -> bytes:
        pri = self.facility * 8 + SYSLOG_SEVERITY[alert.severity]
        head = f"<{pri}>1 {iso(alert.raised_at)} {self.host} apishield {self.procid} {alert.kind}"
        return f"{head} {structured} {message}".encode()


def rfc5424(alert: Alert, header: Header) -> bytes:
    """The alert's fields as SD-PARAMs (lists as repeated names), its title as the message."""
    evidence = "; ".join(f"{k}={v}" for k, v in (alert.evidence or {}).items())
    message = f"{alert.title} ({evidence})" if evidence else alert.title
    return header.line(alert, structured_data(alert), _one_line(message))


def structured_data(alert: Alert) -> str:
    """One SD-ELEMENT of at most SD_BUDGET bytes. The alert's own fields are always there; list
    values join in turns (each list's first, then each second, ...) while they fit, whole or not
    at all, so no name an attacker chose can push out the others or cut the element open."""
    head = [_param("kind", alert.kind), _param("severity", alert.severity.label)]
    if alert.incident_id is not None:
        head.append(_param("incident", str(alert.incident_id)))
    if alert.category:
        head.append(_param("category", alert.category))
    tail = [_param("first", iso(alert.first_seen)), _param("last", iso(alert.last_seen))]
    fixed = _size(f"[{SD_ID}]") + sum(_size(param) + 1 for param in head + tail)
    listed = _listed(
        {"rule": alert.rules, "actor": alert.actors, "ip": alert.ips, "endpoint": alert.endpoints},
        SD_BUDGET - fixed,
    )
    return f"[{SD_ID} {' '.join(head + listed + tail)}]"


def _listed(lists: dict[str, tuple[str, ...]], budget: int) -> list[str]:
    """The SD-PARAMs of `lists` that fit in `budget` bytes, taken in turns, in the lists' order;
    a list stops at its first value that does not fit."""
    kept: dict[str, list[str]] = {name: [] for name in lists}
    stopped: set[str] = set()
    for turn in range(MAX_VALUES):
        for name, values in lists.items():
            if turn >= len(values) or name in stopped:
                continue
            param = _param(name, values[turn])
            if _size(param) + 1 > budget:
                stopped.add(name)
                continue
            kept[name].append(param)
            budget -= _size(param) + 1
    return [param for params in kept.values() for param in params]


def _param(name: str, value: str) -> str:
    return f'{name}="{sd_value(value)}"'


def sd_value(value: str, limit: int = MAX_SD_VALUE) -> str:
    """`value` escaped as a PARAM-VALUE in at most `limit` bytes. A longer one is cut between
    characters, never inside an escape: a lone backslash before the closing quote would open
    the element to what follows."""
    escaped = sd_escape(value)
    if _size(escaped) <= limit:
        return escaped
    kept: list[str] = []
    size = _size("…")
    for char in value:
        piece = sd_escape(char)
        size += _size(piece)
        if size > limit:
            break
        kept.append(piece)
    return "".join(kept) + "…"


def sd_escape(value: str) -> str:
    """RFC 5424 section 6.3.3: '"', '\\' and ']' inside a PARAM-VALUE take a backslash; control
    characters are shown escaped first, so a value never breaks the line."""
    value = escape_controls(value)
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def _size(text: str) -> int:
    return len(text.encode())


def cef(alert: Alert, header: Header) -> bytes:
    """CEF:0 in an RFC 5424 header with nil structured data."""
    signature = alert.rules[0] if alert.kind == "finding" and alert.rules else alert.category
    fields = [
        "CEF:0",
        "apishield",
        "apishield",
        apishield.__version__,
        signature or "incident",
        alert.title,
        str(CEF_SEVERITY[alert.severity]),
    ]
    head = "|".join(cef_header_escape(field) for field in fields)
    extension = " ".join(f"{key}={cef_value_escape(value)}" for key, value in _extension(alert))
    return header.line(alert, "-", f"{head}|{extension}")


def _extension(alert: Alert) -> list[tuple[str, str]]:
    pairs = [
        ("rt", str(int(alert.raised_at * 1000))),
        ("start", str(int(alert.first_seen * 1000))),
        ("end", str(int(alert.last_seen * 1000))),
        ("cat", alert.category or alert.kind),
        ("msg", alert.title),
        ("cs1Label", "rules"),
        ("cs1", ",".join(alert.rules)),
        ("cs2Label", "actors"),
        ("cs2", ",".join(alert.actors)),
        ("cs3Label", "endpoints"),
        ("cs3", ",".join(alert.endpoints)),
        ("cs4Label", "ips"),
        ("cs4", ",".join(alert.ips)),
        ("cs6Label", "kind"),
        ("cs6", alert.kind),
    ]
    if alert.incident_id is not None:
        pairs.append(("externalId", str(alert.incident_id)))
    if alert.actors:
        pairs.append(("suser", alert.actors[0]))
    if alert.ips and _is_ipv4(alert.ips[0]):
        pairs.append(("src", alert.ips[0]))  # src is IPv4 only; the rest are in cs4
    if alert.evidence:
        pairs += [
            ("cs5Label", "evidence"),
            ("cs5", "; ".join(f"{k}={v}" for k, v in alert.evidence.items())),
        ]
    return pairs


def cef_header_escape(value: str) -> str:
    """CEF header fields: '\\' and '|' take a backslash; a header has no line breaks."""
    return _one_line(value.replace("\\", "\\\\").replace("|", "\\|"))


def cef_value_escape(value: str) -> str:
    """CEF extension values: '\\' and '=' take a backslash, line breaks become \\n and \\r."""
    escaped = value.replace("\\", "\\\\").replace("=", "\\=")
    return escaped.replace("\r", "\\r").replace("\n", "\\n")


def _one_line(text: str) -> str:
    return text.replace("\r", " ").replace("\n", " ")


def _is_ipv4(text: str) -> bool:
    try:
        return isinstance(ipaddress.ip_address(text), ipaddress.IPv4Address)
    except ValueError:
        return False


class SyslogSink:
    def __init__(
        self,
        host: str,
        port: int,
        *,
        protocol: str = "udp",
        form: str = "rfc5424",
        facility: str = "local0",
        timeout: float = 5.0,
    ) -> None:
        self._address = (host, port)
        self._header = Header(facility_code(facility))
        self._format: Callable[[Alert, Header], bytes] = cef if form == "cef" else rfc5424
        self._tcp = protocol == "tcp"
        self._timeout = timeout
        self._socket: socket.socket | None = None

    def send(self, alert: Alert) -> None:
        message = self._format(alert, self._header)
        try:
            connection = self._socket or self._connect()
            if self._tcp:
                connection.sendall(b"%d %b" % (len(message), message))
            else:
                connection.send(_fit(message, UDP_LIMIT))
        except OSError as error:
            self.close()  # reconnect on the next attempt
            raise SinkError(f"syslog {self._address[0]}:{self._address[1]}: {error}") from error

    def _connect(self) -> socket.socket:
        """A connected socket, UDP too: the kernel then reports a closed port (ICMP) as an error
        on a later send instead of losing every datagram silently."""
        kind = socket.SOCK_STREAM if self._tcp else socket.SOCK_DGRAM
        family, _, _, _, address = socket.getaddrinfo(*self._address, type=kind)[0]
        connection = socket.socket(family, kind)
        connection.settimeout(self._timeout)
        try:
            connection.connect(address)
        except OSError:
            connection.close()
            raise
        self._socket = connection
        return connection

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None


def _fit(message: bytes, limit: int) -> bytes:
    """At most `limit` bytes, cut at a character boundary: the message (last, after a header and
    structured data that always fit) loses its end."""
    if len(message) <= limit:
        return message
    return message[:limit].decode("utf-8", "ignore").encode()

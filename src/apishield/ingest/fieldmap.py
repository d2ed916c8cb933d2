"""Which key of a JSON access log holds which field, decided once per record shape.

nginx, Envoy and every API gateway name the same facts differently. Each canonical field below has
the names it is known by; a configured `field_map` is tried first. Looking through a dozen names
on every line would cost more than parsing it, so a `Plan` records which name each field uses the
first time a record shape is seen, and a line reuses it.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from apishield.ingest.stats import IngestError
from apishield.ingest.timestamps import event_time, time_reader

Fields = Mapping[str, tuple[str, ...]]

ABSENT = "\x00absent"
"""A key no log writes: `record.get(ABSENT)` is the cheapest way to say "not in this log"."""

SCALAR_FIELDS: dict[str, tuple[str, ...]] = {
    "time": (
        "msec",
        "time_iso8601",
        "time_local",
        "timestamp",
        "@timestamp",
        "time",
        "start_time",
        "started_at",
        "ts",
    ),
    "client_ip": ("remote_addr", "client_ip", "clientip", "downstream_remote_address"),
    "method": ("request_method", "method", "http_method", "request.method"),
    "request_uri": ("request_uri", "uri", "path", "url", "request.uri", "request.url"),
    "request_line": ("request",),
    "query": ("query_string", "args", "query"),
    "status": ("status", "response_code", "status_code", "response.status"),
    "upstream_status": ("upstream_status",),
    "response_bytes": ("body_bytes_sent", "bytes_sent", "response_size", "response.size"),
    "request_bytes": ("http_content_length", "content_length", "request_length", "bytes_received"),
    "duration": ("request_time", "upstream_response_time"),
    "duration_ms": ("duration", "duration_ms", "latency_ms", "latencies.request"),
    "host": ("http_host", "host", "authority", "server_name"),
    "scheme": ("scheme",),
    "protocol": ("server_protocol", "protocol", "http_version"),
    "request_body": ("request_body", "req_body", "request.body"),
    "response_body": ("response_body", "resp_body", "response.body"),
    "request_headers": ("request_headers", "request.headers"),
    "response_headers": ("response_headers", "response.headers"),
}
"""Canonical field to the names it goes by, most specific first.

`duration` is in seconds (nginx `$request_time`), `duration_ms` in milliseconds (Envoy).
`request_bytes` is the request body size where the log has it; nginx `$request_length` also counts
the request line and headers, so it is only an upper bound. `request_headers` and
`response_headers` take a whole JSON object of headers, as some gateways log them.
"""

HEADER_FIELDS: dict[str, tuple[str, ...]] = {
    "user_agent": ("http_user_agent", "user_agent", "user-agent", "useragent"),
    "referer": ("http_referer", "referer", "referrer"),
    "authorization": ("http_authorization", "authorization"),
    "x_api_key": ("http_x_api_key", "x_api_key", "x-api-key"),
    "cookie": ("http_cookie", "cookie"),
    "x_forwarded_for": ("http_x_forwarded_for", "x_forwarded_for", "x-forwarded-for"),
    "x_forwarded_proto": ("http_x_forwarded_proto", "x_forwarded_proto", "x-forwarded-proto"),
    "content_type": ("http_content_type", "content_type", "content-type"),
    "x_request_id": ("http_x_request_id", "x_request_id", "x-request-id"),
}
"""Request headers a log may carry under its own key; the header name is the field with dashes.

Besides these, every nginx-style `http_<name>` key becomes request header `<name>` and every
`sent_http_<name>` key becomes response header `<name>`.
"""

DEFAULT_FIELDS: Fields = {**SCALAR_FIELDS, **HEADER_FIELDS}
REQUEST_EXTRAS = ("query", "scheme", "protocol", "request_bytes", "request_body", "request_headers")
"""Request fields that a `Plan.plain_request` shape lacks."""
RESPONSE_EXTRAS = ("response_body", "response_headers")
"""Response fields that a `Plan.plain_response` shape lacks, as it lacks `sent_http_*` keys."""
MAX_DEPTH = 8
"""Nesting followed for dotted names ("request.headers.host"); deeper keys are not looked at."""


@dataclass(slots=True, frozen=True)
class Plan:
    """For one record shape: the key each field is read from, or `ABSENT`."""

    time: str
    client_ip: str
    method: str
    request_uri: str
    request_line: str
    query: str
    status: str
    upstream_status: str
    response_bytes: str
    request_bytes: str
    duration: str
    duration_ms: str
    host: str
    scheme: str
    protocol: str
    request_body: str
    response_body: str
    request_headers: str
    response_headers: str
    headers: tuple[tuple[str, str], ...]
    """(key, header name) for each request header this shape carries."""
    response_header_keys: tuple[tuple[str, str], ...]
    flatten: bool
    """Whether dotted names reach into nested objects, so each record must be flattened."""
    read_time: Callable[[Any], float]
    """The time parser that fits this shape's time values."""
    plain_request: bool
    """No query, scheme, protocol, body size, body or header object: most access logs, whose
    lines skip reading those fields at all."""
    plain_response: bool
    """No response header, header object or body: only the status and the byte count."""


def merge_fields(*maps: Mapping[str, Sequence[str]] | None) -> Fields:
    """The names for each field, earlier maps first, after checking every field name is known."""
    merged: dict[str, tuple[str, ...]] = {name: () for name in DEFAULT_FIELDS}
    for mapping in maps:
        for name, names in (mapping or {}).items():
            _check_field(name)
            extra = (names,) if isinstance(names, str) else tuple(names)
            merged[name] += tuple(key for key in extra if key not in merged[name])
    for name, names in DEFAULT_FIELDS.items():
        merged[name] += tuple(key for key in names if key not in merged[name])
    return merged


def make_plan(fields: Fields, record: Mapping[str, Any]) -> Plan:
    """The key each field is read from in records shaped like this one."""
    flatten = _reaches_into(fields, record)
    view = flattened(record) if flatten else record
    chosen = {name: _first_key(names, view) for name, names in fields.items()}
    known = {key for names in fields.values() for key in names}
    headers = [(chosen[name], name.replace("_", "-")) for name in HEADER_FIELDS]
    headers += [(key, key[5:].replace("_", "-")) for key in view if _extra_header(key, known)]
    sent = [(key, key[10:].replace("_", "-")) for key in view if key.startswith("sent_http_")]
    scalars = {name: chosen[name] for name in SCALAR_FIELDS}
    return Plan(
        **scalars,
        headers=tuple((key, name) for key, name in headers if key is not ABSENT),
        response_header_keys=tuple(sent),
        flatten=flatten,
        read_time=time_reader(view[chosen["time"]]) if chosen["time"] in view else event_time,
        plain_request=all(chosen[name] is ABSENT for name in REQUEST_EXTRAS),
        plain_response=not sent and all(chosen[name] is ABSENT for name in RESPONSE_EXTRAS),
    )


def search(fields: Fields, record: Mapping[str, Any], name: str) -> Any:
    """The first present, non-empty value of a field: the slow path for a line that lacks a key."""
    for key in fields[name]:
        value = record.get(key)
        if value is not None and value not in ("-", ""):
            return value
    return None


def flattened(record: Mapping[str, Any]) -> dict[str, Any]:
    """Every nested value also under its dotted path; keys that are already dotted win."""
    out = dict(record)
    stack = [(key + ".", value, 1) for key, value in record.items() if type(value) is dict]
    while stack:
        prefix, node, depth = stack.pop()
        for key, value in node.items():
            path = prefix + key
            out.setdefault(path, value)
            if type(value) is dict and depth < MAX_DEPTH:
                stack.append((path + ".", value, depth + 1))
    return out


def _first_key(names: tuple[str, ...], view: Mapping[str, Any]) -> str:
    return next((key for key in names if key in view), ABSENT)


def _reaches_into(fields: Fields, record: Mapping[str, Any]) -> bool:
    return any(
        type(record.get(key.partition(".")[0])) is dict
        for names in fields.values()
        for key in names
        if "." in key and key not in record
    )


def _extra_header(key: str, known: set[str]) -> bool:
    return key.startswith("http_") and key not in known and len(key) > 5


def _check_field(name: str) -> None:
    if name in DEFAULT_FIELDS:
        return
    close = difflib.get_close_matches(name, list(DEFAULT_FIELDS), n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    valid = ", ".join(sorted(DEFAULT_FIELDS))
    raise IngestError(f"ingest.field_map: unknown field {name!r}.{hint} Valid fields: {valid}.")

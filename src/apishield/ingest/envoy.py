"""Envoy (and Istio) JSON access logs: the JSON reader with Envoy's own field names first.

Envoy's `duration` is in milliseconds and its `path` carries the query string. The path the client
sent is `x-envoy-original-path` when a route rewrote it, so that name is tried before `path`.
`response_code` 0 means Envoy never had a response to send (a reset or a client that went away):
such an exchange has `response=None`.
"""

from __future__ import annotations

from apishield.ingest.base import ParseOptions
from apishield.ingest.jsonlog import JsonLogParser, json_parser

ENVOY_FIELDS: dict[str, tuple[str, ...]] = {
    "time": ("start_time",),
    "client_ip": ("downstream_remote_address", "downstream_direct_remote_address"),
    "method": ("method", ":method"),
    "request_uri": ("x-envoy-original-path", "x_envoy_original_path", "path", ":path"),
    "status": ("response_code",),
    "response_bytes": ("bytes_sent",),
    "request_bytes": ("bytes_received",),
    "duration_ms": ("duration",),
    "host": ("authority", ":authority"),
    "protocol": ("protocol",),
    "user_agent": ("user-agent", "user_agent"),
    "x_forwarded_for": ("x-forwarded-for", "x_forwarded_for"),
    "x_forwarded_proto": ("x-forwarded-proto", "x_forwarded_proto"),
    "x_request_id": ("x-request-id", "request_id"),
    "referer": ("referer",),
    "authorization": ("authorization",),
}


def envoy_parser(options: ParseOptions) -> JsonLogParser:
    return json_parser(options, ENVOY_FIELDS)

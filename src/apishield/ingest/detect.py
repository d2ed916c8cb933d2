"""Tell a log's format from its first lines, so `apishield analyze FILE` needs no flags."""

from __future__ import annotations

from typing import Any

from orjson import JSONDecodeError, loads

from apishield.ingest.nginx import COMBINED
from apishield.ingest.stats import IngestError, quoted

ENVOY_KEYS = frozenset(
    {
        "response_code",
        "response_flags",
        "downstream_remote_address",
        "upstream_host",
        "upstream_cluster",
        "x-envoy-original-path",
        "x-envoy-upstream-service-time",
        "upstream_service_time",
        "authority",
        "bytes_received",
    }
)
"""Names only Envoy (and Istio) write; two of them on one line settle it."""
_CHOICES = "nginx, nginx-json, envoy, har, jsonl"


def detect_format(first_lines: list[bytes]) -> str:
    """One of "nginx", "nginx-json", "envoy", "har", "jsonl"; IngestError when none fits.

    Any other JSON object per line is "nginx-json", the reader that takes a field map.
    """
    lines = [line.strip() for line in first_lines if line.strip()]
    if not lines:
        raise IngestError(f"the input is empty, so there is no format to detect; choose {_CHOICES}")
    for line in lines:
        kind = _classify(line)
        if kind is not None:
            return kind
    if lines[0].startswith(b"{") and b'"log"' in b"\n".join(lines):
        return "har"
    raise IngestError(
        f"cannot tell the log format from its first line {quoted(lines[0], 120)}; "
        f"name it with --format or ingest.format, one of: {_CHOICES}"
    )


def _classify(line: bytes) -> str | None:
    if line.startswith(b"{"):
        try:
            record = loads(line)
        except JSONDecodeError:
            return None
        return _json_kind(record) if type(record) is dict else None
    if COMBINED.fullmatch(line.decode("utf-8", "replace")):
        return "nginx"
    return None


def _json_kind(record: dict[str, Any]) -> str:
    log = record.get("log")
    if type(log) is dict and type(log.get("entries")) is list:
        return "har"  # a JSON line with a "log" object of its own (ECS writes one) is not a HAR
    if type(record.get("request")) is dict and "v" in record and "started" in record:
        return "jsonl"
    if len(ENVOY_KEYS.intersection(record)) >= 2:
        return "envoy"
    return "nginx-json"

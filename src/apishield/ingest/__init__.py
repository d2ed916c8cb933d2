"""Recorded traffic in: access logs (nginx, JSON gateways, Envoy), HAR and apishield JSONL."""

from apishield.ingest.detect import detect_format
from apishield.ingest.jsonl import exchange_to_jsonl
from apishield.ingest.reader import read_exchanges
from apishield.ingest.stats import IngestError, IngestStats, LineError

__all__ = [
    "IngestError",
    "IngestStats",
    "LineError",
    "detect_format",
    "exchange_to_jsonl",
    "read_exchanges",
]

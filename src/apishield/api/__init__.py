"""The REST API of `apishield serve` (docs/api.md): reads the store, takes ingest batches."""

from apishield.api.app import create_app
from apishield.api.parts import ApiParts, BlockList, IngestSink

__all__ = ["ApiParts", "BlockList", "IngestSink", "create_app"]

"""The default of `checks.request_media_types` and the shape of its patterns (see
`apishield.checks.media_types`, which applies them)."""

from __future__ import annotations

import re

DEFAULT_MEDIA_TYPES: tuple[str, ...] = (
    "application/json",
    "application/*+json",
    "application/x-ndjson",
    "application/x-www-form-urlencoded",
    "multipart/form-data",
    "multipart/related",
    "multipart/mixed",
    "application/xml",
    "text/xml",
    "application/*+xml",
    "application/octet-stream",
    "application/grpc",
    "application/grpc+proto",
    "application/grpc-web",
    "application/grpc-web+proto",
    "application/protobuf",
    "application/x-protobuf",
    "application/cbor",
    "application/msgpack",
    "application/x-msgpack",
    "application/graphql",
    "application/csp-report",
    "application/pdf",
    "application/zip",
    "application/gzip",
    "text/csv",
    "image/*",
    "audio/*",
    "video/*",
)
"""What APIs take bodies in: JSON, forms, XML, binary and RPC encodings, and file uploads."""

_NAME = r"[a-z0-9][\w!#$&^.+-]*"
MEDIA_PATTERN = re.compile(rf"\*/\*|{_NAME}/(?:\*|\*\+[\w.-]+|{_NAME})")
"""One pattern of `checks.request_media_types`, lower case."""

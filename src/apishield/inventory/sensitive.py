"""Which sensitive data classes a response body carries, and how many people it describes.

This runs on every captured response, so it parses once (orjson), walks the tree once, decides each
field name once per process, and gives up at fixed caps instead of slowing down on hostile bodies.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from hashlib import blake2b
from urllib.parse import parse_qsl

import ijson
import orjson

from apishield.inventory.classify import DATA_CLASSES, PERSONAL, SECRETS, classify
from apishield.inventory.fieldnames import NO_CLASS, field_name
from apishield.inventory.treewalk import MAX_DEPTH, Walk

__all__ = [
    "DATA_CLASSES",
    "PERSONAL",
    "SECRETS",
    "BodyScan",
    "BodyScans",
    "classify_value",
    "scan_body",
]

_JSON_LINES = ("application/x-ndjson", "application/jsonl", "application/x-jsonlines")
_MEDIA = ("image/", "audio/", "video/", "font/", "application/pdf", "application/zip")
_OPENING = frozenset({"start_map", "start_array"})
_CLOSING = frozenset({"end_map", "end_array"})


@dataclass(slots=True)
class BodyScan:
    """Counts and shapes only: the values themselves never leave the scan."""

    classes: dict[str, int] = field(default_factory=dict)
    """Class id -> number of values found."""
    person_records: int = 0
    """Distinct person records in this body."""
    fields: dict[str, str] = field(default_factory=dict)
    """Field path with array indices collapsed ("data[].email") -> class id of the first value
    found there; "" is the body itself, as for plain text."""
    truncated: bool = False
    """The body, or the tree in it, hit a cap and was only partly scanned."""


def classify_value(name: str | None, value: object, *, now: float | None = None) -> str | None:
    """The class of one value under one field name, judged without the object around it: a bare
    "name" is therefore never a person's name here, and city or postcode alone are no address."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    return classify(NO_CLASS if name is None else field_name(name), value, _latest(now))


def scan_body(
    body: bytes, content_type: str, *, max_bytes: int = 262_144, now: float | None = None
) -> BodyScan:
    """Never raises: a body that does not parse as its type is scanned as text, or not at all.

    `now` is the exchange's event time (epoch seconds); a date of birth must not be after it.
    """
    return _scan(body, content_type, max_bytes, _latest(now))


class BodyScans:
    """`scan_body` for a stream of answers, where most bodies were seen before (error bodies,
    health checks, catalogues): a scan depends only on the bytes, the content type and the
    day, so a repeat costs a digest of its bytes. The memo holds digests, counts and field
    paths, never a body, and forgets everything when full."""

    def __init__(self, max_bytes: int, size: int = 4096) -> None:
        self.max_bytes = max_bytes
        self.size = size
        self._scans: dict[tuple[bytes, str, dt.date | None], BodyScan] = {}

    def scan(self, body: bytes, content_type: str, now: float) -> BodyScan:
        latest = _latest(now)
        key = (blake2b(body, digest_size=16).digest(), content_type, latest)
        scan = self._scans.get(key)
        if scan is None:
            scan = _scan(body, content_type, self.max_bytes, latest)
            if len(self._scans) >= self.size:
                self._scans.clear()
            self._scans[key] = scan
        # Copies: each exchange owns what it is handed.
        return BodyScan(dict(scan.classes), scan.person_records, dict(scan.fields), scan.truncated)


def _scan(body: bytes, content_type: str, max_bytes: int, latest: dt.date | None) -> BodyScan:
    walk = Walk(latest)
    walk.truncated = len(body) > max_bytes
    mime = content_type.partition(";")[0].strip().lower()
    if not mime.startswith(_MEDIA):
        _read(walk, body[:max_bytes], mime)
        walk.finish()
    return BodyScan(walk.classes, walk.records, walk.fields, walk.truncated)


def _read(walk: Walk, body: bytes, mime: str) -> None:
    if mime in _JSON_LINES:
        walk.root([_line(line) for line in body.splitlines()])
    elif mime.endswith("json"):
        _json(walk, body)
    elif mime == "application/x-www-form-urlencoded":
        fields = parse_qsl(body.decode("utf-8", "replace"), errors="replace")
        walk.mapping(fields, "", 0, False, NO_CLASS)
    elif mime in ("", "text/plain") and body.lstrip()[:1] in (b"{", b"["):
        _json(walk, body)
    else:
        walk.free_text("", body.decode("utf-8", "replace"))


_DAY = 86_400.0
_DATES: dict[float, dt.date] = {}
"""UTC day number -> its date: a body's event time falls on a day seen many times before."""


def _latest(now: float | None) -> dt.date | None:
    if now is None:
        return None
    day = now // _DAY
    # A second or more from midnight, where no rounding of the time can change the date.
    settled = 1.0 <= now - day * _DAY <= _DAY - 1.0
    if settled and (date := _DATES.get(day)) is not None:
        return date
    try:
        date = dt.datetime.fromtimestamp(now, dt.UTC).date()
    except (OverflowError, OSError, ValueError):
        return None
    if settled:
        if len(_DATES) >= 64:
            _DATES.clear()
        _DATES[day] = date
    return date


def _json(walk: Walk, body: bytes) -> None:
    """orjson for whole documents. Invalid UTF-8 is replaced; a cut, too deep or broken document
    is read as far as it parses, and if that finds nothing and the body was whole, as text."""
    try:
        tree = orjson.loads(body)
    except orjson.JSONDecodeError:
        try:
            tree = orjson.loads(body.decode("utf-8", "replace"))
        except orjson.JSONDecodeError:
            _unparsed(walk, body)
            return
    walk.root(tree)


def _unparsed(walk: Walk, body: bytes) -> None:
    prefix, cut = _prefix_tree(body)
    walk.truncated |= cut
    if prefix:
        walk.root(prefix[0])
    if not walk.classes and not walk.truncated:
        walk.free_text("", body.decode("utf-8", "replace"))


def _line(line: bytes) -> object:
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        return None


def _prefix_tree(body: bytes) -> tuple[list[object], bool]:
    """The tree that the readable prefix of a JSON document holds, cut at `MAX_DEPTH`; and
    whether anything was cut. An incremental parser gets this far where orjson gives up."""
    root: list[object] = []
    stack: list[list[object] | dict[str, object]] = [root]
    key = ""
    skipped = 0
    cut = False
    try:
        for event, value in ijson.basic_parse(body, use_float=True):
            if skipped:
                skipped += (event in _OPENING) - (event in _CLOSING)
            elif event == "map_key":
                key = value
            elif event in _CLOSING:
                stack.pop()
            elif event in _OPENING and len(stack) > MAX_DEPTH:
                skipped, cut = 1, True
            else:
                node = {} if event == "start_map" else [] if event == "start_array" else value
                parent = stack[-1]
                if isinstance(parent, list):
                    parent.append(node)
                else:
                    parent[key] = node
                if isinstance(node, dict | list):
                    stack.append(node)
    except (ijson.JSONError, ValueError, OverflowError):
        pass
    return root, cut

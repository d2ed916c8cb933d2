"""Which sensitive data classes a response body carries, and how many people it describes.

This runs on every captured response, so it parses once (orjson), walks the tree once, decides each
field name once per process, and gives up at fixed caps instead of slowing down on hostile bodies.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

import ijson
import orjson

from apishield.inventory.classify import DATA_CLASSES, PERSONAL, SECRETS, classify
from apishield.inventory.fieldnames import NO_CLASS, field_name
from apishield.inventory.treewalk import MAX_DEPTH, Walk

__all__ = ["DATA_CLASSES", "PERSONAL", "SECRETS", "BodyScan", "classify_value", "scan_body"]

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
    walk = Walk(_latest(now))
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


def _latest(now: float | None) -> dt.date | None:
    if now is None:
        return None
    try:
        return dt.datetime.fromtimestamp(now, dt.UTC).date()
    except (OverflowError, OSError, ValueError):
        return None


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

"""What a message sends, as the spec's schemas see it: a JSON or form body as one value, and
which documented parameters are missing.

A body is judged only when it was captured whole: a body cut at the capture limit cannot be
parsed, and a finding about half a document would be noise. A form body's values are strings
on the wire; each is read as the type its property documents (Twilio's `Timeout=30` is the
integer 30), so the same closed schema judges JSON and forms alike.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

import orjson

from apishield.exchange import Headers, Request

NOTHING = object()
"""What `document` answers for a body it cannot judge."""

IGNORED_HEADERS = frozenset(("accept", "content-type", "authorization"))
"""Header parameters OpenAPI says to ignore: they are described elsewhere."""

_INTEGER = re.compile(r"[+-]?\d{1,18}")
_NUMBER = re.compile(r"[+-]?(?:\d{1,40}(?:\.\d{0,40})?|\.\d{1,40})(?:[eE][+-]?\d{1,3})?")
_BOOLEANS = {"true": True, "false": False}


def document(
    body: bytes | None, size: int | None, headers: Headers, form: FormReader | None = None
) -> Any:
    """The body as one JSON value, or NOTHING when it is absent, cut, or neither JSON nor a
    form (forms only where a `FormReader` is given)."""
    if not body or (size is not None and size > len(body)):
        return NOTHING
    if headers.get("content-encoding", "identity").lower() != "identity":
        return NOTHING  # compressed as captured: neither judged nor rewritten
    media = headers.get("content-type", "").partition(";")[0].strip().lower()
    if media == "application/x-www-form-urlencoded":
        return NOTHING if form is None else form.read(body.decode("utf-8", "replace"))
    if media == "application/json" or media.endswith("+json") or _bare_json(media, body):
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            return NOTHING  # the injection check reports malformed JSON (req.body.malformed)
    return NOTHING


def _bare_json(media: str, body: bytes) -> bool:
    """No content type at all and a body that opens like JSON: many servers parse it anyway."""
    return not media and body.lstrip()[:1] in (b"{", b"[")


class FormReader:
    """Reads one operation's form bodies: each documented field's types worked out once."""

    def __init__(self, properties: Mapping[str, Any]) -> None:
        self._fields: dict[str, tuple[bool, tuple[str, ...]]] = {}
        for name, schema in properties.items():
            types = _types(schema)
            if "array" in types and isinstance(schema, Mapping):
                self._fields[name] = (True, _types(schema.get("items")))
            else:
                self._fields[name] = (False, types)

    def read(self, text: str) -> dict[str, Any]:
        """The form as an object: values read as their field's type, arrays from repeats."""
        out: dict[str, Any] = {}
        fields = self._fields
        for piece in text.split("&"):
            if not piece:
                continue
            name, _, raw = piece.partition("=")
            if "%" in name or "+" in name:
                name = unquote_plus(name)
            if "%" in raw or "+" in raw:
                raw = unquote_plus(raw)
            many, types = fields.get(name, _TEXT)
            value = _scalar(raw, types) if types else raw
            if not many:
                out[name] = value
            elif isinstance(held := out.setdefault(name, []), list):
                held.append(value)
        return out


_TEXT: tuple[bool, tuple[str, ...]] = (False, ())


def _types(schema: Any) -> tuple[str, ...]:
    if not isinstance(schema, Mapping):
        return ()
    kind = schema.get("type")
    if isinstance(kind, str):
        return (kind,)
    return tuple(k for k in kind if isinstance(k, str)) if isinstance(kind, list) else ()


def _scalar(raw: str, types: tuple[str, ...]) -> Any:
    if "integer" in types and _INTEGER.fullmatch(raw):
        return int(raw)
    if "number" in types and _NUMBER.fullmatch(raw):
        return float(raw)
    if "boolean" in types and raw.lower() in _BOOLEANS:
        return _BOOLEANS[raw.lower()]
    return raw


def missing_parameters(request: Request, required: Iterable[tuple[str, str]]) -> list[str]:
    """`query.limit`, `header.x-request-id`: required parameters the request does not carry."""
    query: set[str] | None = None
    cookies: set[str] | None = None
    missing = []
    for location, name in required:
        if location == "query":
            if query is None:
                query = {key for key, _ in parse_qsl(request.query, keep_blank_values=True)}
            present = name in query
        elif location == "header":
            present = name in request.headers
        elif location == "cookie":
            if cookies is None:
                cookies = _cookie_names(request.headers.get("cookie", ""))
            present = name in cookies
        else:
            continue
        if not present:
            missing.append(f"{location}.{name}")
    return missing


def _cookie_names(header: str) -> set[str]:
    return {part.partition("=")[0].strip() for part in header.split(";") if part.strip()}

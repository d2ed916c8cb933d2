"""apishield's own JSONL: one whole exchange per line, bodies included, so captures replay exactly.

Access logs lose headers and bodies; this format keeps everything a source saw, so traffic
captured by the middleware or proxy can be analysed again later with the same result. The format
is described in docs/jsonl-format.md. Analysis results (actor, route, findings) are not written:
they are recomputed on replay. A guard's decision is, when it was not a plain allow: it depended
on live state (buckets, blocks) that replay cannot rebuild.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

import orjson

from apishield.exchange import Action, Decision, Exchange, Headers, Request, Response
from apishield.ingest.base import ParseOptions
from apishield.ingest.jsonlog import load_object
from apishield.ingest.stats import Skip, number, shown
from apishield.ingest.timestamps import LAST

VERSION = 1
MAX_TARGET = 65_536
"""Characters of path and query together: servers refuse longer ones (414), and routing one
costs time in proportion."""
_SURROGATE = re.compile(r"[\ud800-\udfff]")  # escapes read by `re`: no surrogate in the source
_TEXT = {str}
"""The one type of a request's text fields, checked for all of them in one C call."""


def exchange_to_jsonl(exchange: Exchange) -> bytes:
    """One line, newline included. Never fails: a text field that is not valid Unicode (a lone
    surrogate from a lenient decoder upstream) is written with U+FFFD in its place."""
    record = {
        "v": VERSION,
        "started": exchange.started,
        "duration": exchange.duration,
        "request": _request_record(exchange.request),
        "response": None if exchange.response is None else _response_record(exchange.response),
    }
    decision = exchange.decision
    if decision.action is not Action.ALLOW:
        record["decision"] = {
            "action": decision.action.value,
            "rule": decision.rule,
            "reason": decision.reason,
            "enforced": decision.enforced,
        }
    try:
        return orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE)
    except orjson.JSONEncodeError:
        return orjson.dumps(_clean(record), option=orjson.OPT_APPEND_NEWLINE)


class JsonlParser:
    """Reads lines written by `exchange_to_jsonl` (or by anything that follows the format)."""

    __slots__ = ("_cap", "_name")

    def __init__(self, options: ParseOptions) -> None:
        self._name = options.name
        self._cap = options.max_body_bytes

    def __call__(self, line: bytes, line_no: int) -> Exchange:
        record = load_object(line)
        if record.get("v") != VERSION:
            raise Skip("unsupported version", f"v is {shown(record.get('v'))}; this reader knows 1")
        started = number(record.get("started"))
        if started is None or started >= LAST:
            raise Skip("bad field started", shown(record.get("started")))
        duration = number(record.get("duration"))
        if duration is None and record.get("duration") is not None:
            raise Skip("bad field duration", shown(record.get("duration")))
        request = self._request(_object(record, "request"))
        response = None
        if record.get("response") is not None:
            response = self._response(_object(record, "response"))
        exchange = Exchange(request, response, started, duration, f"{self._name}:{line_no}")
        if record.get("decision") is not None:
            exchange.decision = _decision(_object(record, "decision"))
        return exchange

    def _request(self, fields: dict[str, Any]) -> Request:
        get = fields.get
        texts: tuple[Any, ...] = (
            get("method"),
            get("path"),
            get("query", ""),
            get("scheme", ""),
            get("host", ""),
            get("peer_ip", ""),
            get("http_version", ""),
        )
        if not (texts[0] and texts[1] and set(map(type, texts)) == _TEXT):
            texts = _request_texts(fields)
        method, path, query, scheme, host, peer_ip, version = texts
        if len(path) + len(query) > MAX_TARGET or len(method) > 32 or len(host) > 1024:
            raise Skip(
                "request line too long",
                f"path and query of {len(path) + len(query)} characters; at most {MAX_TARGET}",
            )
        body, size = _body(fields, "request", self._cap)
        headers = _headers(fields, "request")
        return Request(
            method.upper(),
            path,
            query,
            headers,
            body,
            size,
            scheme or "",
            host,
            peer_ip,
            version,
        )

    def _response(self, fields: dict[str, Any]) -> Response:
        status = fields.get("status")
        if type(status) is not int or not 100 <= status <= 999:
            raise Skip("bad field response.status", shown(status))
        body, size = _body(fields, "response", self._cap)
        return Response(status, _headers(fields, "response"), body, size)


_ACTIONS = {action.value: action for action in Action}


def _decision(fields: dict[str, Any]) -> Decision:
    action = _ACTIONS.get(fields.get("action"))  # type: ignore[arg-type]
    rule, reason, enforced = (
        fields.get("rule", ""),
        fields.get("reason", ""),
        fields.get("enforced"),
    )
    if action is None:
        raise Skip("bad field decision.action", shown(fields.get("action")))
    if type(rule) is not str or type(reason) is not str or type(enforced) is not bool:
        raise Skip("bad field decision", "rule and reason are strings, enforced a boolean")
    return Decision(action, reason[:200], rule[:128], enforced=enforced)


def jsonl_parser(options: ParseOptions) -> JsonlParser:
    return JsonlParser(options)


def _request_record(request: Request) -> dict[str, Any]:
    return {
        "method": request.method,
        "path": request.path,
        "query": request.query,
        "scheme": request.scheme,
        "host": request.host,
        "peer_ip": request.peer_ip,
        "http_version": request.http_version,
        "headers": request.headers,
        **_body_record(request.body, request.body_size),
    }


def _response_record(response: Response) -> dict[str, Any]:
    return {
        "status": response.status,
        "headers": response.headers,
        **_body_record(response.body, response.body_size),
    }


def _body_record(body: bytes | None, size: int | None) -> dict[str, Any]:
    record: dict[str, Any] = {} if size is None else {"body_size": size}
    if body is None:
        return record
    try:
        record["body"] = body.decode("utf-8")
    except UnicodeDecodeError:
        record["body"] = base64.b64encode(body).decode("ascii")
        record["body_encoding"] = "base64"
    return record


def _clean(value: Any) -> Any:
    if type(value) is str:
        return _SURROGATE.sub("\ufffd", value)
    if type(value) is dict:
        return {_clean(key): _clean(item) for key, item in value.items()}
    return value


def _object(record: dict[str, Any], key: str) -> dict[str, Any]:
    value = record.get(key)
    if type(value) is not dict:
        raise Skip(f"bad field {key}", f"expected an object, got {shown(value)}")
    return value


def _request_texts(fields: dict[str, Any]) -> tuple[str, str, str, str, str, str, str]:
    """The slow path: say which field is wrong, and read null optional fields as ""."""
    return (
        _text(fields, "request", "method", required=True),
        _text(fields, "request", "path", required=True),
        _text(fields, "request", "query"),
        _text(fields, "request", "scheme"),
        _text(fields, "request", "host"),
        _text(fields, "request", "peer_ip"),
        _text(fields, "request", "http_version"),
    )


def _text(fields: dict[str, Any], part: str, key: str, *, required: bool = False) -> str:
    value = fields.get(key)
    if type(value) is str and (value or not required):
        return value
    if value is None and not required:
        return ""
    raise Skip(f"bad field {part}.{key}", f"expected a string, got {shown(value)}")


def _headers(fields: dict[str, Any], part: str) -> Headers:
    logged = fields.get("headers")
    if logged is None:
        return {}
    headers: Headers = {}
    if type(logged) is dict:
        for name, value in logged.items():
            if type(value) is not str:
                break
            headers[name.lower()] = value
        else:
            return headers
    raise Skip(f"bad field {part}.headers", "expected an object of strings")


def _body(fields: dict[str, Any], part: str, cap: int) -> tuple[bytes | None, int | None]:
    size = fields.get("body_size")
    if size is not None and (type(size) is not int or size < 0):
        raise Skip(f"bad field {part}.body_size", shown(size))
    text = fields.get("body")
    if text is None:
        return None, size
    if type(text) is not str:
        raise Skip(f"bad field {part}.body", f"expected a string, got {shown(text)}")
    body = _decode(text, fields.get("body_encoding"), part)
    if len(body) > cap:
        return body[:cap], max(size or 0, len(body))
    return body, size


def _decode(text: str, encoding: Any, part: str) -> bytes:
    if encoding is None or encoding == "utf-8":
        return text.encode("utf-8", "replace")
    if encoding != "base64":
        raise Skip(f"bad field {part}.body_encoding", f"{shown(encoding)}; use utf-8 or base64")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise Skip(f"bad field {part}.body", "not valid base64") from None

"""JSON access logs (nginx `escape=json`, gateways, anything with a field map) into exchanges.

What a log leaves out stays at the `Request` default: no scheme field means "" (unknown), no client
address means `peer_ip` "", and no status (or status 0, "-") means `response=None`. A line without a
time is skipped: replay must never fall back to the wall clock.

This is the hot path of `apishield analyze`, so the per-line methods read each field inline
against a precomputed `Plan`, with the common case first and a helper only for the rare one: a
Python call costs about as much as reading three fields.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from orjson import JSONDecodeError, loads

from apishield.exchange import Exchange, Headers, Request, Response
from apishield.ingest.base import ParseOptions
from apishield.ingest.fieldmap import (
    ABSENT,
    Fields,
    Plan,
    flattened,
    make_plan,
    merge_fields,
    search,
)
from apishield.ingest.stats import Skip, shown, shown_time
from apishield.ingest.target import is_method, parse_request_line, split_target
from apishield.ingest.timestamps import LAST, event_time
from apishield.ingest.values import add_headers, capped, count, duration, status_code, without_port

MAX_PLANS = 1024
"""Record shapes remembered per file; a file with more is not a log with a fixed format."""


class JsonLogParser:
    """Reads JSON lines, learning which key holds which field once per record shape.

    A shape is told apart by its keys, in order: a log format writes the same keys on every line,
    and two formats with as many keys (a line with `http_authorization` where another has
    `http_referer`) each get their own plan, so no field of either is lost. A line whose planned
    key holds no usable value falls back to searching every name for the fields an event needs
    (time, method, target, status).
    """

    __slots__ = ("_cap", "_fields", "_name", "_plans", "_time_plan", "_time_text", "_time_value")

    def __init__(self, options: ParseOptions, fields: Fields) -> None:
        self._fields = fields
        self._name = options.name
        self._cap = options.max_body_bytes
        self._plans: dict[tuple[str, ...], Plan] = {}
        # The last time text read, with its plan and value: lines of one second share it.
        self._time_text = ""
        self._time_plan: Plan | None = None
        self._time_value = 0.0

    def __call__(self, line: bytes, line_no: int) -> Exchange:
        try:
            record = loads(line)
        except JSONDecodeError as exc:
            record = _recover(line, exc)
        if type(record) is not dict:
            raise Skip("not a JSON object", f"a JSON {type(record).__name__}")
        plan = self._plans.get(tuple(record)) or self._plan(record)
        if plan.flatten:
            record = flattened(record)
        value = record.get(plan.time)
        if value == self._time_text and plan is self._time_plan:
            started = self._time_value
        else:
            try:
                started = plan.read_time(value)
            except (TypeError, ValueError):
                started = -1.0
            if not 0 <= started < LAST:
                started = self._time(record, plan, value)
            elif type(value) is str:
                self._time_text, self._time_plan, self._time_value = value, plan, started
        value = record.get(plan.duration)
        if type(value) is float and 0 <= value < 1e9:  # 0.012 written as a JSON number
            seconds: float | None = value
        else:
            seconds = self._duration(record, plan, value)
        return Exchange(
            self._request(record, plan),
            self._response(record, plan),
            started,
            seconds,
            f"{self._name}:{line_no}",
        )

    def _request(self, record: dict[str, Any], plan: Plan) -> Request:
        get = record.get
        method = get(plan.method)
        target = get(plan.request_uri)
        if target is None and plan.request_uri is not ABSENT:  # Envoy's unset original path
            target = search(self._fields, record, "request_uri")
        version = ""
        if not (
            type(method) is str
            and type(target) is str
            and target[:1] == "/"
            and method.isalpha()
            and method.isascii()
        ):
            method, target, version = self._request_line(record, plan)
        path, _, query = target.partition("?")
        scheme = host = ""
        if path[:1] != "/":
            scheme, host, path, query = split_target(target)
        headers: Headers = {}
        for key, name in plan.headers:
            value = get(key)
            if type(value) is str and value and value != "-":
                headers[name] = value
        body = size = None
        if not plan.plain_request:
            query, scheme, version, body, size = self._extras(
                record, plan, headers, (query, scheme, version)
            )
        value = get(plan.host)
        if type(value) is str and value and value != "-":
            host = value
            headers.setdefault("host", value)
        value = get(plan.client_ip)
        peer_ip = ""
        if type(value) is str and value and value != "-":
            peer_ip = without_port(value) if ":" in value else value
        return Request(
            method.upper(), path, query, headers, body, size, scheme, host, peer_ip, version
        )

    def _extras(
        self, record: dict[str, Any], plan: Plan, headers: Headers, read: tuple[str, str, str]
    ) -> tuple[str, str, str, bytes | None, int | None]:
        """Query, scheme, version and body where the log has fields of their own for them.

        `read` is what the target and request line gave for the first three; a header object
        is merged into `headers`.
        """
        get = record.get
        query, scheme, version = read
        if not query and plan.query is not ABSENT:
            value = get(plan.query)
            query = value if type(value) is str and value != "-" else ""
        if plan.request_headers is not ABSENT:
            add_headers(headers, get(plan.request_headers))
        value = get(plan.scheme)
        if type(value) is str and value and value != "-":
            scheme = value.lower()
        value = get(plan.protocol)
        if type(value) is str and value and value != "-":
            version = value
        value = get(plan.request_body)
        if value is None:
            return query, scheme, version, None, count(get(plan.request_bytes))
        return query, scheme, version, *capped(value, self._cap)

    def _response(self, record: dict[str, Any], plan: Plan) -> Response | None:
        get = record.get
        value = get(plan.status)
        if type(value) is str and len(value) == 3 and value.isdecimal() and value[0] != "0":
            status = int(value)
        elif type(value) is int and 100 <= value <= 999:
            status = value
        else:
            code = self._status(record, plan, value)
            if code is None:
                return None
            status = code
        if plan.plain_response:
            value = get(plan.response_bytes)
            size = value if type(value) is int and value >= 0 else count(value)
            return Response(status, {}, None, size)
        headers: Headers = {}
        for key, name in plan.response_header_keys:
            value = get(key)
            if type(value) is str and value and value != "-":
                headers[name] = value
        if plan.response_headers is not ABSENT:
            add_headers(headers, get(plan.response_headers))
        value = get(plan.response_body)
        if value is None:
            return Response(status, headers, None, count(get(plan.response_bytes)))
        body, size = capped(value, self._cap)
        return Response(status, headers, body, size)

    def _duration(self, record: dict[str, Any], plan: Plan, value: Any) -> float | None:
        if type(value) is str:  # nginx "0.012", read without a helper
            try:
                seconds = float(value)
            except ValueError:
                seconds = -1.0
            if 0 <= seconds < 1e9:
                return seconds
        elif value is None and plan.duration is ABSENT:  # Envoy: milliseconds only
            millis = record.get(plan.duration_ms)
            if type(millis) is int and 0 <= millis < 1e9:
                return millis / 1000
        return self._any_duration(record, plan, value)

    def _any_duration(self, record: dict[str, Any], plan: Plan, value: Any) -> float | None:
        seconds = duration(value)
        if seconds is None and plan.duration is not ABSENT:
            seconds = duration(search(self._fields, record, "duration"))
        if seconds is None and plan.duration_ms is not ABSENT:
            millis = duration(record.get(plan.duration_ms))
            seconds = None if millis is None else millis / 1000
        return seconds

    def _time(self, record: dict[str, Any], plan: Plan, value: Any) -> float:
        """The slow path: the planned time key is missing or its value is not a time."""
        if value is None or value == "-":
            value = self._required(record, plan.time, "time")
        try:
            return event_time(value)
        except ValueError:
            raise Skip("bad time", shown_time(value)) from None

    def _status(self, record: dict[str, Any], plan: Plan, value: Any) -> int | None:
        if value is None and plan.status is not ABSENT:
            value = search(self._fields, record, "status")
        if value is None:
            value = record.get(plan.upstream_status)
        return status_code(value)

    def _plan(self, record: dict[str, Any]) -> Plan:
        if len(self._plans) >= MAX_PLANS:
            self._plans.clear()
        plan = self._plans[tuple(record)] = make_plan(self._fields, record)
        return plan

    def _required(self, record: dict[str, Any], key: str, name: str) -> Any:
        value = None if key is ABSENT else search(self._fields, record, name)
        if value is None:
            raise Skip(f"missing field {name}", self._looked_for(name))
        return value

    def _looked_for(self, name: str) -> str:
        names = ", ".join(self._fields[name][:5])
        return f"looked for {names}; name your log's key in ingest.field_map.{name}"

    def _request_line(self, record: dict[str, Any], plan: Plan) -> tuple[str, str, str]:
        method = record.get(plan.method)
        if (method is None or method == "-") and plan.method is not ABSENT:
            method = search(self._fields, record, "method")
        target = record.get(plan.request_uri)
        if (target is None or target == "-") and plan.request_uri is not ABSENT:
            target = search(self._fields, record, "request_uri")
        if type(method) is str and type(target) is str and target and is_method(method):
            return method, target, ""
        line = record.get(plan.request_line)
        if type(line) is str and (parts := parse_request_line(line)) is not None:
            return parts
        if target is None and method is None and type(line) is str:
            raise Skip("bad request line", shown(line))
        if target is None:
            raise Skip("missing field request_uri", self._looked_for("request_uri"))
        if method is None:
            raise Skip("missing field method", self._looked_for("method"))
        raise Skip("bad request", f"method {shown(method, 40)}, target {shown(target)}")


def json_parser(
    options: ParseOptions, defaults: Mapping[str, Sequence[str]] | None = None
) -> JsonLogParser:
    """A parser for one file: configured names first, then a format's own, then the common ones."""
    return JsonLogParser(options, merge_fields(options.field_map, defaults))


def load_object(line: bytes) -> dict[str, Any]:
    """One JSON object, forgiving the two ways nginx writes JSON that is not quite JSON.

    With `escape=json`, nginx copies bytes a client sent as they are, so a hostile User-Agent can
    make the line invalid UTF-8; with the default escaping it writes `\\x22` inside strings. Both
    lines are still events, so the line is decoded with U+FFFD for bad bytes and `\\xHH` is read as
    U+00HH. Only when that fails too is the line skipped.
    """
    try:
        record = loads(line)
    except JSONDecodeError as exc:
        record = _recover(line, exc)
    if type(record) is not dict:
        raise Skip("not a JSON object", f"a JSON {type(record).__name__}")
    return record


def _recover(line: bytes, first: JSONDecodeError) -> Any:
    text = line.decode("utf-8", "replace")
    if "\\x" in text:
        text = text.replace("\\x", "\\u00")
    try:
        return loads(text)
    except JSONDecodeError:
        raise Skip("not JSON", str(first)) from None

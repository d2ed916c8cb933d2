"""The inventory stage: every exchange updates the statistics of its endpoint."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from urllib.parse import unquote_plus

import orjson

from apishield.exchange import Exchange
from apishield.inventory.endpoint import (
    LATENCY_BUCKET_OF,
    MAX_ACTORS,
    Endpoint,
    ParamStats,
    latency_bucket,
)
from apishield.inventory.fieldnames import shown_name
from apishield.inventory.params import value_type

MAX_ENDPOINTS = 20_000
MAX_PARAMS = 64
OVERFLOW_TEMPLATE = "/{overflow}"
"""Where traffic goes past MAX_ENDPOINTS: a flood of junk paths must not exhaust memory."""
OVERFLOW_HOSTS = 32
"""Hosts past MAX_ENDPOINTS with an overflow endpoint of their own. The Host header is the
client's to choose, so the traffic of any further host shares one under `OTHER`."""
OTHER = "*"
"""The host, or the method, of overflow traffic that has no overflow endpoint of its own."""
METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"}
)
"""Methods with overflow endpoints of their own: any token is a method to a server."""

Retemplate = Callable[[str, str], str]
"""(host, raw path) -> the route template as learning now sees it."""


class Inventory:
    name = "inventory"

    def __init__(self) -> None:
        self.endpoints: dict[tuple[str, str, str], Endpoint] = {}
        self._hosts: dict[str, str] = {}
        self._overflow_hosts: set[str] = set()

    def __call__(self, exchange: Exchange) -> None:
        route = exchange.route
        if route is None:
            return
        request = exchange.request
        host = self._hosts.get(request.host) or self._host(request.host)
        key = (request.method, host, route)
        endpoint = self.endpoints.get(key)
        if endpoint is None:
            endpoint = self._new_endpoint(key, request.path)
        _count(endpoint, exchange)
        path_params = exchange.path_params
        if path_params:
            _path_params(endpoint, path_params)
        if request.query:
            _params(endpoint, "query", _query_pairs(request.query))
        if request.body and request.headers.get("content-type", "").startswith("application/json"):
            _params(endpoint, "body", _json_fields(request.body), _as_is)

    def _new_endpoint(self, key: tuple[str, str, str], path: str) -> Endpoint:
        if len(self.endpoints) >= MAX_ENDPOINTS:
            key = self._overflow_key(key[0], key[1])
            existing = self.endpoints.get(key)
            if existing is not None:
                return existing
        endpoint = Endpoint(method=key[0], host=key[1], template=key[2], sample_path=path)
        self.endpoints[key] = endpoint
        return endpoint

    def _overflow_key(self, method: str, host: str) -> tuple[str, str, str]:
        """At most (OVERFLOW_HOSTS + 1) * (len(METHODS) + 1) overflow endpoints, whatever the
        methods and Host headers clients send."""
        if host not in self._overflow_hosts:
            if len(self._overflow_hosts) < OVERFLOW_HOSTS:
                self._overflow_hosts.add(host)
            else:
                host = OTHER
        return (method if method in METHODS else OTHER, host, OVERFLOW_TEMPLATE)

    def overflow_requests(self) -> int:
        """Requests counted past MAX_ENDPOINTS, under no endpoint of their own."""
        return sum(e.requests for e in self.endpoints.values() if e.template == OVERFLOW_TEMPLATE)

    def endpoint(self, method: str, host: str, route: str) -> Endpoint | None:
        """The endpoint a request to this route counts towards, if it has been seen."""
        return self.endpoints.get((method, self._hosts.get(host) or self._host(host), route))

    def _host(self, raw: str) -> str:
        host = self._hosts.get(raw)
        if host is None:
            host = raw.lower().removesuffix(":80").removesuffix(":443")
            if len(self._hosts) < 4096:
                self._hosts[raw] = host
        return host

    def reconcile(self, retemplate: Retemplate) -> None:
        """Re-key endpoints whose template has become more general since they were first seen."""
        merged: dict[tuple[str, str, str], Endpoint] = {}
        for endpoint in self.endpoints.values():
            endpoint.template = _settled_template(endpoint, retemplate)
            target = merged.get(endpoint.key)
            if target is None:
                merged[endpoint.key] = endpoint
            else:
                target.merge(endpoint)
        self.endpoints = merged

    def settled(self, retemplate: Retemplate) -> dict[tuple[str, str, str], Endpoint]:
        """The endpoints as `reconcile` would leave them, these left as they are: an endpoint
        that keeps its key is shared, and only those it would re-key or merge are copied (a live
        snapshot of thousands of endpoints copies the few that settle, not all of them)."""
        groups: dict[tuple[str, str, str], list[Endpoint]] = {}
        for endpoint in self.endpoints.values():
            template = _settled_template(endpoint, retemplate)
            groups.setdefault((endpoint.method, endpoint.host, template), []).append(endpoint)
        settled: dict[tuple[str, str, str], Endpoint] = {}
        for key, members in groups.items():
            if len(members) == 1 and members[0].key == key:
                settled[key] = members[0]
                continue
            # Merging shares the merged endpoints' parameter records: copy every member.
            first, *rest = (copy.deepcopy(member) for member in members)
            first.template = key[2]
            for other in rest:
                first.merge(other)
            settled[key] = first
        return settled


def _settled_template(endpoint: Endpoint, retemplate: Retemplate) -> str:
    if endpoint.template != OVERFLOW_TEMPLATE and endpoint.sample_path:
        return retemplate(endpoint.host, endpoint.sample_path)
    return endpoint.template


def _count(endpoint: Endpoint, exchange: Exchange) -> None:
    """Runs on every exchange: plain comparisons and dict updates, no helper calls."""
    endpoint.requests += 1
    started = exchange.started
    if started < endpoint.first_seen:
        endpoint.first_seen = started
    if started > endpoint.last_seen:
        endpoint.last_seen = started
    response = exchange.response
    if response is not None:
        statuses = endpoint.statuses
        status = response.status
        statuses[status] = statuses.get(status, 0) + 1
        if response.headers:
            content_type = response.headers.get("content-type")
            if content_type:
                endpoint.content_types[content_type.partition(";")[0].strip().lower()] += 1
    duration = exchange.duration
    if duration is not None:
        latency = endpoint.latency  # `LatencyHistogram.add`, inlined
        index = LATENCY_BUCKET_OF.get(duration)
        latency.counts[latency_bucket(duration) if index is None else index] += 1
        latency.total += 1
    actor = exchange.actor
    if actor is not None:
        auth = endpoint.auth
        scheme = actor.auth_scheme or "none"
        auth[scheme] = auth.get(scheme, 0) + 1
        actors = endpoint.actors
        if len(actors) < MAX_ACTORS:
            actors.add(actor.key)
    if exchange.data_classes or exchange.person_records:
        _data(endpoint, exchange)


def _data(endpoint: Endpoint, exchange: Exchange) -> None:
    endpoint.responses_scanned += 1
    endpoint.data_classes.update(exchange.data_classes)
    for path, data_class in exchange.data_fields.items():
        endpoint.add_field(path, data_class)
    if exchange.person_records:
        endpoint.responses_with_personal_data += 1
        endpoint.person_records += exchange.person_records
        endpoint.max_person_records = max(endpoint.max_person_records, exchange.person_records)


def _params(
    endpoint: Endpoint,
    location: str,
    pairs: Iterable[tuple[str, str]],
    kind_of: Callable[[str], str] = value_type,
) -> None:
    """Values are typed here and dropped: only the type counts are kept."""
    params = endpoint.params
    for name, value in pairs:
        stats = params.get((location, name))
        if stats is None:
            if len(params) >= MAX_PARAMS:
                continue
            stats = params[(location, name)] = ParamStats(location=location, name=name)
        stats.seen += 1
        stats.types[kind_of(value)] += 1


def _path_params(endpoint: Endpoint, path_params: dict[str, str]) -> None:
    """`_params` for the one location every templated request has, without its generality."""
    params = endpoint.params
    for name, value in path_params.items():
        stats = params.get(("path", name))
        if stats is None:
            if len(params) >= MAX_PARAMS:
                continue
            stats = params[("path", name)] = ParamStats(location="path", name=name)
        stats.seen += 1
        if value.isdigit() and value.isascii():  # `value_type`'s first answer, without a call
            kind = "integer" if len(value) < 16 or value[0] != "0" else "string"
        else:
            kind = value_type(value)
        types = stats.types
        types[kind] = types.get(kind, 0) + 1


def _as_is(kind: str) -> str:
    return kind


def _query_pairs(query: str) -> list[tuple[str, str]]:
    pairs = []
    for part in query.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        if "%" in name or "+" in name:
            name = unquote_plus(name)
        if "%" in value or "+" in value:
            value = unquote_plus(value)
        pairs.append((shown_name(name)[:128], value))
    return pairs


def _json_fields(body: bytes) -> list[tuple[str, str]]:
    """Top-level JSON fields and their types: mass assignment shows up as new names here."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return []
    if not isinstance(document, dict):
        return []
    fields = []
    for name, value in document.items():
        fields.append((shown_name(name)[:128], _json_type(value)))
    return fields


def _json_type(value: object) -> str:
    if isinstance(value, str):
        return value_type(value)
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    return "null"

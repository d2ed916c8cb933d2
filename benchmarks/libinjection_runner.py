"""libinjection (the libinjection-python binding) run where CRS runs it: on attacker-set values.

A payload-list record is tested on its decoded value, as libinjection's own test reader does. A
whole request is split into the values a server hands an application, each form-decoded once:
query and form arguments (names and values), JSON string leaves, multipart parts, cookies, and the
User-Agent and Referer headers, which are the inputs CRS feeds libinjection (rules 942100 and
941100). Any other body is tested whole.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

from apishield.exchange import Exchange

try:
    import libinjection
except ImportError:  # the `bench` extra is not installed; detection.py says how to install it
    libinjection = None


def available() -> bool:
    return libinjection is not None


def flagged(record: dict[str, Any], exchange: Exchange | None) -> bool | None:
    """True when libinjection calls any value SQLi or XSS; None when there is nothing to test."""
    if libinjection is None:
        return None
    if "value" in record:
        values = [str(record["value"])]
    elif exchange is None:
        return None
    else:
        values = list(request_values(exchange))
    return any(is_attack(value) for value in values if value)


def is_attack(value: str) -> bool:
    return bool(libinjection.is_sql_injection(value)["is_sqli"]) or bool(
        libinjection.is_xss(value)["is_xss"]
    )


def request_values(exchange: Exchange) -> Iterator[str]:
    request = exchange.request
    yield from pairs(request.query)
    for name in ("user-agent", "referer"):
        if name in request.headers:
            yield request.headers[name]
    for cookie in request.headers.get("cookie", "").split(";"):
        yield from cookie.strip().partition("=")[::2]
    if request.body:
        yield from body_values(request.body, request.headers.get("content-type", ""))


def pairs(encoded: str) -> Iterator[str]:
    for name, value in parse_qsl(encoded, keep_blank_values=True, errors="replace"):
        yield name
        yield value


def body_values(body: bytes, content_type: str) -> Iterator[str]:
    text = body.decode("utf-8", "replace")
    kind = content_type.split(";", maxsplit=1)[0].strip().lower()
    if kind in {"", "application/x-www-form-urlencoded"}:
        yield from pairs(text)
    elif kind.endswith("json"):
        yield from json_strings(text)
    elif kind.startswith("multipart/") and "boundary=" in content_type:
        yield from multipart_parts(text, content_type.split("boundary=", 1)[1].strip('" '))
    else:
        yield text


def json_strings(text: str) -> Iterator[str]:
    try:
        stack: list[Any] = [json.loads(text)]
    except ValueError:
        yield text
        return
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
        elif node is not None:
            yield str(node)


def multipart_parts(text: str, boundary: str) -> Iterator[str]:
    for part in text.split(f"--{boundary}"):
        _, sep, content = part.partition("\r\n\r\n")
        if not sep:
            _, sep, content = part.partition("\n\n")
        if sep:
            yield content.removesuffix("\r\n").removesuffix("\n")

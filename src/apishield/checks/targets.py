"""Every place in a request an attacker controls, as (location, name, raw value) targets.

Values stay raw (percent-encoded, `+` for space) here; `decode.variants` turns each into the forms
a server could see. JSON bodies are walked, not scanned as text, so keys and string leaves are
judged one by one and a JSON document's own quotes and braces never look like an attack.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Container
from dataclasses import dataclass, field

import orjson

from apishield.checks.xml_values import looks_like_xml, xml_values
from apishield.exchange import Request

MAX_TARGETS = 512
"""Targets judged per request; the rest are counted, so a request cannot buy its way past."""
MAX_DEPTH = 32
"""JSON nesting walked; deeper documents are judged as text."""

_PLAIN_NAME = re.compile(r"[A-Za-z0-9_.\-]+")
"""JSON keys like `per_page` are judged together in one text; `a[$ne]` or `<x>` on their own."""

HEADERS = (
    "user-agent",
    "referer",
    "origin",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-real-ip",
    "x-client-ip",
    "forwarded",
    "x-api-version",
    "x-original-url",
    "x-rewrite-url",
    "true-client-ip",
    "contact",
    "from",
)
"""Standard headers attackers use; every non-standard header is judged as well."""

ORDINARY = frozenset(
    (
        "host",
        "accept",
        "accept-encoding",
        "accept-language",
        "accept-charset",
        "authorization",
        "cache-control",
        "connection",
        "content-length",
        "content-type",
        "content-encoding",
        "cookie",
        "date",
        "dnt",
        "etag",
        "expect",
        "if-match",
        "if-modified-since",
        "if-none-match",
        "if-unmodified-since",
        "keep-alive",
        "pragma",
        "proxy-connection",
        "range",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "upgrade-insecure-requests",
        "via",
    )
)
"""Headers whose values the server parses itself (or, for credentials, other checks judge)."""

REMEMBERED = frozenset(
    (
        "user-agent",
        "origin",
        "x-requested-with",
        "sec-ch-ua",
        "sec-ch-ua-mobile",
        "sec-ch-ua-platform",
        "sec-fetch-dest",
        "sec-fetch-mode",
        "sec-fetch-site",
        "sec-fetch-user",
    )
)
"""Headers that name the client's software: the same few values on most requests, never a
credential or personal data, so a value judged clean once can be remembered (`request_targets`'
`known`)."""

_UUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")


Place = tuple[str, str, bool, bool]
"""Where a value came from: (location, name, key, encoded), as the fields of `Target`."""


@dataclass(slots=True)
class Target:
    location: str
    """"path", "query", "body", "cookie" or "header"."""
    name: str
    """Parameter, cookie or header name; "" for the path or a body judged as text."""
    value: str
    key: bool = False
    """True when the value is a parameter *name* (NoSQL operators hide in names: a[$ne]=)."""
    encoded: bool = False
    """Percent-encoded with `+` for space, as query strings and form bodies are."""


@dataclass(slots=True)
class Targets:
    """The values of a request and, index for index, where each came from.

    Two parallel lists rather than one object per value: a JSON body holds hundreds of values,
    and a tuple costs a fraction of an object. `items` gives them as `Target`s.
    """

    values: list[str] = field(default_factory=list)
    places: list[Place] = field(default_factory=list)
    truncated: int = 0
    """Targets left out beyond MAX_TARGETS."""
    body_capped: bool = False
    """The body was larger than the cap and only its head was judged."""
    body_unparsed: str = ""
    """Why a body declared as JSON was judged as text instead, or ""."""
    too_deep: bool = False
    """The JSON body nests deeper than MAX_DEPTH; the deeper part was not judged."""
    file_names: list[int] = field(default_factory=list)
    """Indexes of the values that name an uploaded file (multipart `filename`, X-Filename)."""

    def add(
        self, location: str, name: str, value: str, key: bool = False, encoded: bool = False
    ) -> None:
        self.values.append(value)
        self.places.append((location, name, key, encoded))

    @property
    def items(self) -> list[Target]:
        return [
            Target(location, name, value, key, encoded)
            for value, (location, name, key, encoded) in zip(self.values, self.places, strict=True)
        ]


def request_targets(
    request: Request,
    max_body_bytes: int,
    *,
    plain_quiet: bool = False,
    headers: list[tuple[str, str]] | None = None,
) -> Targets:
    """`plain_quiet`: the gate found nothing in the path, query and cookies; judge the rest.
    `headers`: the headers other than Cookie to judge, from `judged_headers` (without the
    remembered ones, fewer when the gate found some quiet); by default every one
    `judged_headers(request.headers)` gives."""
    found = Targets()
    if not plain_quiet:
        found.add("path", "", request.path)
        _pairs(found, "query", request.query)
    if headers is None:
        headers = judged_headers(request.headers)
    _headers(found, request.headers, headers, cookies=not plain_quiet)
    if request.body:
        _body(found, request, max_body_bytes)
    if len(found.values) > MAX_TARGETS:
        found.truncated = len(found.values) - MAX_TARGETS
        del found.values[MAX_TARGETS:]
        del found.places[MAX_TARGETS:]
    return found


def quiet_targets(request: Request, headers: list[tuple[str, str]]) -> Targets:
    """What a quiet gate leaves out of `request_targets`, for validating their types: the path,
    the query's and the cookies' names and values, and `headers`."""
    found = Targets()
    found.add("path", "", request.path)
    _pairs(found, "query", request.query)
    _headers(found, request.headers, headers)
    return found


def judged_headers(headers: dict[str, str], known: Container[str] = ()) -> list[tuple[str, str]]:
    """The headers other than Cookie whose values are judged: not the ordinary ones, not a
    remembered value (`known`), not a UUID."""
    judged = []
    for name, value in headers.items():
        if name in ORDINARY or name == "cookie" or not value:
            continue
        if name in REMEMBERED and value in known:
            continue
        if len(value) == 36 and value[8] == "-" and _UUID.fullmatch(value):
            continue  # a request or correlation ID: hex digits and dashes hold no attack
        judged.append((name, value))
    return judged


def gate_lines(headers: list[tuple[str, str]]) -> str | None:
    """Every form the matcher would scan of these header values, one per line, for the gate;
    None when the gate cannot stand for judging them: an escape (the gate lets %20 and its like
    through), a line break inside a value, or a header that names a file, which is judged by
    name."""
    values = []
    for name, value in headers:
        if "file" in name and _names_file(name):
            return None
        values.append(value)
    text = "\n".join(values)
    if "%" in text or text.count("\n") != len(values) - 1:
        return None
    return f"{text}\n{text.replace('+', ' ')}" if "+" in text else text  # as `variants` does


def _pairs(found: Targets, location: str, text: str) -> None:
    if not text:
        return
    add = found.add
    for pair in text.split("&"):
        if not pair:
            continue
        name, eq, value = pair.partition("=")
        if not eq:
            add(location, "", name, False, True)
            continue
        if name:
            add(location, name, name, True, True)
        add(location, name, value, False, True)


def plain_parts(request: Request) -> str:
    """The path, each query name and value and each cookie name and value, at the start of a
    line each: the very values judged one by one when the gate is not quiet, so anchored
    signatures find each value's start where the matcher would. A raw line break inside a
    value becomes a carriage return, as in the matcher's buffer, which the gate finds
    suspicious: it must not start a line of its own."""
    query = _one_line(request.query)
    if _TWO_EQUALS.search(query) is None:
        pairs = query.replace("&", "\n").replace("=", "\n")
    else:  # a value holding "=" stays whole
        pairs = "\n".join(pair.replace("=", "\n", 1) for pair in query.split("&"))
    text = f"{_one_line(request.path)}\n{pairs}"
    cookie = request.headers.get("cookie")
    if cookie:
        cookie = _one_line(cookie)
        parts = "\n".join(part.strip().replace("=", "\n", 1) for part in cookie.split(";"))
        text = f"{text}\n{parts}"
    if "%" in text:
        # the escapes the gate lets through are decoded here, so signatures still see them
        pieces = text.split("%")
        for index in range(1, len(pieces)):
            piece = pieces[index]
            char = _HARMLESS_ESCAPES.get(piece[:2])
            pieces[index] = char + piece[2:] if char is not None else "%" + piece
        text = "".join(pieces)
    return text.replace("+", " ") if "+" in text else text


def _one_line(text: str) -> str:
    return text.replace("\n", "\r") if "\n" in text else text


_TWO_EQUALS = re.compile(r"=[^&]*=")
_HARMLESS_ESCAPES = {
    code: char
    for hexcode, char in (("20", " "), ("2C", ","), ("2F", "/"), ("3A", ":"), ("40", "@"))
    for code in {hexcode, hexcode.lower()}
}
"""The two hex digits after a `%` of each escape the gate lets through, and its character."""


def _headers(
    found: Targets,
    headers: dict[str, str],
    judged: list[tuple[str, str]],
    *,
    cookies: bool = True,
) -> None:
    if cookies:
        cookie = headers.get("cookie")
        if cookie:
            _cookies(found, cookie)
    for name, value in judged:
        if "file" in name and _names_file(name):
            found.file_names.append(len(found.values))
        found.add("header", name, value)


def _names_file(header: str) -> bool:
    """X-Filename, X-File-Name, X_Filename, X.Filename: CGI stacks (PHP's HTTP_X_FILENAME) turn
    dots, dashes and underscores in a header name into one spelling, so all of them count."""
    return "filename" in header.replace("-", "").replace("_", "").replace(".", "")


def _cookies(found: Targets, header: str) -> None:
    add = found.add
    for part in header.split(";"):
        name, _, value = part.strip().partition("=")
        if name:
            add("cookie", name, name, True)
        if value:
            add("cookie", name, value)


def _body(found: Targets, request: Request, max_body_bytes: int) -> None:
    body = request.body or b""
    if len(body) > max_body_bytes:
        found.body_capped = True
        body = body[:max_body_bytes]
    text = body.decode("utf-8", errors="replace")
    kind = request.headers.get("content-type", "").lower()
    if "json" in kind or (not kind and text.lstrip()[:1] in ("{", "[")):
        if not found.body_capped and _json(found, body):
            return
        found.body_unparsed = "capped" if found.body_capped else "malformed JSON"
    elif "x-www-form-urlencoded" in kind:
        _pairs(found, "body", text)
        return
    elif "multipart/form-data" in kind and _multipart(
        found, text, request.headers.get("content-type", "")
    ):
        return
    found.add("body", "", text)
    if looks_like_xml(text, kind):
        for value in xml_values(text, MAX_TARGETS):
            found.add("body", "xml", value)


_BOUNDARY = re.compile(r'boundary="?([^";,]{1,200})')
_DISPOSITION = re.compile(r'\b(name|filename)\*?="?([^";\r\n]*)', re.IGNORECASE)


def _multipart(found: Targets, text: str, content_type: str) -> bool:
    """Each part's field name, file name, part headers and content, as a server's parser sees
    them; a part's own line breaks are framing, not header injection."""
    match = _BOUNDARY.search(content_type)
    if match is None:
        return False
    add = found.add
    for part in text.split("--" + match.group(1))[1:]:
        head, sep, content = part.lstrip("\r\n").partition("\n\r\n" if "\r\n" in part else "\n\n")
        if not sep:
            continue
        names = dict((k.lower(), v) for k, v in _DISPOSITION.findall(head))
        name = names.get("name", "")
        if _PLAIN_NAME.fullmatch(name) is None:
            add("body", name, name, True)
        if "filename" in names:
            found.file_names.append(len(found.values))
            add("body", name, names["filename"])
        for line in head.splitlines()[1:]:
            add("header", "part", line.strip())
        add("body", name, content.removesuffix("\r\n").removesuffix("\n"))
    return True


def _json(found: Targets, body: bytes) -> bool:
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return False
    start = len(found.values)
    plain: list[str] = []
    values, places = found.values, found.places
    try:
        # every key gathered and judged in one match at the end; if one is not plain, the
        # document is walked again with its keys judged object by object
        _walk(values, places, plain.extend, "", document, 0)
        if not _all_plain(plain):
            del values[start:], places[start:], plain[:]
            _walk(values, places, lambda node: _keys(values, places, plain, node), "", document, 0)
        if len(found.values) > MAX_TARGETS:
            raise _WalkLimitError
    except _WalkLimitError:
        del found.values[start:]
        del found.places[start:]
        plain = _bounded_walk(found, document)
    if plain:
        # plain keys (`ProcessBuilder.start`, `__proto__`) are judged together, as one text
        found.add("body", "", " ".join(dict.fromkeys(plain)), True)
    return True


class _WalkLimitError(Exception):
    """A document too large or too deep for `_walk`; `_bounded_walk` takes it from the start."""


def _walk(
    values: list[str],
    places: list[Place],
    on_keys: Callable[[dict[str, object]], None],
    name: str,
    node: object,
    depth: int,
) -> None:
    """String leaves in the order `_bounded_walk` finds them (children last to first, depth
    first), without its stack of tuples: the walk of every ordinary document. `on_keys` is
    handed each object, whose keys it judges or gathers."""
    if type(node) is str:
        values.append(node)
        places.append(("body", name, False, False))
        return
    if depth + 1 >= MAX_DEPTH or len(values) > MAX_TARGETS:
        raise _WalkLimitError
    if type(node) is dict:
        on_keys(node)
        for key, child in reversed(node.items()):
            kind = type(child)
            if kind is str:
                values.append(child)
                places.append(("body", key, False, False))
            elif kind is dict or kind is list:
                _walk(values, places, on_keys, key, child, depth + 1)
    elif type(node) is list:
        for child in reversed(node):
            kind = type(child)
            if kind is str:
                values.append(child)
                places.append(("body", name, False, False))
            elif kind is dict or kind is list:
                _walk(values, places, on_keys, name, child, depth + 1)


def _all_plain(keys: list[str]) -> bool:
    return not keys or ("" not in keys and _PLAIN_NAME.fullmatch("".join(keys)) is not None)


def _keys(
    values: list[str], places: list[Place], plain: list[str], node: dict[str, object]
) -> None:
    if "" not in node and _PLAIN_NAME.fullmatch("".join(node)):
        plain.extend(node)  # every key is plain: one match for all of them joined
        return
    for key in node:
        if _PLAIN_NAME.fullmatch(key) is None:
            values.append(key)
            places.append(("body", key, True, False))
        else:
            plain.append(key)


def _bounded_walk(found: Targets, document: object) -> list[str]:
    """The walk with its limits: at most MAX_TARGETS values, MAX_DEPTH levels."""
    stack: list[tuple[str, object, int]] = [("", document, 0)]
    values = found.values
    plain: list[str] = []
    while stack and len(values) <= MAX_TARGETS:
        name, node, depth = stack.pop()
        if isinstance(node, str):
            found.add("body", name, node)
        elif depth >= MAX_DEPTH:
            found.too_deep = True
        elif isinstance(node, dict):
            for key, child in node.items():
                if _PLAIN_NAME.fullmatch(key) is None:
                    found.add("body", key, key, True)
                else:
                    plain.append(key)
                stack.append((key, child, depth + 1))
        elif isinstance(node, list):
            stack.extend((name, child, depth + 1) for child in node)
    if stack:
        found.truncated += len(stack)
    return plain

"""Request lines and request targets, split the way a server reads them (RFC 9112, section 3)."""

from __future__ import annotations

MAX_METHOD = 32


def parse_request_line(line: str) -> tuple[str, str, str] | None:
    """Method, target and version; None for what is not a request (TLS bytes, "-", an empty line).

    A target the server could not route ("../../etc/passwd") is still returned: scanners send
    exactly those, and the event is worth keeping.
    """
    method, sep, rest = line.partition(" ")
    if not sep or not is_method(method):
        return None
    target, sep, version = rest.rpartition(" ")
    if not sep or not version.startswith("HTTP/"):
        target, version = rest, ""
    if not target:
        return None
    return method, target, version


def is_method(method: str) -> bool:
    return 0 < len(method) <= MAX_METHOD and method.isascii() and method.isprintable()


def split_target(target: str) -> tuple[str, str, str, str]:
    """Scheme, host, path and raw query. Scheme and host are "" unless the target is absolute-form
    ("http://host/path", as sent to proxies)."""
    path, _, query = target.partition("?")
    if path[:1] == "/" or "://" not in path:
        return "", "", path, query
    scheme, _, rest = path.partition("://")
    authority, slash, tail = rest.partition("/")
    host = authority.rpartition("@")[2]
    return scheme.lower(), host, slash + tail if slash else "/", query

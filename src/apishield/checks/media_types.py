"""The media types an API takes request bodies in (`checks.request_media_types`).

A body of any other type is worth a low finding: `text/plain` is what a browser posts to another
site without a CORS preflight, so a JSON API that reads it can be driven cross-site (CSRF);
`text/html` or a serialised Java object has no business in an API request. Patterns are exact
types (`application/json`), a whole top-level type (`image/*`), or a structured-syntax suffix
(`application/*+json`, RFC 6838 4.2.8); `*/*` accepts everything.
"""

from __future__ import annotations

from collections.abc import Iterable

from apishield.config.media_types import DEFAULT_MEDIA_TYPES


class MediaTypes:
    """Tells whether a request body's media type (lower case, without parameters) is accepted."""

    __slots__ = ("_any", "_exact", "_suffixes", "_types")

    def __init__(self, patterns: Iterable[str]) -> None:
        exact: set[str] = set()
        types: set[str] = set()
        suffixes: set[tuple[str, str]] = set()
        self._any = False
        for pattern in patterns:
            kind, _, subtype = pattern.lower().partition("/")
            if kind == "*":
                self._any = True
            elif subtype == "*":
                types.add(kind)
            elif subtype.startswith("*+"):
                suffixes.add((kind, subtype[1:]))
            else:
                exact.add(f"{kind}/{subtype}")
        self._exact = frozenset(exact)
        self._types = frozenset(types)
        self._suffixes = frozenset(suffixes)

    def allows(self, media: str) -> bool:
        if self._any or media in self._exact:
            return True
        kind, _, subtype = media.partition("/")
        if kind in self._types:
            return True
        plus = subtype.rfind("+")
        return plus > 0 and (kind, subtype[plus:]) in self._suffixes


DEFAULT = MediaTypes(DEFAULT_MEDIA_TYPES)

"""Values from traffic, made safe to print in a terminal through Rich.

A path, a host, an identity or a User-Agent is written by whoever sent the request. Printed as
Rich markup, `[link=https://evil.example/]` in a path becomes a hyperlink in the operator's
terminal; printed at all, an escape sequence can clear the screen or forge lines. `plain`
escapes the markup and shows control characters as escapes (`\\x1b`), so what the operator
reads is what was sent.
"""

from __future__ import annotations

import re

from rich.markup import escape

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
"""C0 and C1 controls but tab and newline, line separators, and the bidirectional overrides
that can make text read in another order than it runs."""


def plain(value: object) -> str:
    text = str(value)
    if _CONTROL.search(text):
        text = _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)
    return escape(text)

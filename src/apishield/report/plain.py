"""Values from traffic, made safe to print in a terminal through Rich.

A path, a host, an identity or a User-Agent is written by whoever sent the request. Printed as
Rich markup, `[link=https://evil.example/]` in a path becomes a hyperlink in the operator's
terminal; printed at all, an escape sequence can clear the screen or forge lines. `plain`
escapes the markup and shows control characters as escapes (`\\x1b`), so what the operator
reads is what was sent.
"""

from __future__ import annotations

from rich.markup import escape

from apishield.controls import CONTROLS_BUT_LINE_BREAKS, escape_controls


def plain(value: object) -> str:
    return escape(escape_controls(str(value), CONTROLS_BUT_LINE_BREAKS))

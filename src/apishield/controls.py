"""Control characters in text from traffic, shown as the escapes Python writes for them.

A path, an identity or a User-Agent is written by whoever sent the request. Printed or sent on
as it is, a line break forges a log line or a mail header, an escape sequence clears a screen,
and a bidirectional override makes text read in another order than it runs. Shown as `\\r`,
`\\x1b` or `\\u202e`, it is read as what was sent.
"""

from __future__ import annotations

import re

CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
"""C0 and C1 controls (line breaks and tabs too), line separators, the bidirectional overrides,
and lone surrogates (not UTF-8 at all): for text that goes out on one line (alerts)."""
CONTROLS_BUT_LINE_BREAKS = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)
"""C0 and C1 controls but tab and newline, line separators, and the bidirectional overrides:
for a terminal, where a tab or a newline only lays text out."""


def escape_controls(text: str, controls: re.Pattern[str] = CONTROLS) -> str:
    """`text` with every character `controls` matches shown as its escape."""
    if controls.search(text):
        return controls.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)
    return text

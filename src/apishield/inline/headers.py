"""Header lists folded into the one mapping an `Exchange` holds, in time linear in their size.

A client may repeat a header thousands of times. Joining each repeat onto the value held so far
copies that value again every time, so folding took time quadratic in the header size and one
request with a few megabytes of repeats held the event loop for seconds. Repeats are gathered in
lists and joined once. A request's headers are also read only up to `REQUEST_HEADER_BYTES`: what
lies past it is left out of the analysis, and the middleware reports it as a finding.
"""

from __future__ import annotations

from collections.abc import Iterable

from apishield.checks.http_syntax import proto_finding
from apishield.exchange import Finding, Severity

REQUEST_HEADER_BYTES = 65_536
"""Header bytes (names and values) of one request that the analysis reads. Servers refuse far
less (nginx answers 400 past 8 KB in one line, gunicorn past 100 fields of 8 KB), so a request
past it was sent by no browser or API client."""


def headers_too_large(skipped: int) -> Finding:
    """What the checks cannot see: headers past the budget, which no real client sends; a flood
    of them is an attack on the parsers and the CPU behind them."""
    title = f"request headers larger than {REQUEST_HEADER_BYTES:,} bytes"
    return proto_finding("headers-too-large", title, Severity.HIGH, skipped_bytes=str(skipped))


def fold(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Header names lower-cased, repeated headers joined with ", " in the order they came."""
    folded: dict[str, str] = {}
    repeats: _Repeats = None
    for name, value in pairs:
        key = name.lower()
        held = folded.get(key)
        if held is None:
            folded[key] = value
        else:
            repeats = _repeat(repeats, key, held, value)
    return _joined(folded, repeats)


def fold_raw(
    raw: Iterable[tuple[bytes, bytes]], budget: int | None = None
) -> tuple[dict[str, str], int]:
    """ASGI's header list folded as `fold` does, decoded as latin-1 (every byte kept), and the
    number of bytes (names and values) left out past `budget`, when one is given."""
    folded: dict[str, str] = {}
    repeats: _Repeats = None
    left = budget
    skipped = 0
    for raw_name, raw_value in raw:
        if left is not None:
            size = len(raw_name) + len(raw_value)
            if size > left:
                skipped += size
                left = 0
                continue
            left -= size
        key = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        held = folded.get(key)
        if held is None:
            folded[key] = value
        else:
            repeats = _repeat(repeats, key, held, value)
    return _joined(folded, repeats), skipped


_Repeats = dict[str, list[str]] | None
"""The values of each repeated header so far, first one included; None while there are none."""


def _repeat(repeats: _Repeats, key: str, held: str, value: str) -> dict[str, list[str]]:
    if repeats is None:
        repeats = {}
    values = repeats.get(key)
    if values is None:
        repeats[key] = [held, value]
    else:
        values.append(value)
    return repeats


def _joined(folded: dict[str, str], repeats: _Repeats) -> dict[str, str]:
    if repeats is not None:
        for key, values in repeats.items():
            folded[key] = ", ".join(values)
    return folded

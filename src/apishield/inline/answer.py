"""What both middlewares do with an app's answer, whatever the server interface: keep a capped
copy for analysis, decide whether an answer is held for stripping, and strip it."""

from __future__ import annotations

from apishield.enforce.schema import SchemaValidation
from apishield.exchange import Exchange, Response
from apishield.inline.guard import Guard


class AnswerCopy:
    """The answer as the app sent it, its body capped at the guard's `max_body_bytes`, handed to
    the guard with its exchange once the answer is over."""

    def __init__(self, guard: Guard) -> None:
        self.guard = guard
        self.cap = guard.max_body_bytes
        self.status: int | None = None
        self.headers: dict[str, str] = {}
        self.body = bytearray()
        self.size = 0

    def add(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if len(self.body) < self.cap:
            self.body += chunk[: self.cap - len(self.body)]

    def submit(self, exchange: Exchange) -> None:
        """Set the answer and the duration on `exchange` and queue it for analysis."""
        try:
            if self.status is not None:
                body = bytes(self.body) if self.cap > 0 else None
                exchange.response = Response(self.status, self.headers, body, self.size)
            # Never negative, even when the clock steps back (NTP, a simulated clock).
            exchange.duration = max(0.0, self.guard.clock() - exchange.started)
            self.guard.submit(exchange)
        except Exception:
            self.guard.failed("response")


def worth_holding(guard: Guard, exchange: Exchange, headers: dict[str, str]) -> bool:
    """Whether an answer with these (lower-case) headers is held to be stripped: JSON, not
    content-encoded, and not declared longer than the cap (counted as too large)."""
    length = headers.get("content-length", "")
    if length.isdigit() and int(length) > guard.max_body_bytes:
        guard.count_too_large(exchange)
        return False
    media = headers.get("content-type", "").partition(";")[0].strip().lower()
    json = not media or media == "application/json" or media.endswith("+json")
    return json and headers.get("content-encoding", "identity").lower() == "identity"


def strip_answer(
    guard: Guard,
    schema: SchemaValidation,
    exchange: Exchange,
    status: int | str,
    headers: dict[str, str],
    body: bytes,
) -> bytes | None:
    """The held answer without its undocumented fields, or None to send it as it came (nothing
    to remove, or stripping failed, which is counted). `status` is ASGI's number or WSGI's
    status line."""
    try:
        code = status if isinstance(status, int) else int(status.split(" ", 1)[0])
        # The answer copy sets the same answer again when the exchange is submitted.
        exchange.response = Response(code, headers, body, len(body))
        return schema.strip(exchange)
    except Exception:
        guard.failed("response")
        return None

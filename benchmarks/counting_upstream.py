"""An upstream that counts what reaches it, per client, for benchmarks/enforcement.py.

Every request is counted under the first address of its X-Forwarded-For (the client as it
declared itself; a proxy in front appends its own hop after it, and "-" stands for none) and
answered with a small JSON body on a keep-alive connection. `GET /__counts` answers the counts
so far as a JSON object, and is not counted. It runs as a process of its own so that a
benchmark can kill it mid-run and start it again:

    python -m benchmarks.counting_upstream PORT
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from collections import Counter

import aiohttp

BODY = b'{"id":40213377,"plan":"unlimited","status":"active"}'
COUNTS_PATH = "/__counts"
_ANSWER = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(BODY)
    + BODY
)
_LENGTH = re.compile(rb"(?i)\r\ncontent-length:\s*(\d+)")
_FORWARDED_FOR = re.compile(rb"(?i)\r\nx-forwarded-for:\s*([^,\r]*)")


def serve(port: int) -> None:
    import uvloop

    counts: Counter[str] = Counter()

    class Counting(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport: asyncio.Transport = transport  # type: ignore[assignment]
            self.pending = b""

        def data_received(self, data: bytes) -> None:
            self.pending += data
            while True:
                head, sep, rest = self.pending.partition(b"\r\n\r\n")
                if not sep:
                    return
                length = _LENGTH.search(head)
                size = int(length.group(1)) if length else 0
                if len(rest) < size:
                    return
                self.pending = rest[size:]
                self.transport.write(self._answer(head))

        def _answer(self, head: bytes) -> bytes:
            if head.startswith(b"GET %s " % COUNTS_PATH.encode()):
                body = json.dumps(counts).encode()
                return (
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: %d\r\n\r\n" % len(body) + body
                )
            client = _FORWARDED_FOR.search(head)
            counts[client.group(1).strip().decode("latin-1") if client else "-"] += 1
            return _ANSWER

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(Counting, "127.0.0.1", port, reuse_address=True)
        await server.serve_forever()

    uvloop.run(main())


async def fetch_counts(port: int) -> Counter[str]:
    """What the upstream on `port` has counted so far, per client."""
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session,
        session.get(f"http://127.0.0.1:{port}{COUNTS_PATH}") as answer,
    ):
        return Counter(await answer.json())


if __name__ == "__main__":
    serve(int(sys.argv[1]))

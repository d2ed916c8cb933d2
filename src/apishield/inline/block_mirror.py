"""A guard's block list kept in step with an `apishield serve`'s, when they share no state.

A guard that sends its traffic to a server (`analysis.mode: remote`) leaves detection to it: the
server's incidents raise the automatic blocks, and operators lift or add blocks on its API and
dashboard. With `state.backend: redis` both read one block list. On one machine without Redis,
the guard's list is its own memory, so this thread reads `GET /api/v1/blocks` every
`analysis.blocks_seconds` and copies what it finds: blocks the server holds are placed here with
their expiry, reason and action, and blocks this mirror placed that the server no longer holds
are lifted. Blocks placed here by other means are left alone.

While the server cannot be reached the mirrored blocks stay in force until they expire, which is
what the server would have decided too; the outage is logged once, and so is a refused token.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Mapping
from typing import Any, get_args

import httpx

from apishield.limits import BlockAction, BlockKind, Blocks

log = logging.getLogger("apishield.inline")

BLOCKS_PATH = "/api/v1/blocks?limit=100000"
"""Every block at once: the most one list holds in memory."""
KINDS: frozenset[str] = frozenset(get_args(BlockKind))
ACTIONS: frozenset[str] = frozenset(get_args(BlockAction))

Entry = tuple[float, str, BlockAction]
"""What is mirrored of one block: until, reason, action."""


class BlockMirror:
    def __init__(
        self,
        url: str,
        token: Callable[[], str],
        blocks: Blocks,
        *,
        every: float = 2.0,
        timeout: float = 5.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """`url` is the server's base URL; `token` is asked for the bearer token before each
        read, so a token file fixed on disk is picked up without a restart."""
        self.blocks = blocks
        self.every = every
        self.syncs = 0
        self.failures = 0
        self._url = url.rstrip("/") + BLOCKS_PATH
        self._token = token
        self._client = httpx.Client(timeout=timeout, transport=transport, trust_env=False)
        self._mirrored: dict[tuple[BlockKind, str], Entry] = {}
        self._away = False
        self._partial = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> BlockMirror:
        self._thread = threading.Thread(target=self._loop, name="apishield-blocks", daemon=True)
        self._thread.start()
        return self

    def close(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._client.close()

    def stats(self) -> dict[str, int]:
        return {"syncs": self.syncs, "failures": self.failures, "mirrored": len(self._mirrored)}

    def sync(self) -> bool:
        """Read the server's blocks once and copy them; False when the server did not answer
        with its list."""
        try:
            token = self._token()
        except (ValueError, OSError) as error:  # ConfigError: the token file cannot be read
            return self._failed(str(error))
        try:
            answer = self._client.get(self._url, headers={"authorization": f"Bearer {token}"})
        except (httpx.HTTPError, OSError) as error:
            return self._failed(f"cannot reach {self._url}: {error}")
        if answer.status_code in (401, 403):
            return self._failed(
                f"{self._url} refused this guard's token ({answer.status_code}): set "
                "analysis.token_file to the server's serve.token_file"
            )
        if answer.status_code != 200:
            return self._failed(f"{self._url} answered {answer.status_code}")
        try:
            document = answer.json()
            held = _entries(document)
            total = int(document.get("total", len(held)))
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            return self._failed(f"{self._url} sent a block list apishield cannot read: {error}")
        self._apply(held)
        self.syncs += 1
        if total > len(held) and not self._partial:
            self._partial = True
            log.warning("the server holds %d blocks; this guard mirrors %d", total, len(held))
        if self._away:
            self._away = False
            log.warning("the apishield server's blocks are mirrored again")
        return True

    def _apply(self, held: Mapping[tuple[BlockKind, str], Entry]) -> None:
        for key, entry in held.items():
            if self._mirrored.get(key) != entry:
                until, reason, action = entry
                self.blocks.block(key[0], key[1], until, reason, action)
        for key in self._mirrored.keys() - held.keys():
            self.blocks.unblock(*key)
        self._mirrored = dict(held)

    def _failed(self, reason: str) -> bool:
        self.failures += 1
        if not self._away:
            self._away = True
            log.warning("apishield: %s; mirrored blocks stay until they expire", reason)
        return False

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.sync()
            except Exception:  # a bug here must not end the thread, nor reach the app
                self.failures += 1
                log.exception("mirroring the server's blocks failed; trying again")
            self._stop.wait(self.every)


def _entries(document: Any) -> dict[tuple[BlockKind, str], Entry]:
    """The blocks of a `GET /api/v1/blocks` answer; ValueError for one that is not a block."""
    held: dict[tuple[BlockKind, str], Entry] = {}
    for item in document["items"]:
        kind, value, action = item["kind"], item["value"], item.get("action", "block")
        if kind not in KINDS or action not in ACTIONS or not isinstance(value, str) or not value:
            raise ValueError(f"not a block: {item!r}")
        until = math.inf if item.get("until") is None else float(item["until"])
        held[(kind, value)] = (until, str(item.get("reason", "")), action)
    return held

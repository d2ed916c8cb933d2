"""The block mirror: a server's blocks copied into a guard's own list (mock transport), and a
guard in remote mode picking up a block added on a real `apishield serve`."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from apishield.config import parse_config
from apishield.inline.block_mirror import BlockMirror
from apishield.inline.guard import Guard
from apishield.privacy import Hasher
from apishield.state.memory_limits import MemoryBlocks

TOKEN = "mirror-token-0123456789-abcdefghijklmnop"
NOW = 1_767_225_600.0


class Server:
    """GET /api/v1/blocks as `apishield serve` answers it, from a list the test edits."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self.status = 200
        self.body: bytes | None = None

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return httpx.Response(401, json={"detail": "token"})
        if self.body is not None:
            return httpx.Response(self.status, content=self.body)
        return httpx.Response(self.status, json={"shared": False, "now": NOW, "items": self.items})


def _mirror(
    server: Server, blocks: MemoryBlocks, token: Callable[[], str] = lambda: TOKEN
) -> BlockMirror:
    transport = httpx.MockTransport(server.handle)
    return BlockMirror("http://127.0.0.1:8750", token, blocks, transport=transport)


def test_the_servers_blocks_are_placed_with_expiry_reason_and_action() -> None:
    server, blocks = Server(), MemoryBlocks()
    server.items = [
        {"kind": "ip", "value": "203.0.113.9", "until": NOW + 600, "reason": "incident 4: scanner",
         "action": "tarpit"},
        {"kind": "key", "value": "4242f0c53e9eec4c", "until": None, "reason": "by hand",
         "action": "block"},
    ]  # fmt: skip
    mirror = _mirror(server, blocks)
    assert mirror.sync()
    ip = blocks.is_blocked("ip", "203.0.113.9", NOW)
    assert ip is not None and (ip.until, ip.reason, ip.action) == (
        NOW + 600,
        "incident 4: scanner",
        "tarpit",
    )
    key = blocks.is_blocked("key", "4242f0c53e9eec4c", NOW + 10**9)
    assert key is not None and math.isinf(key.until)
    assert mirror.stats() == {"syncs": 1, "failures": 0, "mirrored": 2}


def test_a_block_lifted_on_the_server_is_lifted_here_and_local_ones_stay() -> None:
    server, blocks = Server(), MemoryBlocks()
    blocks.block("identity", "mallory", NOW + 60, "placed here")
    server.items = [{"kind": "ip", "value": "203.0.113.9", "until": NOW + 600, "reason": "x"}]
    mirror = _mirror(server, blocks)
    mirror.sync()
    server.items = []
    mirror.sync()
    assert blocks.is_blocked("ip", "203.0.113.9", NOW) is None
    assert blocks.is_blocked("identity", "mallory", NOW) is not None


@pytest.mark.parametrize(
    ("status", "body", "token"),
    [
        (200, None, "wrong-token"),  # refused: 401
        (503, b'{"detail": "busy"}', TOKEN),
        (200, b"not json", TOKEN),
        (200, json.dumps({"items": [{"kind": "planet", "value": "x"}]}).encode(), TOKEN),
    ],
)
def test_a_failed_read_keeps_what_is_mirrored_and_says_so_once(
    status: int, body: bytes | None, token: str, caplog: pytest.LogCaptureFixture
) -> None:
    server, blocks = Server(), MemoryBlocks()
    server.items = [{"kind": "ip", "value": "203.0.113.9", "until": NOW + 600, "reason": "x"}]
    held = token
    mirror = _mirror(server, blocks, token=lambda: held)
    held = TOKEN
    assert mirror.sync()
    held = token
    server.status, server.body = status, body
    assert not mirror.sync()
    assert not mirror.sync()
    assert blocks.is_blocked("ip", "203.0.113.9", NOW) is not None
    assert mirror.failures == 2
    assert len([r for r in caplog.records if "mirrored blocks stay" in r.getMessage()]) == 1


def test_an_unreadable_token_file_is_a_failure_not_a_crash() -> None:
    def token() -> str:
        raise OSError("no such file: /etc/apishield/token")

    mirror = _mirror(Server(), MemoryBlocks(), token=token)
    assert not mirror.sync() and mirror.failures == 1


def _serve(tmp_path: Path) -> tuple[subprocess.Popen[str], str, str]:
    config = tmp_path / "serve.yaml"
    config.write_text(f"data_dir: {tmp_path / 'home'}\n")
    command = [
        sys.executable, "-m", "apishield.cli", "serve", "--config", str(config),
        "--db", f"sqlite:///{tmp_path / 'serve.db'}", "--listen", "127.0.0.1:0",
    ]  # fmt: skip
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=os.environ.copy())
    assert process.stderr is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = re.search(
            r"(http://127\.0\.0\.1:\d+)/login\?token=(\S+)", process.stderr.readline()
        )
        if found:
            return process, found.group(1), found.group(2)
        if process.poll() is not None:
            break
    process.kill()
    pytest.fail("apishield serve did not print its URL")


def test_a_guard_in_remote_mode_enforces_a_block_added_on_the_server(tmp_path: Path) -> None:
    process, base, token = _serve(tmp_path)
    try:
        config = parse_config(
            f"data_dir: {tmp_path / 'home'}\n"
            f"analysis: {{mode: remote, server_url: '{base}', blocks_seconds: 0.2}}\n"
        )
        guard = Guard.from_config(config, Hasher(b"m" * 32))
        try:
            assert guard.mirror is not None
            headers = {"authorization": f"Bearer {token}"}
            with httpx.Client(base_url=base, headers=headers, timeout=10.0) as api:
                added = api.post(
                    "/api/v1/blocks",
                    json={"kind": "ip", "value": "198.51.100.77", "seconds": 600, "reason": "t"},
                )
                assert added.status_code == 201
                _until(lambda: guard.policy.blocks.is_blocked("ip", "198.51.100.77", time.time()))
                lifted = api.delete("/api/v1/blocks/ip/198.51.100.77")
                assert lifted.status_code == 200
                _until(
                    lambda: not guard.policy.blocks.is_blocked("ip", "198.51.100.77", time.time())
                )
            assert guard.stats()["blocks_mirror"]["failures"] == 0  # type: ignore[index]
        finally:
            guard.close()
    finally:
        process.terminate()
        process.communicate(timeout=60)


def _until(check: Callable[[], object], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    pytest.fail("the block did not reach the guard in time")

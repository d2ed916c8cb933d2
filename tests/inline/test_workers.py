"""`apishield proxy --workers N` as a user runs it: one port, N processes, one rate limit on the
Redis at 127.0.0.1:6379, a graceful stop of every worker on SIGTERM; and the refusal to run
several workers on separate memories."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from .test_proxy import UpstreamApp, upstream  # noqa: F401  (the fixture)
from .test_shared_state import shared_redis  # noqa: F401  (the fixture)

LIMIT = 8
ACTOR_LIMIT = {"requests": LIMIT, "per_seconds": 600, "burst": LIMIT}


def _proxy(config: Path, upstream_url: str, home: Path) -> subprocess.Popen[str]:
    command = [
        sys.executable, "-m", "apishield.cli", "proxy", "--upstream", upstream_url,
        "--listen", "127.0.0.1:0", "--workers", "2", "--config", str(config), "--grace", "5",
    ]  # fmt: skip
    env = {**os.environ, "APISHIELD_HOME": str(home)}
    return subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)


def _port(process: subprocess.Popen[str]) -> int:
    assert process.stderr is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = re.search(r"2 workers on 127\.0\.0\.1:(\d+)", process.stderr.readline())
        if found:
            return int(found.group(1))
        if process.poll() is not None:
            break
    pytest.fail("apishield proxy --workers 2 did not say where it listens")


@pytest.fixture
def running(
    tmp_path: Path,
    upstream: UpstreamApp,  # noqa: F811
    shared_redis: tuple[str, str],  # noqa: F811
) -> Iterator[tuple[subprocess.Popen[str], int]]:
    url, prefix = shared_redis
    config = tmp_path / "apishield.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "state": {"backend": "redis", "url": url, "prefix": prefix},
                "enforce": {
                    "rate_limits": {
                        "actor": {"requests": LIMIT, "per_seconds": 600, "burst": LIMIT}
                    }
                },
            }
        )
    )
    process = _proxy(config, upstream.url, tmp_path)
    try:
        yield process, _port(process)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)


def test_two_workers_share_one_port_and_one_rate_limit(
    running: tuple[subprocess.Popen[str], int],
    upstream: UpstreamApp,  # noqa: F811
) -> None:
    process, port = running
    answers = []
    deadline = time.monotonic() + 60
    while len(answers) < 5 * LIMIT and time.monotonic() < deadline:
        try:
            # A new connection each time, so the kernel spreads them over both workers.
            answers.append(httpx.get(f"http://127.0.0.1:{port}/customers/7", timeout=10))
        except httpx.TransportError:
            time.sleep(0.2)  # the workers are still loading their signature databases
    statuses = [a.status_code for a in answers]
    assert statuses.count(200) == LIMIT, statuses
    assert statuses.count(429) == len(statuses) - LIMIT
    assert upstream.hits["/customers/7"] == LIMIT
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    stopped = re.findall(r"worker \d+ stopped: ([\d,]+) exchanges analysed here", stderr)
    assert len(stopped) == 2, stderr
    assert sum(int(n.replace(",", "")) for n in stopped) == len(answers)


def test_several_workers_on_separate_memories_are_refused(tmp_path: Path) -> None:
    command = [
        sys.executable, "-m", "apishield.cli", "proxy", "--upstream", "http://127.0.0.1:9",
        "--listen", "127.0.0.1:0", "--workers", "3",
    ]  # fmt: skip
    env = {**os.environ, "APISHIELD_HOME": str(tmp_path)}
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 2
    assert "state.backend: redis" in done.stderr

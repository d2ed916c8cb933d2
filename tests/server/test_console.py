"""`apishield serve` as a user runs it: a real process on 127.0.0.1, fed by the ingest endpoint
and by a followed log file, read back through the API and /metrics, stopped by SIGINT."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from apishield.ingest import IngestStats, read_exchanges
from apishield.ingest.jsonl import exchange_to_jsonl


def _wait_for_url(process: subprocess.Popen[str], timeout: float = 60.0) -> str:
    deadline = time.monotonic() + timeout
    assert process.stderr is not None
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        found = re.search(r"(http://127\.0\.0\.1:\d+)/login\?token=(\S+)", line)
        if found:
            return found.group(0)
        if process.poll() is not None:
            break
    process.kill()
    pytest.fail("apishield serve did not print its URL")


def _until(check, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    pytest.fail("the server did not get there in time")


def test_serve_analyses_what_it_is_sent_and_what_it_follows(
    small_traffic: Path, tmp_path: Path
) -> None:
    lines = [
        exchange_to_jsonl(e) for e in read_exchanges(small_traffic, "jsonl", stats=IngestStats())
    ]
    followed = tmp_path / "access.jsonl"
    followed.write_bytes(b"".join(lines[:1000]))
    config = tmp_path / "apishield.yaml"
    config.write_text(f"data_dir: {tmp_path / 'home'}\nserve:\n  save_seconds: 0.5\n")
    command = [
        sys.executable, "-m", "apishield.cli", "serve", "--config", str(config),
        "--db", f"sqlite:///{tmp_path / 'a.db'}", "--listen", "127.0.0.1:0",
        "--follow", str(followed), "--from-start", "--format", "jsonl",
    ]  # fmt: skip
    process = subprocess.Popen(
        command, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=os.environ.copy()
    )
    try:
        login = _wait_for_url(process)
        base, token = login.split("/login?token=")
        headers = {"authorization": f"Bearer {token}"}
        with httpx.Client(base_url=base, headers=headers, timeout=10.0) as api:
            assert httpx.get(f"{base}/api/v1/overview").status_code == 401
            sent = api.post(
                "/api/v1/ingest",
                content=b"".join(lines[1000:2000]) + b"junk\n",
                headers={"content-type": "application/x-ndjson"},
            )
            assert sent.status_code == 202
            result = sent.json()
            assert (result["accepted"], result["skipped"]) == (1000, 1)
            assert result["errors"][0]["line"] == 1001
            with followed.open("ab") as log:
                log.write(b"".join(lines[2000:]))

            def analysed() -> bool:
                return api.get("/api/v1/overview").json()["run"]["events"] == len(lines)

            _until(analysed)
            overview = api.get("/api/v1/overview").json()
            assert overview["run"]["live"] and overview["incidents"]["total"] > 0
            metrics = api.get("/metrics").text
            assert "apishield_requests_total" in metrics and "apishield_incidents_total" in metrics
            assert "apishield_upstream_latency_seconds_bucket" in metrics
            opened = [m for m in metrics.splitlines() if m.startswith("apishield_incidents_total")]
            assert opened and all('rule="' in m and 'severity="' in m for m in opened)
            dashboard = httpx.get(f"{base}/")
            assert (
                dashboard.status_code == 200
                and "script-src 'self'" in dashboard.headers["content-security-policy"]
            )
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
        assert process.returncode == 0, stderr
        assert f"{len(lines):,} exchanges analysed" in stderr
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()

"""`apishield demo --duration N`: the whole product in one bounded run, as `make demo` starts it:
the telco API behind the proxy, the server behind that, simulated traffic through all of it."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

from apishield import demo as demo_module
from apishield.demo import Demo, DemoOptions, Progress


def test_a_bounded_demo_run_catches_blocks_and_alerts(tmp_path: Path) -> None:
    alerts: list[dict[str, object]] = []
    demo = Demo(
        DemoOptions(
            tmp_path,
            subscribers=200,
            hours=0.5,
            speed=600.0,
            duration=30.0,
            port=0,
            scenarios="scanner,bola,flood",
            onsets={"scanner": 0.02, "bola": 0.05, "flood": 0.2},
        ),
        lambda alert, latency: alerts.append(alert),
    )
    try:
        demo.start()
        import threading

        progress = demo.run(threading.Event())
        demo.settle()
        summary = demo.summary()
        headers = {"authorization": f"Bearer {demo.console.token}"}
        overview = httpx.get(f"{demo.console.url}/api/v1/overview", headers=headers).json()
    finally:
        demo.close()
    assert progress.done and progress.sent > 1_000 and progress.failed == 0
    assert summary["endpoints"] >= 10
    assert summary["incidents"] > 0 and overview["incidents"]["total"] == summary["incidents"]
    assert {"high", "critical"} & set(summary["by_severity"])
    assert alerts and all(a["severity"] in ("high", "critical") for a in alerts)
    assert summary["refused"] > 0, "blocks and rate limits answer at the proxy"
    # Every exchange reached the server, after the day before it analysed at start.
    assert demo.history_events > 100
    assert overview["run"]["events"] == progress.sent + demo.history_events


def test_the_command_prints_the_dashboard_and_a_summary(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "apishield.cli",
            "demo",
            "--out",
            str(tmp_path),
            "--duration",
            "8",
            "--port",
            "0",
            "--subscribers",
            "100",
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=180,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr
    assert "/login?token=" in done.stderr
    assert "endpoints discovered" in done.stdout and "requests played" in done.stdout
    assert (tmp_path / "apishield.db").exists()


def test_ctrl_c_stops_everything_cleanly(tmp_path: Path) -> None:
    import signal
    import time

    process = subprocess.Popen(
        [sys.executable, "-m", "apishield.cli", "demo", "--out", str(tmp_path), "--port", "0",
         "--subscribers", "100", "--keep-serving"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert process.stderr is not None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = process.stderr.readline()
            if " sim | " in line:  # the traffic is flowing through every part
                break
            assert process.poll() is None, process.stderr.read()
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr
    assert "stopping..." in stderr and "Traceback" not in stderr


def test_a_driver_that_fails_says_so_instead_of_ending_quietly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The traffic driver on its own, with a simulated flow that breaks: the error is kept for
    the summary and the exit status, and the driver still ends."""

    def broken(*_: object) -> Iterator[object]:
        yield object()
        raise KeyError("access_token")

    monkeypatch.setattr(demo_module, "merge", broken)
    runner = Demo.__new__(Demo)
    runner.options = DemoOptions(tmp_path, duration=5.0, port=0)
    runner.plan = SimpleNamespace(streams=[], calendar=SimpleNamespace(start=0.0, end=1.0))
    runner.proxy = SimpleNamespace(url="http://127.0.0.1:9")
    runner.progress = Progress()
    progress = runner.run(threading.Event())
    assert progress.done and progress.error == "KeyError: 'access_token'"

"""Whole runs: reproducible bytes, ground truth that matches the traffic, readable formats."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from apishield.cli import app
from apishield.exchange import Request
from apishield.ingest import IngestStats, read_exchanges
from apishield.sim import Options, Summary, simulate

runner = CliRunner()


@pytest.fixture(scope="module")
def attacked(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Summary]:
    """Seven hours with every scenario squeezed in, over 250 subscribers."""
    folder = tmp_path_factory.mktemp("attacked")
    out = folder / "traffic.jsonl.gz"
    options = Options(out, days=0.3, subscribers=250, seed=21, truth=folder / "truth.json")
    return out, simulate(options)


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    def run(name: str, seed: int) -> bytes:
        out = tmp_path / name
        simulate(Options(out, days=0.15, subscribers=150, scenarios="bola,scanner", seed=seed))
        return out.read_bytes()

    first = run("a.jsonl.gz", 4)
    assert first == run("b.jsonl.gz", 4)
    assert first != run("c.jsonl.gz", 5)
    assert first[4:8] == b"\x00\x00\x00\x00"  # gzip mtime 0


def test_truth_matches_the_traffic(
    attacked: tuple[Path, Summary], client_ip: Callable[[Request], str]
) -> None:
    out, summary = attacked
    truth = orjson.loads((out.parent / "truth.json").read_bytes())
    owner = {ip: s["name"] for s in truth["scenarios"] for ip in s["actors"]["ips"]}
    times: dict[str, list[float]] = defaultdict(list)
    stats = IngestStats()
    total = 0
    for exchange in read_exchanges(out, stats=stats):
        total += 1
        name = owner.get(client_ip(exchange.request))
        if name is not None:
            times[name].append(exchange.started)
    assert stats.skipped == 0 and total == truth["requests"] == summary.requests
    assert truth["requests"] == truth["benign"]["requests"] + sum(
        s["requests"] for s in truth["scenarios"]
    )
    assert [s["name"] for s in truth["scenarios"]] == [
        "exfiltration", "enumeration", "bola", "credential-stuffing", "password-reset",
        "exposed-test-api", "zombie", "scanner", "flood",
    ]  # fmt: skip
    for scenario in truth["scenarios"]:
        seen = times[scenario["name"]]
        assert len(seen) == scenario["requests"] > 0, scenario["name"]
        assert scenario["start"] == min(seen) >= scenario["onset"]
        assert scenario["end"] == max(seen)
        assert scenario["start_iso"].endswith("Z") and scenario["description"]
    partner = truth["benign"]["partners"][2]
    exfiltration = truth["scenarios"][0]
    assert exfiltration["actors"]["api_keys"] == [partner["api_key"]]


@pytest.mark.parametrize("fmt", ["jsonl", "nginx-json", "har"])
def test_every_format_reads_back_without_a_skipped_line(tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"traffic.{fmt}.gz"
    summary = simulate(Options(out, fmt=fmt, days=0.1, subscribers=120, scenarios="scanner,bola"))
    stats = IngestStats()
    exchanges = list(read_exchanges(out, stats=stats))
    assert (stats.events, stats.skipped) == (summary.requests, 0)
    assert len(exchanges) > 1000
    assert [e.started for e in exchanges] == sorted(e.started for e in exchanges)
    login = next(e for e in exchanges if e.request.path == "/v2/auth/login")
    if fmt == "nginx-json":
        assert login.request.body is None and login.response is not None
        assert login.response.body is None
        assert login.request.headers["x-forwarded-for"]
    else:
        assert b'"username"' in (login.request.body or b"")
        assert login.response is not None and b"access_token" in (login.response.body or b"")
    assert (tmp_path / "telco-openapi.yaml").exists()


def test_progress_is_reported_as_a_share_of_the_window(tmp_path: Path) -> None:
    seen: list[tuple[int, float]] = []
    options = Options(tmp_path / "p.jsonl", days=1.5, subscribers=100, scenarios="none")
    summary = simulate(options, lambda count, share: seen.append((count, share)))
    counts = [count for count, _ in seen]
    assert counts == list(range(16_384, summary.requests + 1, 16_384))
    shares = [share for _, share in seen]
    assert len(shares) >= 2 and shares == sorted(shares) and shares[0] > 0 and shares[-1] <= 1


def test_a_request_cap_gives_a_quick_sample(tmp_path: Path) -> None:
    summary = simulate(Options(tmp_path / "s.jsonl", days=1, subscribers=100, limit=500))
    assert summary.requests == 500
    assert len((tmp_path / "s.jsonl").read_bytes().splitlines()) == 500


def test_the_command_line_simulates_and_analyze_reads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APISHIELD_HOME", str(tmp_path / "home"))
    out = tmp_path / "traffic.jsonl.gz"
    args = ["simulate", "--out", str(out), "--days", "0.04", "--subscribers", "100"]
    result = runner.invoke(
        app, [*args, "--scenarios", "scanner", "--truth", str(tmp_path / "t.json")]
    )
    assert result.exit_code == 0, result.output
    assert "requests/s" in result.output and (tmp_path / "t.json").exists()
    report = tmp_path / "report.json"
    config = tmp_path / "apishield.yaml"
    # The injection signatures take most of a minute to compile and have tests of their own.
    config.write_text("checks:\n  disabled: [injection]\n")
    result = runner.invoke(
        app,
        [
            "analyze", str(out), "--spec", str(tmp_path / "telco-openapi.yaml"),
            "--trusted-proxy", "10.0.0.0/8", "--db", f"sqlite:///{tmp_path}/a.db",
            "--config", str(config), "--json", str(report), "-q",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    document = orjson.loads(report.read_bytes())
    endpoints = {f"{e['method']} {e['template']}": e for e in document["endpoints"]}
    assert endpoints["GET /health"]["state"] == "documented"
    assert endpoints["GET /v2/customers/{customer_id}"]["state"] == "documented"
    assert document["run"]["skipped"] == 0
    incidents = document["incidents"]["items"]
    assert any(ip.startswith("45.") for i in incidents for ip in i["ips"])  # the scanner
    bad = runner.invoke(app, [*args, "--scenarios", "bolla"])
    assert bad.exit_code == 2 and "did you mean 'bola'" in bad.output
    bad = runner.invoke(app, [*args, "--format", "pcap"])
    assert bad.exit_code == 2 and "use one of: jsonl, nginx-json, har" in bad.output

from __future__ import annotations

from pathlib import Path

from apishield.ingest import IngestStats, read_exchanges
from apishield.sim.sample import write_sample


def test_sample_is_seeded_and_readable(tmp_path: Path) -> None:
    a, b = tmp_path / "a.jsonl.gz", tmp_path / "b.jsonl.gz"
    write_sample(a, seed=5, requests=500)
    write_sample(b, seed=5, requests=500)
    assert a.read_bytes() == b.read_bytes()  # gzip headers carry no timestamp from the writer
    stats = IngestStats()
    exchanges = list(read_exchanges(a, stats=stats))
    assert (stats.events, stats.skipped) == (500, 0)
    assert all(e.response is not None and e.response.body for e in exchanges)
    assert (tmp_path / "telco-openapi.yaml").exists()


def test_nginx_json_sample(tmp_path: Path) -> None:
    out = tmp_path / "access.log"
    write_sample(out, fmt="nginx-json", seed=1, requests=2000)
    stats = IngestStats()
    exchanges = list(read_exchanges(out, stats=stats))
    assert stats.events == 2000 and stats.skipped == 1  # the planted torn line
    assert exchanges[0].request.headers.get("x-forwarded-for")
    assert all(e.response is not None and e.response.body is None for e in exchanges)

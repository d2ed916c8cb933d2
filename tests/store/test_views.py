"""The views the API reads, over a real analysis saved to SQLite: the shapes of docs/api.md,
ordering and paging done by the database, ids stable across snapshots."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from apishield.config import Config
from apishield.engine import Engine
from apishield.ingest import IngestStats, read_exchanges
from apishield.ingest.openapi import load_spec
from apishield.inventory import learner
from apishield.report.document import RunInfo, build_document
from apishield.startup import build_engine
from apishield.store.database import Store
from apishield.store.schema import endpoint_key
from apishield.store.views import NotFoundError, Views
from apishield.testing import make_exchange


def _analysed(traffic: Path, tmp: Path) -> tuple[Engine, dict]:
    spec = load_spec(traffic.parent / "telco-openapi.yaml")
    engine = build_engine(Config(data_dir=tmp / "home"), spec)
    for exchange in read_exchanges(traffic, "jsonl", stats=IngestStats()):
        engine.process(exchange)
    now = time.time()
    document = build_document(
        engine.result(), RunInfo("analyze", now, now, [str(traffic)], 0, 0, 0, {}, [])
    )
    return engine, document


@pytest.fixture(scope="module")
def saved(small_traffic: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Views, int, dict]:
    tmp = tmp_path_factory.mktemp("views")
    engine, document = _analysed(small_traffic, tmp)
    store = Store(f"sqlite:///{tmp / 'a.db'}")
    store.create()
    run_id = store.save_analysis(document, engine.series_points())
    return Views(store), run_id, document


def test_endpoints_sorted_paged_and_filtered_by_the_database(saved) -> None:
    views, run_id, document = saved
    page = views.endpoints(run_id, sort="risk", limit=5)
    assert page["total"] == len(document["endpoints"]) > 5
    scores = [item["risk"]["score"] for item in page["items"]]
    assert scores == sorted(scores, reverse=True) and len(scores) == 5
    rest = views.endpoints(run_id, sort="risk", limit=500, offset=5)["items"]
    assert len(rest) == page["total"] - 5
    by_template = views.endpoints(run_id, sort="template", limit=500)["items"]
    assert [i["template"] for i in by_template] == sorted(i["template"] for i in by_template)
    item = page["items"][0]
    assert item["id"] == endpoint_key(item["method"], item["host"], item["template"])
    needle = item["template"].split("/")[-1]
    found = views.endpoints(run_id, q=needle, limit=500)["items"]
    assert found and all(needle in i["template"] for i in found)
    assert views.endpoints(run_id, state="no-such-state")["total"] == 0


def test_endpoint_detail_has_params_findings_incidents_and_series(saved) -> None:
    views, run_id, document = saved
    busiest = max(document["endpoints"], key=lambda e: e["requests"])
    key = endpoint_key(busiest["method"], busiest["host"], busiest["template"])
    detail = views.endpoint(run_id, key)
    assert detail["requests"] == busiest["requests"]
    assert detail["params"] == busiest["params"]
    assert detail["risk"]["factors"] == busiest["risk"]["factors"]
    series = views.series(run_id, key)
    assert sum(series["requests"]) == busiest["requests"]
    assert len(series["minutes"]) == len(series["p95_ms"]) == len(series["errors"]) > 1
    touched = [
        e
        for e in document["endpoints"]
        if any(
            f"{e['method']} {e['host']} {e['template']}" in i["endpoints"]
            for i in document["incidents"]["items"]
        )
    ]
    assert touched, "the BOLA walk touches a documented endpoint"
    first = touched[0]
    shown = views.endpoint(run_id, endpoint_key(first["method"], first["host"], first["template"]))
    assert shown["incidents"]
    with pytest.raises(NotFoundError):
        views.endpoint(run_id, "0" * 12)


def test_incidents_most_severe_first_with_detail(saved) -> None:
    views, run_id, document = saved
    listed = views.incidents(run_id, limit=500)
    assert listed["total"] == document["incidents"]["total"] > 0
    ranks = ["critical", "high", "medium", "low", "info"]
    order = [ranks.index(i["severity"]) for i in listed["items"]]
    assert order == sorted(order)
    assert "timeline" not in listed["items"][0]
    detail = views.incident(run_id, listed["items"][0]["id"])
    assert detail["timeline"] and detail["actors"]
    high = views.incidents(run_id, severity="high")["items"]
    assert all(i["severity"] == "high" for i in high)


def test_actors_and_overview(saved) -> None:
    views, run_id, document = saved
    actors = views.actors(run_id, limit=500)
    assert actors["total"] == len(document["actors"])
    volumes = [a["requests"] for a in actors["items"]]
    assert volumes == sorted(volumes, reverse=True)
    risky = views.actors(run_id, sort="risk", limit=1)["items"][0]
    assert risky["incidents"] > 0
    overview = views.overview(run_id)
    assert overview["summary"]["endpoints"] == len(document["endpoints"])
    stored = document["endpoints"]
    assert overview["summary"]["first_seen"] == min(e["first_seen"] for e in stored)
    assert overview["summary"]["last_seen"] == max(e["last_seen"] for e in stored)
    assert overview["incidents"]["total"] == document["incidents"]["total"]
    assert sum(overview["threat_levels"].values()) == sum(
        document["findings"]["threat_levels"].values()
    )


def test_a_live_run_is_overwritten_by_its_next_snapshot(
    small_traffic: Path, tmp_path: Path
) -> None:
    engine, document = _analysed(small_traffic, tmp_path)
    store = Store(f"sqlite:///{tmp_path / 'live.db'}")
    store.create()
    run_id = store.save_analysis(document)
    store.replace_run(run_id, document, engine.series_points())
    store.replace_run(run_id, document)
    views = Views(store)
    assert views.endpoints(run_id)["total"] == len(document["endpoints"])
    assert views.incidents(run_id)["total"] == document["incidents"]["total"]
    assert store.latest_run_id() == run_id


def test_the_spec_audit_is_kept_and_paged_most_severe_first(saved) -> None:
    views, run_id, document = saved
    page = views.spec_audit(run_id, limit=3)
    assert page["total"] == len(document["spec_audit"]) > 3
    ranks = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}
    every = views.spec_audit(run_id, limit=500)["items"]
    assert [ranks[f["severity"]] for f in every] == sorted(ranks[f["severity"]] for f in every)
    assert page["items"] == every[:3]
    assert set(every[0]) == {
        "rule", "severity", "category", "method", "path", "title", "detail", "fix",
        "requests", "unauthenticated",
    }  # fmt: skip
    assert views.spec_audit(run_id, offset=3, limit=500)["items"] == every[3:]


def test_a_run_past_the_endpoint_cap_says_so_in_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(learner, "MAX_ENDPOINTS", 10)
    engine = build_engine(Config(data_dir=tmp_path / "home"), None)
    for i in range(200):
        engine.process(make_exchange(path=f"/probe{i}", host=f"h{i}.example.com", status=403))
    document = build_document(
        engine.result(), RunInfo("analyze", 0.0, 1.0, ["a.log"], 200, 200, 0, {}, [])
    )
    store = Store(f"sqlite:///{tmp_path / 'capped.db'}")
    store.create()
    run_id = store.save_analysis(document)
    summary = Views(store).overview(run_id)["summary"]
    assert (summary["endpoint_cap"], summary["overflow_requests"]) == (10, 190)
    assert summary["endpoints"] == len(document["endpoints"]) <= 10 + learner.OVERFLOW_HOSTS + 1

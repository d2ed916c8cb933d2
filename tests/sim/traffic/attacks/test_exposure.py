"""(f) The exposed test endpoint paged through, and (g) the zombie v1 walked."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import orjson


def test_test_api_found_by_guessing_then_paged_through(scenario_run: Callable[[str], Any]) -> None:
    run = scenario_run("exposed-test-api")
    statuses = [(e.request.path, e.response.status) for e in run.events]
    assert statuses[0] == ("/internal", 404)
    pages = [e for e in run.events if e.request.path == "/internal/test/customers"]
    ids = {row["id"] for e in pages for row in orjson.loads(e.response.body or b"{}")["customers"]}
    assert ids == set(run.world.population.by_id)
    assert all("authorization" not in e.request.headers for e in run.events)


def test_zombie_walk_on_v1(scenario_run: Callable[[str], Any]) -> None:
    run = scenario_run("zombie")
    walk = [e for e in run.events if e.request.path.startswith("/v1/customers/")]
    ids = [int(e.request.path.rsplit("/", 1)[1]) for e in walk]
    assert ids == list(range(ids[0], ids[0] + len(ids)))
    statuses = Counter(e.response.status for e in walk)
    assert statuses[200] > 200 and statuses[404] > 20
    mule = run.world.population.mules[1]
    assert run.attack.actors.identities == [str(mule.customer_id)]

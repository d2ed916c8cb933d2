"""Probes, the billing batch, QA and number lookups."""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

from apishield.exchange import Request
from apishield.sim.traffic import services


def test_probes_every_ten_seconds_from_each_node(benign_day: Any) -> None:
    probes: dict[str, list[float]] = defaultdict(list)
    for event in benign_day.events:
        if event.label == "benign:probe":
            probes[event.request.peer_ip].append(event.started)
            assert "x-forwarded-for" not in event.request.headers
    assert set(probes) == set(services.PROBES)
    for times in probes.values():
        assert all(9.9 < b - a < 10.1 for a, b in itertools.pairwise(times))


def test_batch_walks_every_account_in_order_in_an_hour(benign_day: Any) -> None:
    batch = [e for e in benign_day.events if e.label == "benign:batch"]
    accounts = [e.request.path.split("/")[3] for e in batch]
    assert accounts == sorted(benign_day.world.population.by_account)
    assert batch[-1].started - batch[0].started < 3600
    assert {e.request.peer_ip for e in batch} == {services.BATCH_HOST}
    assert {e.response.status for e in batch} <= {200, 503}


def test_lookups_are_mostly_numbers_elsewhere_and_qa_uses_the_test_endpoint(
    benign_day: Any, client_ip: Callable[[Request], str]
) -> None:
    lookups = [e for e in benign_day.events if e.label == "benign:lookup"]
    statuses = Counter(e.response.status for e in lookups)
    assert statuses[404] > statuses[200] > 0
    assert all(not client_ip(e.request).startswith(("10.", "100.")) for e in lookups)
    qa = [e for e in benign_day.events if e.label == "benign:qa"]
    assert ("/internal/test/customers", 200) in {(e.request.path, e.response.status) for e in qa}
    assert {e.request.peer_ip for e in qa} == {services.QA_HOST}

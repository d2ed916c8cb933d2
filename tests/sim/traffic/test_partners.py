"""Partners read many subscribers from a few fixed datacenter addresses."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from apishield.exchange import Request
from apishield.sim.traffic.partners import partner_plans


def test_partners_read_their_base_from_their_addresses(
    benign_day: Any, client_ip: Callable[[Request], str]
) -> None:
    plans = {p.name: p for p in partner_plans(benign_day.world)}
    for name, plan in plans.items():
        reads = [e for e in benign_day.events if e.label == f"benign:partner:{name}"]
        assert reads, name
        assert {client_ip(e.request) for e in reads} <= set(plan.ips)
        assert {e.request.headers["x-api-key"] for e in reads} == {plan.api_key}
        numbers = {e.request.path.rsplit("/", 1)[1] for e in reads}
        assert numbers <= set(plan.base)
    mvno = [e for e in benign_day.events if e.label == "benign:partner:mvno-connect"]
    assert len(mvno) == len(plans["mvno-connect"].base)
    span = mvno[-1].started - mvno[0].started
    assert 8.5 * 3600 < span < 9.5 * 3600
    statuses = Counter(e.response.status for e in mvno)
    assert statuses[404] and statuses[200] > 20 * statuses[404]

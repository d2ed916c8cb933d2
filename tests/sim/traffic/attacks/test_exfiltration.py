"""(a) Low and slow through a partner's key, a different subscriber each time."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from apishield.exchange import Request
from apishield.sim.traffic.partners import partner_plans


def test_one_subscriber_every_10_to_30_seconds_until_the_end(
    scenario_run: Callable[[str], Any], client_ip: Callable[[Request], str]
) -> None:
    run = scenario_run("exfiltration")
    events = run.events
    finverify = next(p for p in partner_plans(run.world) if p.name == "finverify")
    assert run.attack.actors.api_keys == [finverify.api_key]
    assert not set(run.attack.actors.ips) & set(finverify.ips)
    assert {e.request.headers["x-api-key"] for e in events} == {finverify.api_key}
    assert {client_ip(e.request) for e in events} == set(run.attack.actors.ips)
    gaps = [b.started - a.started for a, b in itertools.pairwise(events)]
    assert min(gaps) >= 10.0 and max(gaps) <= 30.0
    assert events[0].started == run.onset and run.world.calendar.end - events[-1].started < 30
    per_minute: dict[int, int] = {}
    for event in events:
        per_minute[int(event.started // 60)] = per_minute.get(int(event.started // 60), 0) + 1
    assert max(per_minute.values()) <= 6
    first_pass = [e.request.path for e in events[:300]]
    assert len(set(first_pass)) == 300
    statuses = {e.response.status for e in events}
    assert statuses == {200, 404}

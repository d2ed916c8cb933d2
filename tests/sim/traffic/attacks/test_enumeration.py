"""(b) The same numbers from 200+ proxies at a machine's beat, then SIM-swap attempts."""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

from apishield.exchange import Request


def test_every_number_from_many_ips_at_a_two_second_beat(
    scenario_run: Callable[[str], Any], client_ip: Callable[[Request], str]
) -> None:
    run = scenario_run("enumeration")
    lookups = [e for e in run.events if e.request.path.endswith("/lookup")]
    ips_per_number: dict[str, set[str]] = defaultdict(set)
    times_per_ip: dict[str, list[float]] = defaultdict(list)
    for event in lookups:
        ip = client_ip(event.request)
        ips_per_number[event.request.path].add(ip)
        times_per_ip[ip].append(event.started)
    assert len(times_per_ip) >= 200
    assert len({ip.rsplit(".", 2)[0] for ip in times_per_ip}) >= 150  # many /16s
    assert min(len(ips) for ips in ips_per_number.values()) >= 200
    statuses = Counter(e.response.status for e in lookups)
    assert statuses[404] > 3 * statuses[200] > 0
    beats = Counter(
        round(b - a, 2) for times in times_per_ip.values() for a, b in itertools.pairwise(times)
    )
    assert beats.most_common(1)[0][0] == 2.0
    span = lookups[-1].started - lookups[0].started
    assert 2.5 * 3600 < span < 4.5 * 3600


def test_then_sim_swaps_from_a_mule_are_refused(scenario_run: Callable[[str], Any]) -> None:
    run = scenario_run("enumeration")
    swaps = [e for e in run.events if e.request.path.endswith("/swap")]
    assert swaps and {e.response.status for e in swaps} == {403}
    login = next(e for e in run.events if e.request.path == "/v2/auth/login")
    assert login.response.status == 200
    assert run.attack.actors.identities == [str(run.world.population.mules[0].customer_id)]

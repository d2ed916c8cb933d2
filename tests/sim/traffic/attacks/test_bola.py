"""(c) A customer walks account numbers on the bills endpoint."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable
from typing import Any


def test_near_sequential_account_walk_mixed_200_and_404(scenario_run: Callable[[str], Any]) -> None:
    run = scenario_run("bola")
    bills = [e for e in run.events if e.request.path.endswith("/bills")]
    accounts = [int(e.request.path.split("/")[3]) for e in bills]
    attacker = run.world.population.by_id[int(run.attack.actors.identities[0])]
    assert accounts[0] == int(attacker.account_number)
    steps = Counter(b - a for a, b in itertools.pairwise(accounts))
    assert set(steps) <= {1, 2} and steps[1] > steps[2]
    statuses = Counter(e.response.status for e in bills)
    assert statuses[200] > 50 and statuses[404] > statuses[200]
    assert all(e.request.headers["authorization"].startswith("Bearer ") for e in bills)
    assert run.world.profiles[attacker.customer_id].platform in ("ios", "android")

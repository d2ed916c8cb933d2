from __future__ import annotations

import random

from apishield.detect.cadence import CAMPAIGN_CLIENTS, RegularClients
from apishield.detect.testing import make_observation
from apishield.state.memory import MemoryState

T = 1_767_225_600.0


def _run(gap: object, clients: int) -> list[str]:
    detector, state = RegularClients(), MemoryState()
    fired = []
    for client in range(clients):
        now = T + client * 0.07
        for _ in range(12):
            now += gap(client) if callable(gap) else float(gap)  # type: ignore[arg-type]
            observation = make_observation(ip=f"198.18.{client}.1", time=now, authenticated=False)
            fired.extend(d.finding.rule_id for d in detector.observe(observation, state) if d.fresh)
    return fired


def test_many_machine_regular_clients_on_one_endpoint_are_one_campaign() -> None:
    assert _run(2.0, CAMPAIGN_CLIENTS + 5) == ["enum.regular-clients"]


def test_a_few_regular_clients_are_health_checks_not_a_campaign() -> None:
    assert _run(2.0, 3) == []


def test_people_are_irregular() -> None:
    rng = random.Random(3)
    assert _run(lambda _: rng.expovariate(1 / 20), CAMPAIGN_CLIENTS * 3) == []

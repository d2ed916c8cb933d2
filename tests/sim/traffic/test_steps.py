"""Client steps: retries on 503, and a customer whose password was changed behind their back."""

from __future__ import annotations

import itertools
import random

from apishield.exchange import Request, Response
from apishield.sim.telco.api import TelcoApi
from apishield.sim.telco.population import Population
from apishield.sim.traffic.calendar import Calendar
from apishield.sim.traffic.network import Client
from apishield.sim.traffic.steps import answered, call, login, token_of
from apishield.sim.traffic.timeline import Flow, Stream, merge
from apishield.sim.traffic.world import build_world
from apishield.testing import T0


def _retries(until: float, seed: int) -> list[float]:
    """When a client sent its request, against a backend that is down until `until`."""

    def answer(request: Request, now: float) -> tuple[Response, float]:
        return Response(503 if now < until else 200), 0.0

    def flow() -> Flow:
        yield from call(Request("GET", "/v2/plans"), T0, random.Random(seed))

    events = list(merge([Stream("s", iter([(T0, flow())]), T0)], answer, T0 + 100))
    return [e.started for e in events]


def test_the_app_retries_a_503_five_to_twenty_times_within_seconds() -> None:
    storms = [_retries(T0 + 1000, seed) for seed in range(30)]
    assert {len(times) for times in storms} <= set(range(6, 22))
    assert min(len(t) for t in storms) < 10 < max(len(t) for t in storms)
    assert all(b - a < 1.7 for times in storms for a, b in itertools.pairwise(times))
    recovered = _retries(T0 + 0.5, 1)
    assert len(recovered) == 2  # the first retry after the outage succeeds, and that is all


def test_a_victim_resets_their_password_properly_and_signs_in(population: Population) -> None:
    api = TelcoApi(population)
    calendar = Calendar.parse("2023-11-14", 1)
    world = build_world(population.seed, population, api, calendar)
    victim = population.subscribers[2]
    api.accounts.confirm_reset({"username": victim.email, "new_password": "attacker-chose-this"})
    client = Client("100.64.0.9", "TelcoApp/5.4.1")

    def flow() -> Flow:
        token, _ = yield from login(world, victim, client, T0, random.Random(3))
        assert token is not None

    events = list(merge([Stream("v", iter([(T0, flow())]), T0)], api.dispatch, T0 + 3600))
    steps = [(e.request.path.rsplit("/", 1)[1], e.response.status) for e in events]
    assert steps[-3:] == [("password-reset", 202), ("confirm", 200), ("login", 200)]
    assert ("login", 401) in steps
    confirm = next(e for e in events if e.request.path.endswith("/confirm"))
    assert b'"code":"' in (confirm.request.body or b"") and b'"code":""' not in (
        confirm.request.body or b""
    )
    assert world.wallet.password(victim.customer_id) != "attacker-chose-this"
    assert world.wallet.token(victim.customer_id, events[-1].started) is not None


def test_a_decoy_or_odd_answer_gives_a_client_nothing_instead_of_crashing_it() -> None:
    token = Response(200, {}, b'{"access_token": "t0k", "expires_in": 900, "customer_id": 7}', 60)
    assert token_of(token) == "t0k" and answered(token, "customer_id") == 7
    for body in (b"{}", b"[]", b"not json", b'{"access_token": 5}', b""):
        odd = Response(200, {}, body, len(body))
        assert token_of(odd) is None, body
        assert answered(odd, "customer_id") is None, body
    assert token_of(Response(401, {}, token.body, 60)) is None

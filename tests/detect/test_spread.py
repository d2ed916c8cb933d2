from __future__ import annotations

from apishield.detect.roles import EndpointRoles
from apishield.detect.spread import FLOOR, MIN_WINDOWS, WINDOW, OneShotClients
from apishield.detect.testing import ENDPOINT, make_observation
from apishield.state.memory import MemoryState

LOOKUP = EndpointRoles(ENDPOINT, object_params=("number",))
T = 1_767_225_600.0
DAY = 86_400.0


def _ask(detector: OneShotClients, state: MemoryState, ip: str, at: float) -> list[str]:
    observation = make_observation(
        roles=LOOKUP, ip=ip, actor=f"ip:{ip}", authenticated=False, time=at, objects=["n"]
    )
    return [d.finding.rule_id for d in detector.observe(observation, state) if d.fresh]


def _ordinary_days(detector: OneShotClients, state: MemoryState, days: int) -> None:
    """Twenty regular clients a window, each asking five times, around the clock."""
    windows = int(days * DAY // WINDOW)
    for w in range(windows):
        for client in range(20):
            for n in range(5):
                _ask(detector, state, f"10.1.{client}.{w % 200}", T + w * WINDOW + client * 20 + n)


def test_a_rotation_through_many_addresses_fires_on_the_endpoint() -> None:
    detector, state = OneShotClients(), MemoryState()
    _ordinary_days(detector, state, 2)
    start = T + 2 * DAY + 30
    fired = []
    for n in range(300):  # one request every two seconds, each from a new address
        fired += [
            (n, rule)
            for rule in _ask(detector, state, f"198.18.{n // 250}.{n % 250}", start + 2 * n)
        ]
    assert fired and fired[0][1] == "enum.one-shot-ips"
    assert FLOOR <= fired[0][0] < 200  # the index of the first address past the floor


def test_the_same_addresses_asking_often_are_not_a_spread() -> None:
    detector, state = OneShotClients(), MemoryState()
    _ordinary_days(detector, state, 2)
    start = T + 2 * DAY + 30
    fired = []
    for n in range(300):  # a busy carrier-grade NAT pool: 30 addresses asking ten times each
        fired += _ask(detector, state, f"100.64.0.{n % 30}", start + 2 * n)
    assert not fired


def test_an_endpoint_without_history_is_not_judged() -> None:
    detector, state = OneShotClients(), MemoryState()
    fired = []
    for n in range(300):
        fired += _ask(detector, state, f"198.18.{n // 250}.{n % 250}", T + 2 * n)
    assert not fired
    assert MIN_WINDOWS > 1


def test_endpoints_without_objects_logins_or_resets_are_ignored() -> None:
    detector, state = OneShotClients(), MemoryState()
    plain = make_observation(roles=EndpointRoles(ENDPOINT), time=T)
    assert not list(detector.observe(plain, state))
    assert len(state) == 0

"""One exchange reduced to an observation: keyed hashes of its objects, its outcome, its attack."""

from __future__ import annotations

import pytest

from apishield.detect import observation
from apishield.detect.observation import Observer
from apishield.detect.roles import EndpointRoles
from apishield.exchange import Actor, Finding, Severity
from apishield.privacy import Hasher
from apishield.testing import make_exchange

HASHER = Hasher(b"k" * 32)
ROLES = EndpointRoles("GET api.example.com /customers/{id}/lines/{msisdn}", object_params=("id",))


def _observe(observer: Observer, customer: str, *findings: Finding) -> observation.Observation:
    exchange = make_exchange("GET", f"/customers/{customer}/lines/+14155550123")
    exchange.actor = Actor("198.51.100.1", identity="alice", auth_scheme="bearer")
    exchange.path_params = {"id": customer, "msisdn": "+14155550123"}
    exchange.findings.extend(findings)
    return observer(exchange, ROLES, time=exchange.started, warm=True)


def test_objects_are_keyed_hashes_and_numbers_are_shifted() -> None:
    seen = _observe(Observer(HASHER, 5), "40213377")
    assert seen.objects == (HASHER.short("40213377"),)
    assert seen.target == seen.objects[0]
    assert seen.sequence == 40213377 + 5
    assert (seen.actor, seen.network, seen.authenticated) == ("id:alice", "198.51.100.0/24", True)


def test_remembered_hashes_stay_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(observation, "_MAX_HASHES", 4)
    observer = Observer(HASHER, 0)
    for n in range(10):
        assert _observe(observer, str(n)).objects == (HASHER.short(str(n)),)
    assert len(observer._hashes) <= 4


def test_an_attack_is_a_medium_injection_or_protocol_finding() -> None:
    observer = Observer(HASHER, 0)
    low = Finding("inj.sqli", "t", Severity.LOW)
    other = Finding("auth.missing", "t", Severity.HIGH)
    attack = Finding("proto.smuggling", "t", Severity.MEDIUM)
    assert not _observe(observer, "1", low, other).attack
    assert _observe(observer, "1", low, attack).attack

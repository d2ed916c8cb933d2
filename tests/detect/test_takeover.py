from __future__ import annotations

from apishield.detect.takeover import LoginAfterFailures
from apishield.detect.testing import make_observation
from apishield.state.memory import MemoryState

T = 1_767_225_600.0


def _login(status: int, account: str, n: int, ip: str = "203.0.113.5") -> object:
    return make_observation(
        role="login", status=status, target=account, ip=ip, time=T + n, authenticated=False
    )


def test_a_success_after_failures_on_several_accounts_is_a_takeover() -> None:
    detector, state = LoginAfterFailures(), MemoryState()
    for n, account in enumerate(["a", "b", "c", "d"]):
        assert not list(detector.observe(_login(401, account, n), state))  # type: ignore[arg-type]
    detections = list(detector.observe(_login(200, "e", 10), state))  # type: ignore[arg-type]
    assert [d.finding.rule_id for d in detections] == ["auth.login-after-failures"]
    assert detections[0].finding.evidence["failed_accounts_last_hour"] == "4"


def test_a_user_who_mistypes_then_gets_in_is_not_flagged() -> None:
    detector, state = LoginAfterFailures(), MemoryState()
    for n in range(5):
        list(detector.observe(_login(401, "me", n), state))  # type: ignore[arg-type]
    assert not list(detector.observe(_login(200, "me", 9), state))  # type: ignore[arg-type]


def test_failures_older_than_the_window_are_forgotten() -> None:
    detector, state = LoginAfterFailures(), MemoryState()
    for n, account in enumerate("abcd"):
        list(detector.observe(_login(401, account, n), state))  # type: ignore[arg-type]
    assert not list(detector.observe(_login(200, "e", 3 * 3600), state))  # type: ignore[arg-type]

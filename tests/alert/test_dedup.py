"""Cool-down per key on a clock the test turns; incidents re-alert only when severity rises."""

from __future__ import annotations

from apishield.alert.dedup import Cooldown, Grades
from apishield.exchange import Severity


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_key_is_quiet_during_its_cooldown() -> None:
    clock = Clock()
    cooldown = Cooldown(600, clock)
    assert cooldown.allow(("ip:1.2.3.4", "rule.a"))
    assert not cooldown.allow(("ip:1.2.3.4", "rule.a"))
    assert cooldown.allow(("ip:1.2.3.4", "rule.b"))
    assert cooldown.allow(("ip:5.6.7.8", "rule.a"))
    clock.now += 599
    assert not cooldown.allow(("ip:1.2.3.4", "rule.a"))
    clock.now += 1
    assert cooldown.allow(("ip:1.2.3.4", "rule.a"))


def test_memory_is_bounded_and_forgetting_errs_on_telling() -> None:
    cooldown = Cooldown(600, Clock(), max_keys=3)
    for n in range(5):
        assert cooldown.allow(n)
    assert len(cooldown) == 3
    assert cooldown.allow(0)  # forgotten: alerts again
    assert not cooldown.allow(4)


def test_grades_rise_only() -> None:
    grades = Grades()
    assert grades.rises(1, Severity.MEDIUM)
    assert not grades.rises(1, Severity.MEDIUM)
    assert not grades.rises(1, Severity.LOW)
    assert grades.rises(1, Severity.HIGH)
    assert grades.rises(2, Severity.LOW)
    bounded = Grades(max_keys=2)
    for key in range(4):
        bounded.rises(key, Severity.HIGH)
    assert len(bounded) == 2

"""Cool-down per key on a clock the test turns; incidents re-alert only when severity rises;
a campaign's findings alert once per campaign and severity."""

from __future__ import annotations

from apishield.alert.dedup import Campaigns, Cooldown, Grades
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


def test_several_keys_alert_only_when_none_is_cooling_down() -> None:
    clock = Clock()
    cooldown = Cooldown(600, clock)
    assert cooldown.allow(("id:u1", "rule.a"), ("ip:1.2.3.4", "rule.a"))
    assert not cooldown.allow(("id:u2", "rule.a"), ("ip:1.2.3.4", "rule.a"))  # the address
    assert not cooldown.allow(("id:u1", "rule.a"), ("ip:5.6.7.8", "rule.a"))  # the actor
    assert cooldown.allow(("id:u3", "rule.a"), ("ip:5.6.7.8", "rule.a"))
    clock.now += 600
    assert cooldown.allow(("id:u2", "rule.a"), ("ip:1.2.3.4", "rule.a"))


def test_a_campaign_alerts_once_then_on_a_rise_or_after_a_quiet_spell() -> None:
    campaigns = Campaigns(quiet=3_600.0)
    key = "campaign:enum.target-many-ips:GET h /v2/numbers/{msisdn}"
    assert campaigns.rises(key, Severity.HIGH, 1_000.0)
    for n in range(1, 50):  # a finding every 10 minutes keeps it going
        assert not campaigns.rises(key, Severity.HIGH, 1_000.0 + n * 600)
    assert not campaigns.rises(key, Severity.MEDIUM, 31_000.0)
    assert campaigns.rises(key, Severity.CRITICAL, 31_100.0)
    assert not campaigns.rises(key, Severity.CRITICAL, 34_700.0)
    assert campaigns.rises(key, Severity.HIGH, 38_301.0)  # an hour without one: a new campaign
    assert campaigns.rises("campaign:other", Severity.HIGH, 38_301.0)
    bounded = Campaigns(max_keys=2)
    for n in range(4):
        bounded.rises(n, Severity.HIGH, 0.0)
    assert len(bounded) == 2

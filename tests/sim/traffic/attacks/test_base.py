"""Scenario selection and onsets."""

from __future__ import annotations

import pytest

from apishield.sim.traffic.attacks import NAMES, SCENARIOS, select
from apishield.sim.traffic.calendar import DAY, Calendar


def test_selection_by_name_or_letter() -> None:
    assert [s.name for s in select("all")] == list(NAMES)
    assert select("none") == [] and select("") == []
    assert [s.name for s in select("bola, a,exfiltration")] == ["exfiltration", "bola"]
    with pytest.raises(ValueError, match=r"'bolla' \(did you mean 'bola'\?\); use all, none"):
        select("bolla")


def test_onsets_leave_two_benign_days_in_a_week() -> None:
    week = Calendar.parse("2026-01-05", 7)
    onsets = {s.name: s.onset(week) for s in SCENARIOS}
    assert all(week.start + 2 * DAY <= t < week.end for t in onsets.values())
    assert len(set(onsets.values())) == len(onsets)


def test_shorter_windows_keep_every_onset_inside() -> None:
    for days in (1.0, 2.5, 0.25):
        calendar = Calendar.parse("2026-01-05", days)
        onsets = [s.onset(calendar) for s in SCENARIOS]
        assert all(calendar.start <= t < calendar.end for t in onsets), days

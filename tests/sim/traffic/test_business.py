"""Fleet managers read every line; their sync jobs tick once a second."""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from typing import Any


def test_fleet_managers_read_all_their_lines(benign_day: Any) -> None:
    business = [e for e in benign_day.events if e.label == "benign:business"]
    lines_read: dict[str, set[str]] = defaultdict(set)
    for event in business:
        parts = event.request.path.split("/")
        if len(parts) == 6 and parts[4] == "lines":
            lines_read[parts[3]].add(parts[5])
            assert event.response.status == 200
    assert max(len(lines) for lines in lines_read.values()) >= 20


def test_fleet_sync_ticks_once_a_second(benign_day: Any) -> None:
    sync = [
        e for e in benign_day.events if e.request.headers["user-agent"].startswith("FleetSync/")
    ]
    assert sync
    times = [e.started for e in sync if e.request.path.count("/") == 5]
    beats = Counter(round(b - a, 1) for a, b in itertools.pairwise(times))
    assert beats.most_common(1)[0][0] == 1.0

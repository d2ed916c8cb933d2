"""Consumers: shared carrier NAT, a daily rhythm, old apps, stale links, widgets."""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

import jwt

from apishield.exchange import Request
from apishield.sim.traffic.calendar import Calendar


def _subject(request: Request) -> str | None:
    token = request.headers.get("authorization", "")
    if not token.startswith("Bearer "):
        return None
    subject: str = jwt.decode(token[7:], options={"verify_signature": False})["sub"]
    return subject


def test_many_subscribers_share_each_carrier_nat_address(
    benign_day: Any, client_ip: Callable[[Request], str]
) -> None:
    app = [e for e in benign_day.events if e.label == "benign:app"]
    people: dict[str, set[str]] = defaultdict(set)
    for event in app:
        subject = _subject(event.request)
        if subject:
            people[client_ip(event.request)].add(subject)
    shared = [ip for ip, who in people.items() if ip.startswith("100.") and len(who) >= 10]
    assert len(shared) >= 20
    assert all(64 <= int(ip.split(".")[1]) < 128 for ip in people if ip.startswith("100."))


def test_local_evenings_are_busy_and_nights_quiet(benign_day: Any) -> None:
    world = benign_day.world
    calendar: Calendar = world.calendar
    by_id = world.population.by_id
    hours: Counter[int] = Counter()
    for event in benign_day.events:
        if event.label != "benign:app" or "/customers/" not in event.request.path:
            continue
        customer = by_id.get(int(event.request.path.split("/")[3]))
        if customer is None or customer.time_zone != "America/New_York":
            continue
        hours[
            int(
                (event.started - calendar.midnight(calendar.first_date, "America/New_York")) // 3600
            )
            % 24
        ] += 1
    assert sum(hours[h] for h in (18, 19, 20)) > 5 * sum(hours[h] for h in (2, 3, 4))


def test_logins_fail_now_and_then_and_sessions_follow_logins(benign_day: Any) -> None:
    logins = Counter(
        e.response.status for e in benign_day.events if e.request.path == "/v2/auth/login"
    )
    failed = logins[401] / (logins[200] + logins[401])
    assert 0.01 < failed < 0.15 and logins[200] > 300


def test_old_apps_stale_links_and_widgets(benign_day: Any) -> None:
    app = [e for e in benign_day.events if e.label == "benign:app"]
    legacy = [e for e in app if e.request.path.startswith("/v1/customers/")]
    assert legacy and all("TelcoApp/3." in e.request.headers["user-agent"] for e in legacy)
    stale = [
        e for e in app if e.request.path.endswith(("/offers", "/devices", "/autopay", "-2025"))
    ]
    assert stale and {e.response.status for e in stale} == {404}
    widget: dict[str, list[float]] = defaultdict(list)
    for event in benign_day.events:
        if event.label == "benign:widget" and event.request.method == "GET":
            widget[event.request.path].append(event.started)
    gaps = [round(b - a) for times in widget.values() for a, b in itertools.pairwise(times)]
    assert gaps and Counter(gaps).most_common(1)[0][0] in (899, 900, 901)


def test_outages_set_off_retry_storms(benign_day: Any) -> None:
    failed = [e for e in benign_day.events if e.response.status == 503]
    assert failed
    repeats = Counter((e.request.headers.get("x-forwarded-for"), e.request.path) for e in failed)
    assert max(repeats.values()) >= 5

"""(h) The scanner's payloads and forged header, and (i) the flood's rate."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from apishield.exchange import Request


def test_scanner_probes_paths_and_injects_payloads(
    scenario_run: Callable[[str], Any], client_ip: Callable[[Request], str]
) -> None:
    run = scenario_run("scanner")
    paths = {e.request.path for e in run.events}
    assert {"/.env", "/actuator/env", "/wp-login.php"} <= paths
    queries = " ".join(e.request.query for e in run.events)
    assert "UNION" in queries and "etc%2Fpasswd" in queries and "jndi" in queries
    bodies = b" ".join(e.request.body or b"" for e in run.events)
    assert b"OR 1=1" in bodies and b"$ne" in bodies
    forged = [
        e for e in run.events if e.request.headers["x-forwarded-for"].startswith("127.0.0.1, ")
    ]
    assert forged and {client_ip(e.request) for e in run.events} == set(run.attack.actors.ips)
    agents = Counter(e.request.headers["user-agent"] for e in run.events)
    assert any("sqlmap" in a for a in agents) and any("Nikto" in a for a in agents)


def test_flood_sends_about_a_thousand_a_minute_per_ip(
    scenario_run: Callable[[str], Any], client_ip: Callable[[Request], str]
) -> None:
    run = scenario_run("flood")
    per_ip = Counter(client_ip(e.request) for e in run.events)
    assert set(per_ip) == set(run.attack.actors.ips) and len(per_ip) == 3
    span = run.events[-1].started - run.events[0].started
    assert 200 < span < 260
    assert all(3400 < count < 4600 for count in per_ip.values())

"""(d) A combo list from hundreds of addresses: mostly 401, a few accounts taken."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import orjson

from apishield.exchange import Request


def test_mostly_failures_from_many_ips_and_successes_read_the_account(
    scenario_run: Callable[[str], Any], client_ip: Callable[[Request], str]
) -> None:
    run = scenario_run("credential-stuffing")
    logins = [e for e in run.events if e.request.path == "/v2/auth/login"]
    statuses = Counter(e.response.status for e in logins)
    assert statuses[401] > 20 * statuses[200] and statuses[200] >= 3
    assert len({client_ip(e.request) for e in logins}) >= 150
    usernames = {orjson.loads(e.request.body or b"{}")["username"] for e in logins}
    assert len(usernames) > 150
    taken = {
        str(orjson.loads(e.response.body or b"{}")["customer_id"])
        for e in logins
        if e.response.status == 200
    }
    assert taken == set(run.attack.actors.identities)
    reads = [e for e in run.events if e.request.method == "GET"]
    assert {e.response.status for e in reads} == {200}
    assert len(reads) == 3 * len(taken)

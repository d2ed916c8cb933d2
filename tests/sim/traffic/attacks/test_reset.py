"""(e) Password resets confirmed without a valid code (Honda)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import orjson


def test_confirmations_without_valid_codes_change_passwords(
    scenario_run: Callable[[str], Any],
) -> None:
    run = scenario_run("password-reset")
    confirms = [e for e in run.events if e.request.path.endswith("/confirm")]
    bodies = [orjson.loads(e.request.body or b"{}") for e in confirms]
    outbox_codes = set(run.world.api.accounts.outbox.values())
    assert all(
        body.get("code") in (None, "000000") or body["code"] not in outbox_codes for body in bodies
    )
    statuses = Counter(e.response.status for e in confirms)
    assert statuses[200] > 80 and statuses[400] > 5
    assert any("code" not in body for body in bodies)
    logins = [e for e in run.events if e.request.path == "/v2/auth/login"]
    assert logins and {e.response.status for e in logins} == {200}
    assert len(logins) == len(run.attack.actors.identities)

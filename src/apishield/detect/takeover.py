"""Account takeover: a login that succeeds from an address that has been failing on others.

Stuffing from hundreds of IPs mostly fails; the few successes are the accounts now taken over,
and they are what an analyst must see first. An address is remembered as failing once it has
failed on several accounts in the last hour; a success from it is high severity.
"""

from __future__ import annotations

from collections.abc import Sequence

from apishield.detect.observation import Observation
from apishield.detect.registry import Detection, actor_scope, detected
from apishield.exchange import Finding, Severity
from apishield.stateful import State

WINDOW = 3_600.0
FAILED_ACCOUNTS = 4
"""Distinct accounts an address must have failed on; a user mistyping fails on one, and a
carrier-grade NAT address shared by thousands sees a few such users an hour."""


class LoginAfterFailures:
    name = "takeover"

    def observe(self, o: Observation, state: State) -> Sequence[Detection]:
        if not o.roles.login or o.target is None:
            return ()
        key = f"takeover:failed:{o.ip}"
        if o.denied:
            state.distinct(key, o.target, o.time, WINDOW, 64)
            return ()
        if not o.ok:
            return ()
        # Accounts that got in from here: on a shared address they outnumber the failures.
        succeeded = state.distinct(f"takeover:ok:{o.ip}", o.target, o.time, WINDOW, 64)
        # Reading the count adds a member; the empty string stands in for "a success was seen",
        # so the accounts that failed are the count less one.
        failed = state.distinct(key, "", o.time, WINDOW, 64) - 1
        if failed < FAILED_ACCOUNTS or succeeded > failed // 2:
            return ()
        finding = Finding(
            "auth.login-after-failures",
            "Login succeeded from an address failing on many accounts",
            Severity.HIGH,
            {"failed_accounts_last_hour": str(failed), "account": "#" + o.target[:12]},
            "API2:2023",
        )
        return [detected(finding, actor_scope(o), o)]

from __future__ import annotations

from collections.abc import Iterable

import pytest

from apishield.checks import BUILTIN_CHECKS, select_checks
from apishield.checks.registry import Check, CheckContext, Phase
from apishield.checks.stage import CheckStage
from apishield.exchange import Exchange, Finding, Severity
from apishield.testing import make_exchange


def _flags(exchange: Exchange, context: CheckContext) -> Iterable[Finding]:
    return [Finding("t.flag", "flag", Severity.MEDIUM)]


def _breaks(exchange: Exchange, context: CheckContext) -> Iterable[Finding]:
    raise RuntimeError("bug")


def test_a_failing_check_is_counted_and_the_others_still_run() -> None:
    stage = CheckStage(
        Phase.REQUEST,
        [Check("breaks", Phase.REQUEST, _breaks), Check("flags", Phase.REQUEST, _flags)],
        CheckContext(),
    )
    exchange = make_exchange()
    stage(exchange)
    stage(exchange)
    assert stage.errors == {"breaks": 2}
    assert [f.rule_id for f in exchange.findings] == ["t.flag", "t.flag"]
    assert exchange.threat == "medium"


def test_a_stage_runs_only_its_phase() -> None:
    stage = CheckStage(Phase.RESPONSE, [Check("flags", Phase.REQUEST, _flags)], CheckContext())
    exchange = make_exchange()
    stage(exchange)
    assert exchange.findings == []
    assert exchange.threat == "low"


def test_selection_by_name_and_unknown_names_are_refused() -> None:
    first = BUILTIN_CHECKS[0].name
    assert [c.name for c in select_checks([first])] == [first]
    assert first not in [c.name for c in select_checks(None, [first])]
    with pytest.raises(ValueError, match="known checks"):
        select_checks(["no-such-check"])

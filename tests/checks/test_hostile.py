"""The whole request-phase check set on input built to hurt it: huge, deep, broken or repetitive."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apishield.checks import BUILTIN_CHECKS, CheckContext, CheckStage, Phase
from apishield.exchange import Exchange, Finding
from apishield.testing import make_exchange

TEN_MB = 10 * 1024 * 1024


def request_findings(exchange: Exchange, context: CheckContext | None = None) -> list[Finding]:
    """Both phases, asserting that no check raised: the stage would otherwise hide it."""
    for phase in (Phase.REQUEST, Phase.RESPONSE):
        stage = CheckStage(phase, BUILTIN_CHECKS, context or CheckContext())
        stage(exchange)
        assert not stage.errors, stage.errors
    return exchange.findings


def test_a_ten_megabyte_body_is_capped_and_said() -> None:
    body = b'{"a": "' + b"x" * TEN_MB + b'"}'
    exchange = make_exchange(method="POST", body=body, headers={"content-type": "application/json"})
    found = request_findings(exchange, CheckContext(max_body_bytes=1_048_576))
    assert "req.body.capped" in {f.rule_id for f in found}


def test_deeply_nested_json_is_reported_not_recursed() -> None:
    body = b'{"a":' * 5000 + b"1" + b"}" * 5000
    exchange = make_exchange(method="POST", body=body, headers={"content-type": "application/json"})
    rules = {f.rule_id for f in request_findings(exchange)}
    assert rules & {"req.body.deep", "req.body.malformed"}


@pytest.mark.parametrize(
    "value",
    [
        "'" * 100_000,
        "<" * 100_000,
        "%25" * 50_000,
        "&#" * 50_000,
        "\\x" * 50_000,
        "a" * 200_000 + "'",
        "/*" * 50_000,
        "${" * 50_000,
        "\x00" * 10_000,
        "\ud800" * 1000,
        "Ｓｅｌｅｃｔ" * 10_000,
    ],
)
def test_pathological_values_finish(value: str) -> None:
    body = (
        orjson.dumps({"q": value}, option=orjson.OPT_NON_STR_KEYS) if "\ud800" not in value else b""
    )
    exchange = make_exchange(
        method="POST",
        path="/p/" + value[:5000],
        query="q=" + value,
        body=body or None,
        headers={"content-type": "application/json", "user-agent": value[:10_000]},
        response_headers={"content-type": "text/html"},
        response_body=value.encode("utf-8", "surrogatepass"),
    )
    request_findings(exchange)


@settings(max_examples=100, deadline=None)
@given(
    body=st.binary(max_size=4096),
    kind=st.sampled_from(
        [
            "application/json",
            "multipart/form-data; boundary=b",
            "application/x-www-form-urlencoded",
            "text/xml",
            "",
        ]
    ),
)
def test_arbitrary_bodies_never_raise(body: bytes, kind: str) -> None:
    exchange = make_exchange(
        method="POST", body=body, headers={"content-type": kind} if kind else {}
    )
    request_findings(exchange)

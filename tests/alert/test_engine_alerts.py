"""The engine's findings and incidents through the alerter, wired as `server/analysis.py` wires
them: a scanner that invents credentials on every request is told about, and blocked, as the one
address it is."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from apishield.alert import Alerter
from apishield.config import AutoBlockConfig, Config
from apishield.detect.incidents import Incident
from apishield.enforce.autoblock import auto_block
from apishield.exchange import Exchange, Severity
from apishield.startup import build_engine
from apishield.state.memory_limits import MemoryBlocks
from apishield.testing import T0, make_exchange

from .conftest import HttpReceiver, webhook

SCANNER = "203.0.113.66"
REQUESTS = 60


def _b64(document: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(document).encode()).rstrip(b"=").decode()


def _credentials(kind: str, n: int) -> dict[str, str]:
    if kind == "jwt":
        claims = _b64({"sub": f"u{n:06d}", "exp": 1867571200})
        return {"authorization": f"Bearer {_b64({'alg': 'HS256', 'typ': 'JWT'})}.{claims}.c2ln"}
    if kind == "apikey":
        return {"x-api-key": f"tlk_live_{n:032x}"}
    return {}


def _probe(kind: str, n: int) -> Exchange:
    return make_exchange(
        "GET",
        "/v2/customers",
        query=f"q=1%27%20UNION%20SELECT%20password%20FROM%20users--%20{n}",
        headers={"user-agent": "Mozilla/5.0", **_credentials(kind, n)},
        status=401,
        response_headers={"content-type": "application/json"},
        response_body=b"{}",
        started=T0 + n * 0.5,
        peer_ip=SCANNER,
    )


@pytest.mark.parametrize("kind", ["none", "jwt", "apikey"])
def test_a_scanner_inventing_credentials_is_one_address(
    kind: str,
    tmp_path: Path,
    alerters: Callable[..., Alerter],
    http: Callable[..., HttpReceiver],
) -> None:
    receiver = http()
    alerter = alerters({"sinks": [webhook(receiver.url, min_severity="info")]})
    config = Config.model_validate(
        {"data_dir": str(tmp_path / "home"), "identity": {"api_key_headers": ["x-api-key"]}}
    )
    engine = build_engine(config, None)
    correlator = engine.detect.correlator
    told: dict[int, Severity] = {}

    def changed(incident: Incident) -> None:
        if incident.id not in told or incident.severity > told[incident.id]:
            told[incident.id] = incident.severity
            alerter.incident(incident.summary())

    correlator.on_change = changed
    for n in range(REQUESTS):
        exchange = _probe(kind, n)
        engine.process(exchange)
        if exchange.findings:
            alerter.finding(exchange)
    alerter.close()

    bodies = [body for _, _, body in receiver.inbox.items]
    said = sorted((b["kind"], b["rules"][0] if b["kind"] == "finding" else "") for b in bodies)
    assert said == [
        ("finding", "inj.sqli.union-select"),
        ("finding", "scan.attack-requests"),
        ("incident", ""),
    ]
    assert [i.scope for i in correlator.incidents()] == [f"actor:ip:{SCANNER}"]
    blocks = MemoryBlocks()
    (incident,) = correlator.incidents()
    block = auto_block(incident, blocks, AutoBlockConfig(enabled=True, min_severity="high"))
    assert block is not None and (block.kind, block.value) == ("ip", SCANNER)

"""The spec audit as SARIF 2.1.0: the fields code-scanning views read."""

from __future__ import annotations

from typing import Any

from apishield.inventory.audit import audit
from apishield.inventory.spec import spec_from_document
from apishield.report.sarif import sarif_log


def _findings() -> Any:
    ok = {"200": {"description": "ok"}}
    integer = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
    return audit(
        spec_from_document(
            {
                "openapi": "3.0.3",
                "info": {"title": "t", "version": "1"},
                "paths": {
                    "/orders": {"post": {"responses": ok}},
                    "/orders/{id}": {"get": {"parameters": [integer], "responses": ok}},
                },
            }
        )
    )


def test_each_finding_is_a_result_of_a_described_rule() -> None:
    findings = _findings()
    log = sarif_log(findings, "api/openapi.yaml")
    assert log["version"] == "2.1.0" and log["$schema"].endswith("sarif-2.1.0.json")
    [run] = log["runs"]
    rules = {rule["id"]: rule for rule in run["tool"]["driver"]["rules"]}
    assert len(run["results"]) == len(findings)
    levels = {}
    for result, finding in zip(run["results"], findings, strict=True):
        assert result["ruleId"] == finding.rule and result["ruleId"] in rules
        location = result["locations"][0]
        assert location["physicalLocation"]["artifactLocation"]["uri"] == "api/openapi.yaml"
        assert location["logicalLocations"][0]["name"] == f"{finding.method} {finding.path}"
        levels[(finding.rule, finding.method)] = result["level"]
    assert levels[("audit.unauthenticated", "POST")] == "error"  # a POST anyone may call: high
    assert levels[("audit.unauthenticated", "GET")] == "note"  # a read of nothing personal: low
    assert all(rule["help"]["text"] and rule["shortDescription"]["text"] for rule in rules.values())

"""The spec audit as SARIF 2.1.0, the format code-scanning views read (GitHub, GitLab, IDEs), so
`apishield spec audit --sarif` can gate a pull request that changes an API's specification."""

from __future__ import annotations

from typing import Any

from apishield.exchange import Severity
from apishield.inventory.audit import AuditFinding

_SARIF_LEVELS = {Severity.CRITICAL: "error", Severity.HIGH: "error", Severity.MEDIUM: "warning"}
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def sarif_log(findings: list[AuditFinding], uri: str) -> dict[str, Any]:
    """The findings as a SARIF 2.1.0 log, each located in the spec file at `uri` and named by
    its operation (the spec is parsed, so no line is claimed)."""
    rules: dict[str, AuditFinding] = {}
    for finding in findings:
        rules.setdefault(finding.rule, finding)
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "apishield spec audit",
                        "informationUri": "https://owasp.org/API-Security/editions/2023/en/0x11-t10/",
                        "rules": [_sarif_rule(f) for f in rules.values()],
                    }
                },
                "results": [_sarif_result(f, uri) for f in findings],
            }
        ],
    }


def _sarif_rule(finding: AuditFinding) -> dict[str, Any]:
    return {
        "id": finding.rule,
        "shortDescription": {"text": finding.title},
        "help": {"text": finding.fix},
        "properties": {"tags": ["security", finding.category]},
    }


def _sarif_result(finding: AuditFinding, uri: str) -> dict[str, Any]:
    operation = f"{finding.method} {finding.path}"
    return {
        "ruleId": finding.rule,
        "level": _SARIF_LEVELS.get(finding.severity, "note"),
        "message": {"text": f"{operation}: {finding.detail}. Fix: {finding.fix}"},
        "locations": [
            {
                "physicalLocation": {"artifactLocation": {"uri": uri}},
                "logicalLocations": [{"name": operation, "kind": "member"}],
            }
        ],
        "properties": {"severity": finding.severity.label, "owasp": finding.category},
    }

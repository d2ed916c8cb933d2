from __future__ import annotations

import pytest

from apishield.checks.registry import CheckContext
from apishield.checks.response_leaks import (
    SCAN_BYTES,
    check_error_leaks,
    check_secret_leaks,
    leak_scanner,
)
from apishield.exchange import Exchange, Finding, Severity
from apishield.testing import make_exchange

TRACES = {
    "python": 'Traceback (most recent call last):\n  File "/srv/app/views.py", line 41, in get\n',
    "java": (
        "java.lang.NullPointerException: null\n"
        "\tat com.acme.billing.InvoiceService.total(InvoiceService.java:88)\n"
        "\tat sun.reflect.NativeMethodAccessorImpl.invoke0(Native Method)\n"
    ),
    "dotnet": (
        "System.InvalidOperationException: Sequence contains no elements\n"
        "   at Acme.Api.Controllers.OrdersController.Get(Int32 id) in "
        "C:\\build\\Acme.Api\\Controllers\\OrdersController.cs:line 57\n"
    ),
    "php": (
        "<br />\n<b>Fatal error</b>:  Uncaught Error: Call to undefined function foo() in "
        "<b>/var/www/html/api/index.php</b> on line <b>12</b><br />"
    ),
    "node": (
        "TypeError: Cannot read properties of undefined (reading 'id')\n"
        "    at Object.<anonymous> (/app/server.js:10:15)\n"
        "    at Module._compile (node:internal/modules/cjs/loader:1256:14)\n"
    ),
    "ruby": "NoMethodError (undefined method `name' for nil):\n  app/models/user.rb:12:in `full'\n",
    "go": "panic: runtime error: index out of range [3] with length 3\n\ngoroutine 1 [running]:\n",
}

SQL_ERRORS = {
    "mysql": (
        "You have an error in your SQL syntax; check the manual that corresponds to your MySQL "
        "server version for the right syntax to use near ''1'' at line 1"
    ),
    "postgresql": 'ERROR:  syntax error at or near "\'" at character 37',
    "oracle": "ORA-01756: quoted string not properly terminated",
    "sqlite": 'sqlite3.OperationalError: near "\'": syntax error',
    "mssql": "Unclosed quotation mark after the character string ''.",
}

BENIGN = [
    b'{"id": 1, "name": "Ada", "notes": "error: none"}',
    b'{"query": "SELECT id FROM orders WHERE status = ?", "docs": "SQL syntax guide"}',
    b'{"message": "File upload failed, line 3 of the CSV is empty"}',
    b'{"path": "at com.acme.billing", "at": "Object.keys"}',
    b"<html><body><h1>Warning: maintenance on line 4 tonight</h1></body></html>",
    b'{"error": "ORA-style codes are documented at /docs/errors"}',
]


def answer(body: bytes, status: int = 500, content_type: str = "text/plain") -> Exchange:
    return make_exchange(
        "GET",
        "/v1/orders",
        status=status,
        response_body=body,
        response_headers={"content-type": content_type},
    )


@pytest.mark.parametrize(("technology", "text"), TRACES.items())
def test_stack_traces(technology: str, text: str) -> None:
    [finding] = check_error_leaks(answer(text.encode()), CheckContext())
    assert (finding.rule_id, finding.severity) == ("leak.stack-trace", Severity.MEDIUM)
    assert finding.evidence == {"technology": technology, "status": "500"}
    assert finding.category == "API8:2023"


@pytest.mark.parametrize(("database", "text"), SQL_ERRORS.items())
def test_sql_errors(database: str, text: str) -> None:
    found = {f.rule_id: f for f in check_error_leaks(answer(text.encode()), CheckContext())}
    finding = found["leak.sql-error"]
    assert finding.severity is Severity.MEDIUM
    assert finding.evidence["database"] == database


@pytest.mark.parametrize("body", BENIGN)
def test_ordinary_bodies_pass(body: bytes) -> None:
    assert check_error_leaks(answer(body, status=200), CheckContext()) == []


def test_sql_error_answering_an_injection_is_high() -> None:
    exchange = answer(SQL_ERRORS["mysql"].encode())
    exchange.findings.append(Finding("inj.sqli.union-select", "UNION SELECT", Severity.HIGH))
    [finding] = check_error_leaks(exchange, CheckContext())
    assert finding.severity is Severity.HIGH
    assert finding.title == "database error answering SQL injection"


def test_only_the_head_of_a_large_body_is_scanned() -> None:
    late = b" " * SCAN_BYTES + TRACES["python"].encode()
    assert check_error_leaks(answer(late), CheckContext()) == []
    early = TRACES["python"].encode() + b" " * SCAN_BYTES
    assert len(check_error_leaks(answer(early), CheckContext())) == 1


def test_binary_and_missing_bodies_are_skipped() -> None:
    image = answer(TRACES["python"].encode(), content_type="image/png")
    assert check_error_leaks(image, CheckContext()) == []
    assert check_error_leaks(make_exchange(status=500), CheckContext()) == []
    assert check_error_leaks(make_exchange(status=None), CheckContext()) == []


def test_the_scanner_reports_each_kind_once() -> None:
    body = (TRACES["java"] * 50 + SQL_ERRORS["oracle"] * 50).encode()
    assert leak_scanner().scan(body) == {"trace": "java", "sql": "oracle"}
    assert leak_scanner().scan(bytes(range(256)) * 10) == {}


def classified(method: str, classes: dict[str, int], fields: dict[str, str]) -> Exchange:
    exchange = make_exchange(method, "/v1/users")
    exchange.data_classes = classes
    exchange.data_fields = fields
    return exchange


def test_private_keys_and_passwords_are_high() -> None:
    exchange = classified(
        "GET",
        {"private_key": 1, "password": 3, "email": 3},
        {"data[].password": "password", "data[].email": "email", "tls.key": "private_key"},
    )
    found = {f.rule_id: f for f in check_secret_leaks(exchange, CheckContext())}
    assert set(found) == {"leak.private-key", "leak.password"}
    assert found["leak.password"].severity is Severity.HIGH
    assert found["leak.password"].evidence == {
        "class": "password",
        "count": "3",
        "fields": "data[].password",
    }
    assert found["leak.private-key"].category == "API3:2023"


def test_tokens_are_medium_unless_issued() -> None:
    [finding] = check_secret_leaks(classified("GET", {"api_key": 2}, {}), CheckContext())
    assert (finding.rule_id, finding.severity) == ("leak.token", Severity.MEDIUM)
    assert check_secret_leaks(classified("POST", {"jwt": 1}, {}), CheckContext()) == []
    issued_password = classified("POST", {"jwt": 1, "password": 1}, {})
    assert [f.rule_id for f in check_secret_leaks(issued_password, CheckContext())] == [
        "leak.password"
    ]


def test_no_classes_no_findings() -> None:
    assert check_secret_leaks(classified("GET", {}, {}), CheckContext()) == []
    assert check_secret_leaks(classified("GET", {"email": 4}, {}), CheckContext()) == []

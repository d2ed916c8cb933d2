"""What a response gives away: stack traces, database errors, and secrets in the body.

Stack traces name files, frameworks and versions; SQL errors show queries and schema, and in
answer to an injection attempt they show it reached the database (API8:2023). Both are found by
one Hyperscan scan of the first 64 KB of the body: linear, no backtracking, about a microsecond
per kilobyte. Secrets are not searched here again: the inventory's data-class stage has already
classified the body into `exchange.data_classes` (API3:2023). Evidence names the technology and
the field paths, never the matched text, which may quote the caller's data.
"""

from __future__ import annotations

from functools import lru_cache

import hyperscan

from apishield.checks.hscache import compiled
from apishield.checks.registry import CheckContext
from apishield.exchange import Exchange, Finding, Response, Severity

SCAN_BYTES = 65_536
"""Traces and error pages start near the top; a huge body is not scanned past this."""
_CASELESS = hyperscan.HS_FLAG_CASELESS
_BINARY_TYPES = (
    "image/",
    "audio/",
    "video/",
    "font/",
    "application/octet-stream",
    "application/pdf",
    "application/zip",
    "application/gzip",
)

STACK_TRACES: tuple[tuple[str, str, int], ...] = (
    ("python", r"Traceback \(most recent call last\):", 0),
    ("python", r"File \"[^\"\r\n]{1,400}\", line \d{1,7}, in [\w<]", 0),
    (
        "java",
        r"\bat (?:[A-Za-z_$][\w$]*\.){2,30}[\w$<>]+\((?:[\w$-]{1,200}\.(?:java|kt|scala|"
        r"groovy):\d{1,7}|Native Method|Unknown Source)\)",
        0,
    ),
    ("java", r"Caused by: (?:[a-z_$][\w$]*\.){2,30}[A-Z][\w$]*(?:Exception|Error)\b", 0),
    ("java", r"Exception in thread \"[^\"\r\n]{1,200}\" (?:[a-z_$][\w$]*\.){2,30}[A-Z]", 0),
    ("dotnet", r"\bat [\w.`\[\]<>,]{3,400}\([^)\r\n]{0,400}\) in [^\r\n]{1,400}:line \d{1,7}", 0),
    ("dotnet", r"--- End of (?:inner exception )?stack trace", 0),
    ("dotnet", r"\bSystem\.(?:[A-Z]\w*\.){0,8}[A-Z]\w*Exception: ", 0),
    ("dotnet", r"Server Error in '[^'\r\n]{0,200}' Application\.", 0),
    (
        "php",
        r"(?:Fatal error|Parse error|Warning|Notice|Deprecated)(?:</b>)?:\s{1,5}[^\r\n]{1,1000}"
        r" in (?:<b>)?[^\r\n]{1,400} on line (?:<b>)?\d{1,7}",
        0,
    ),
    ("php", r"Stack trace:\s{0,4}#0 ", 0),
    ("php", r"#\d{1,4} (?:/|[A-Za-z]:\\)[^\r\n(]{1,400}\(\d{1,7}\): ", 0),
    ("node", r"\bat Object\.<anonymous> \(", 0),
    (
        "node",
        r"\bat (?:async )?[\w$.<>\[\] ]{1,200} \((?:/|[A-Za-z]:\\|node:|internal/|file://)"
        r"[^\r\n)]{1,400}:\d{1,7}:\d{1,7}\)",
        0,
    ),
    ("node", r"\bat (?:/|node:internal/|internal/)[^\r\n)]{1,400}\.[cm]?js:\d{1,7}:\d{1,7}", 0),
    ("ruby", r"\.rb:\d{1,7}:in [`'][^\r\n]{1,200}'", 0),
    ("go", r"goroutine \d{1,9} \[running\]:", 0),
    ("go", r"panic: runtime error: ", 0),
)
"""(technology, pattern, extra flags): frames and headers only a real trace prints."""

SQL_ERRORS: tuple[tuple[str, str, int], ...] = (
    ("mysql", r"you have an error in your SQL syntax", _CASELESS),
    ("mysql", r"check the manual that corresponds to your (?:MySQL|MariaDB) server version", 0),
    ("mysql", r"\bmysqli?_\w{2,30}\(\) expects parameter", 0),
    ("mysql", r"com\.mysql\.(?:cj\.)?jdbc\.|MySqlException|MySQLSyntaxErrorException", 0),
    (
        "mysql",
        r"Unknown column '[^'\r\n]{1,200}' in '(?:field list|where clause|order clause|"
        r"on clause|having clause)'",
        0,
    ),
    ("postgresql", r"\bPG::[A-Z]\w*(?:Error|Violation)\b|org\.postgresql\.util\.PSQLException", 0),
    ("postgresql", r"\bpsycopg2?\.(?:errors\.)?[A-Z]\w*(?:Error|Exception)\b", 0),
    ("postgresql", r"ERROR:\s{1,5}syntax error at or near \"", 0),
    ("postgresql", r"unterminated quoted string at or near \"", 0),
    ("postgresql", r"invalid input syntax for (?:type )?\w{2,30}: \"", 0),
    ("postgresql", r"pg_query\(\): Query failed|Npgsql\.PostgresException", 0),
    ("oracle", r"\bORA-\d{5}: ", 0),
    ("oracle", r"oracle\.jdbc\.|quoted string not properly terminated", 0),
    ("oracle", r"SQL command not properly ended", 0),
    ("sqlite", r"SQLITE_ERROR|SQLite3::\w{1,40}Exception|SQLiteException", 0),
    ("sqlite", r"sqlite3\.(?:Operational|Integrity|Programming|Database)Error", 0),
    ("sqlite", r"near \"[^\"\r\n]{1,100}\": syntax error|unrecognized token: \"", 0),
    ("mssql", r"Unclosed quotation mark after the character string", 0),
    ("mssql", r"Microsoft OLE DB Provider for (?:SQL Server|ODBC Drivers)", 0),
    ("mssql", r"\[Microsoft\]\[ODBC [^\]\r\n]{1,60}\]|ODBC SQL Server Driver", 0),
    ("mssql", r"(?:System|Microsoft)\.Data\.SqlClient\.SqlException", 0),
    ("mssql", r"Incorrect syntax near '|Msg \d{1,6}, Level \d{1,2}, State \d{1,3}", 0),
    ("mssql", r"Conversion failed when converting the n?(?:var)?char value", 0),
    ("sql", r"java\.sql\.SQL\w{0,40}Exception|org\.hibernate\.(?:exception|QueryException|hql)", 0),
    ("sql", r"sqlalchemy\.exc\.\w{1,40}Error|SequelizeDatabaseError|PDOException", 0),
    ("sql", r"\bSQLSTATE\[\w{5}\]|DB2 SQL error|Dynamic SQL Error", 0),
    ("sql", r"DBD::\w{1,20}::(?:st|db) (?:execute|prepare) failed", 0),
)
"""(database, pattern, extra flags): driver exceptions and server messages, not SQL keywords,
so an API that returns SQL text as data (a query builder, a docs page) is not an error."""

_PATTERNS = tuple(("trace", *p) for p in STACK_TRACES) + tuple(("sql", *p) for p in SQL_ERRORS)


class LeakScanner:
    """One compiled block-mode database over both pattern sets."""

    def __init__(self) -> None:
        self._database = compiled(
            expressions=[pattern.encode() for _, _, pattern, _ in _PATTERNS],
            flags=[hyperscan.HS_FLAG_SINGLEMATCH | extra for *_, extra in _PATTERNS],
            ids=range(len(_PATTERNS)),
        )

    def scan(self, body: bytes) -> dict[str, str]:
        """Kind ("trace" or "sql") -> technology of the first pattern of that kind that fired."""
        found: dict[str, str] = {}

        def on_match(pattern_id: int, start: int, end: int, flags: int, context: object) -> None:
            kind, technology = _PATTERNS[pattern_id][:2]
            found.setdefault(kind, technology)

        self._database.scan(body[:SCAN_BYTES], match_event_handler=on_match)
        return found


@lru_cache(maxsize=1)
def leak_scanner() -> LeakScanner:
    """Built on first use and shared: compiling takes far longer than a scan (with an
    `hscache` store installed, the next process loads the compiled database instead)."""
    return LeakScanner()


def _scannable(response: Response | None) -> bytes | None:
    if response is None or not response.body:
        return None
    content_type = response.headers.get("content-type", "").lower()
    if content_type.startswith(_BINARY_TYPES):
        return None
    return response.body


def check_error_leaks(exchange: Exchange, context: CheckContext) -> list[Finding]:
    """MEDIUM for a stack trace or a database error; HIGH for a database error answering a
    request that an injection check already flagged as SQL injection: the payload got through."""
    body = _scannable(exchange.response)
    if body is None:
        return []
    found = leak_scanner().scan(body)
    if not found:
        return []
    status = str(exchange.response.status) if exchange.response is not None else ""
    findings: list[Finding] = []
    if "trace" in found:
        evidence = {"technology": found["trace"], "status": status}
        findings.append(
            Finding(
                "leak.stack-trace",
                "stack trace in response",
                Severity.MEDIUM,
                evidence,
                "API8:2023",
            )
        )
    if "sql" in found:
        injected = any(f.rule_id.startswith("inj.sqli.") for f in exchange.findings)
        evidence = {"database": found["sql"], "status": status}
        severity = Severity.HIGH if injected else Severity.MEDIUM
        title = (
            "database error answering SQL injection" if injected else "database error in response"
        )
        findings.append(Finding("leak.sql-error", title, severity, evidence, "API8:2023"))
    return findings


_SECRET_RULES = (
    ("private_key", "leak.private-key", "private key in response", Severity.HIGH),
    ("password", "leak.password", "password in response", Severity.HIGH),
    ("jwt", "leak.token", "token in response", Severity.MEDIUM),
    ("api_key", "leak.token", "token in response", Severity.MEDIUM),
)
_ISSUING_METHODS = frozenset({"POST", "PUT"})


def check_secret_leaks(exchange: Exchange, context: CheckContext) -> list[Finding]:
    """Secrets the data-class stage found in the body. Tokens answering a POST or PUT are taken as
    issued (a login, a token endpoint, a key created) and not reported; anywhere else a token
    belongs to somebody and should not be read back."""
    classes = exchange.data_classes
    if not classes:
        return []
    issuing = exchange.request.method in _ISSUING_METHODS
    findings: dict[str, Finding] = {}
    for data_class, rule_id, title, severity in _SECRET_RULES:
        count = classes.get(data_class, 0)
        if count <= 0 or (severity < Severity.HIGH and issuing) or rule_id in findings:
            continue
        evidence = {"class": data_class, "count": str(count)}
        fields = [path for path, cls in exchange.data_fields.items() if cls == data_class]
        if fields:
            evidence["fields"] = ", ".join(fields[:5])
        findings[rule_id] = Finding(rule_id, title, severity, evidence, "API3:2023")
    return list(findings.values())

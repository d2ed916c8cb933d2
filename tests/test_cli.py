"""End to end: generated traffic through `apishield analyze`, reports and the store."""

from __future__ import annotations

import base64
import gzip
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from apishield.cli import app
from apishield.ingest import exchange_to_jsonl
from apishield.store.database import Store
from apishield.testing import T0, make_exchange

runner = CliRunner()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("APISHIELD_HOME", str(tmp_path / "home"))
    return tmp_path


@pytest.fixture
def sample(home: Path) -> Path:
    out = home / "traffic.jsonl.gz"
    result = runner.invoke(
        app,
        [
            "simulate",
            "--out",
            str(out),
            "--days",
            "0.3",
            "--subscribers",
            "250",
            "--seed",
            "3",
            "--scenarios",
            "exposed-test-api,zombie",
            "--quiet",
        ],
    )
    assert result.exit_code == 0, result.output
    return out


def analyze(home: Path, *args: str) -> dict[str, object]:
    report = home / "report.json"
    result = runner.invoke(
        app,
        [
            "analyze",
            *args,
            "--db",
            f"sqlite:///{home}/a.db",
            "--json",
            str(report),
            "--html",
            str(home / "r.html"),
            "-q",
        ],
    )
    assert result.exit_code == 0, result.output
    document: dict[str, object] = orjson.loads(report.read_bytes())
    return document


def by_template(document: dict[str, object]) -> dict[str, dict[str, object]]:
    return {f"{e['method']} {e['template']}": e for e in document["endpoints"]}  # type: ignore[attr-defined]


def test_analyze_finds_the_risky_endpoints(home: Path, sample: Path) -> None:
    document = analyze(
        home,
        str(sample),
        "--spec",
        str(sample.parent / "telco-openapi.yaml"),
        "--trusted-proxy",
        "10.0.0.0/8",
    )
    endpoints = by_template(document)
    internal = endpoints["GET /internal/test/customers"]
    assert internal["state"] == "shadow"
    assert internal["unauthenticated_share"] == 1.0
    assert {"email", "phone", "date_of_birth"} <= set(internal["data_classes"])  # type: ignore[arg-type]
    assert internal["max_person_records"] >= 50  # type: ignore[operator]
    assert internal["risk"]["level"] == "high"  # type: ignore[index]
    legacy = endpoints["GET /v1/customers/{customer_id}"]
    assert legacy["state"] == "zombie" and legacy["deprecated"] is True
    customer = endpoints["GET /v2/customers/{customer_id}"]
    assert customer["state"] == "documented" and customer["auth"] == {
        "bearer": customer["requests"]
    }
    run = document["run"]
    assert run["skipped"] == 0  # type: ignore[index]
    coverage = document["coverage"]
    unused = {(op["method"], op["path"]) for op in coverage["unused_operations"]}  # type: ignore[index]
    assert ("POST", "/v2/sims/{iccid}/swap") in unused
    incidents = document["incidents"]
    assert incidents["total"] >= 1  # type: ignore[index]
    assert any(  # the exposed test API, read in bulk without credentials
        "exposure.unauthenticated-records" in i["rules"]
        for i in incidents["items"]  # type: ignore[index]
    )
    html = (home / "r.html").read_text()
    assert (
        "/internal/test/customers" in html and "Personal data served without authentication" in html
    )


def test_no_secret_or_personal_value_reaches_the_store_or_reports(home: Path, sample: Path) -> None:
    analyze(home, str(sample), "--findings", str(home / "f.jsonl"))
    outputs = ("a.db", "report.json", "r.html", "f.jsonl")
    stored = b"".join((home / name).read_bytes() for name in outputs)
    assert (home / "f.jsonl").stat().st_size > 0
    secrets: set[bytes] = set()
    with gzip.open(sample) as lines:
        for line in lines:
            record = orjson.loads(line)
            headers = record["request"]["headers"]
            for name in ("authorization", "x-api-key"):
                if name in headers:
                    secrets.add(headers[name].split()[-1].encode())
            secrets.update(re.findall(rb"[\w.+-]+@[\w-]+\.[a-z]+|\+1\d{10}", line))
    assert len(secrets) > 20
    leaked = [s for s in secrets if s in stored]
    assert leaked == []


def test_spec_export_and_diff_read_the_latest_run(home: Path, sample: Path) -> None:
    analyze(home, str(sample))
    out = home / "learned.json"
    result = runner.invoke(
        app, ["spec", "export", "--out", str(out), "--db", f"sqlite:///{home}/a.db"]
    )
    assert result.exit_code == 0, result.output
    learned = orjson.loads(out.read_bytes())
    assert learned["openapi"].startswith("3.1")
    assert any("/internal/test/customers" in path for path in learned["paths"])
    result = runner.invoke(
        app,
        [
            "spec",
            "diff",
            str(sample.parent / "telco-openapi.yaml"),
            "--db",
            f"sqlite:///{home}/a.db",
        ],
    )
    assert result.exit_code == 0, result.output


def test_clear_errors(home: Path, sample: Path) -> None:
    result = runner.invoke(
        app, ["analyze", str(sample), "--format", "apache", "--db", f"sqlite:///{home}/a.db"]
    )
    assert result.exit_code == 2 and "use one of" in result.output
    result = runner.invoke(
        app, ["analyze", str(sample), "--trusted-proxy", "lb", "--db", f"sqlite:///{home}/a.db"]
    )
    assert result.exit_code == 2 and "not an IP address or CIDR" in result.output
    empty = runner.invoke(
        app, ["spec", "export", "--out", str(home / "x.json"), "--db", f"sqlite:///{home}/e.db"]
    )
    assert empty.exit_code == 2 and "no analysis stored" in empty.output


def test_findings_go_to_a_siem_file_and_the_report(home: Path, sample: Path) -> None:
    attacks = home / "attacks.jsonl"
    lines = []
    for i, query in enumerate(
        ["q=1%27%20UNION%20SELECT%20password%20FROM%20users--", "file=..%2F..%2Fetc%2Fpasswd"]
    ):
        exchange = make_exchange(
            path="/v2/plans",
            query=query,
            headers={"host": "api.telco.example"},
            started=T0 + i,
            peer_ip="198.51.100.66",
        )
        exchange.request.host = "api.telco.example"
        lines.append(exchange_to_jsonl(exchange))
    attacks.write_bytes(b"".join(lines))
    findings = home / "findings.jsonl"
    document = analyze(home, str(sample), str(attacks), "--findings", str(findings))
    records = [orjson.loads(line) for line in findings.read_bytes().splitlines()]
    flagged = [r for r in records if r["client_ip"] == "198.51.100.66"]
    assert len(flagged) == 2
    assert {c for r in flagged for c in r["classes"]} == {"sqli", "lfi"}
    assert all(r["threat_level"] == "high" and r["path"] == "/v2/plans" for r in flagged)
    rules = {r["rule_id"]: r for r in document["findings"]["rules"]}  # type: ignore[index]
    assert any(rule.startswith("inj.sqli") for rule in rules)
    assert document["findings"]["threat_levels"]["high"] >= 2  # type: ignore[index]


def test_spec_audit_lists_findings_writes_json_and_fails_ci_on_request(
    home: Path, sample: Path
) -> None:
    spec = str(sample.parent / "telco-openapi.yaml")
    out = home / "audit.json"
    result = runner.invoke(app, ["spec", "audit", spec, "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert re.search(r"\d+ operations, \d+ findings", result.output)
    document = orjson.loads(out.read_bytes())
    rules = {(f["rule"], f["path"]) for f in document["findings"]}
    # The number lookup answers phone numbers to anyone: the enumeration target.
    assert ("audit.unauthenticated", "/v2/numbers/{msisdn}/lookup") in rules
    assert ("audit.old-version", "/v1/customers/{customer_id}") in rules
    sarif = home / "audit.sarif"
    assert runner.invoke(app, ["spec", "audit", spec, "--sarif", str(sarif)]).exit_code == 0
    assert len(orjson.loads(sarif.read_bytes())["runs"][0]["results"]) == len(rules)
    failing = runner.invoke(app, ["spec", "audit", spec, "--fail-on", "high"])
    assert failing.exit_code == 1
    wrong = runner.invoke(app, ["spec", "audit", spec, "--fail-on", "severe"])
    assert wrong.exit_code == 2 and "not a severity" in wrong.output


def test_a_log_line_dated_past_2100_is_a_counted_skip_and_every_report_is_written(
    home: Path,
) -> None:
    log = home / "access.log"
    line = (
        '198.51.100.7 - - [{when}] "GET /v1/users/{n}?q=%27%20OR%201=1-- HTTP/1.1" 404 12 "-"'
        ' "sqlmap/1.7"\n'
    )
    log.write_text(
        line.format(when="07/Dec/2026:10:00:00 +0000", n=1)
        + line.format(when="31/Dec/9999:23:59:59 -0100", n=2)
    )
    findings = home / "findings.jsonl"
    document = analyze(
        home, str(log), "--findings", str(findings), "--openapi", str(home / "o.json")
    )
    run = document["run"]
    assert (run["events"], run["skipped"]) == (1, 1)  # type: ignore[index]
    assert run["skipped_by_reason"] == {"bad time": 1}  # type: ignore[index]
    assert "31/Dec/9999" in run["errors"][0]["reason"]  # type: ignore[index]
    assert findings.read_text().count("\n") == 1


def test_a_har_body_that_is_not_base64_is_counted_and_its_exchange_still_analysed(
    home: Path,
) -> None:
    def entry(n: int, text: str) -> dict[str, object]:
        content = {"size": 40, "mimeType": "application/json", "text": text, "encoding": "base64"}
        return {
            "startedDateTime": f"2026-12-07T10:00:0{n}Z",
            "time": 5,
            "request": {"method": "GET", "url": f"https://api.example/v1/users/{n}", "headers": []},
            "response": {"status": 200, "headers": [], "content": content},
        }

    body = base64.b64encode(b'{"email": "ana@mail.example"}').decode()
    capture = home / "capture.har"
    capture.write_bytes(orjson.dumps({"log": {"entries": [entry(1, body), entry(2, "%%%%")]}}))
    result = runner.invoke(app, ["analyze", str(capture), "--db", f"sqlite:///{home}/t.db"])
    assert result.exit_code == 0, result.output
    assert "Left out 1 unreadable part(s)" in result.output
    assert "capture.har line 2: bad field response.content.text" in result.output
    run = analyze(home, str(capture))["run"]
    assert (run["events"], run["skipped"], run["partial"]) == (2, 0, 1)  # type: ignore[index]
    assert run["partial_by_reason"] == {"bad field response.content.text": 1}  # type: ignore[index]


def test_logs_are_read_oldest_first_whatever_order_they_are_given_in(home: Path) -> None:
    line = '198.51.100.7 - - [07/Dec/2026:{hour}:00:00 +0000] "GET /v1/a HTTP/1.1" 200 5 "-" "x"\n'
    newest, oldest = home / "access.log", home / "access.log.1"
    newest.write_text(line.format(hour="11"))
    oldest.write_text(line.format(hour="10"))
    document = analyze(home, str(newest), str(oldest))
    assert document["run"]["sources"] == [str(oldest), str(newest)]  # type: ignore[index]


def test_a_bad_file_among_the_logs_fails_before_any_is_analysed(home: Path) -> None:
    good = home / "access.log"
    good.write_text(
        '198.51.100.7 - - [07/Dec/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "x"\n'
    )
    result = runner.invoke(app, ["analyze", str(good), str(home / "missing.log"), "-q"])
    assert result.exit_code == 2
    assert "does not exist" in " ".join(result.output.split())


VALUES_IN_PATHS = {
    "/v2/lookup/555-867-5309": "555-867-5309",  # a national phone number
    "/v2/tax/078-05-1120/status": "078-05-1120",  # a social security number
    "/v2/password-reset/k3J9xQ2mZp8L": "k3J9xQ2mZp8L",  # a reset token
    "/v2/patients/dob/1985-03-12": "1985-03-12",  # a date of birth
    "/v2/members/48213": "48213",  # a member number
    "/v2/search/John%20Smith": "Smith",  # a name someone typed
}


def test_a_value_seen_once_in_a_path_reaches_no_output(home: Path) -> None:
    """Until a second value arrives at its position, a path's value is a literal segment to the
    learner; every output shows it by its kind instead."""
    bearer = {"authorization": "Bearer abcdefghijklmnopqrstuvwx"}
    ok = {"content-type": "application/json"}
    traffic = [f"/v2/orders/{9_000_000 + i}" for i in range(200)] + list(VALUES_IN_PATHS)
    log = home / "traffic.jsonl"
    log.write_bytes(
        b"".join(
            exchange_to_jsonl(
                make_exchange(
                    path=path,
                    headers=bearer,
                    response_headers=ok,
                    response_body=b'{"ok": true}',
                    started=T0 + i,
                )
            )
            for i, path in enumerate(traffic)
        )
    )
    outputs = {
        "--json": home / "report.json",
        "--html": home / "r.html",
        "--openapi": home / "learned.json",
        "--findings": home / "f.jsonl",
    }
    options = [str(part) for option in outputs.items() for part in option]
    db = home / "a.db"
    result = runner.invoke(app, ["analyze", str(log), *options, "--db", f"sqlite:///{db}"])
    assert result.exit_code == 0, result.output
    exported = home / "exported.json"
    export = ["spec", "export", "--out", str(exported), "--db", f"sqlite:///{db}"]
    assert runner.invoke(app, export).exit_code == 0
    written = {path.name: path.read_bytes() for path in (*outputs.values(), db, exported)}
    written["terminal"] = result.output.encode()
    leaked = {
        (value, name)
        for value in VALUES_IN_PATHS.values()
        for name, text in written.items()
        if value.encode() in text
    }
    assert leaked == set()
    templates = set(by_template(orjson.loads(outputs["--json"].read_bytes())))
    assert {
        "GET /v2/lookup/{phone}",
        "GET /v2/tax/{phone}/status",
        "GET /v2/password-reset/{token}",
        "GET /v2/patients/dob/{date}",
        "GET /v2/members/{id}",
        "GET /v2/search/{param}",
    } <= templates


def test_paths_that_show_alike_are_one_endpoint_in_every_output(home: Path) -> None:
    """A number asked for 40 times is established, so the learner keeps a second number beside
    it; shown by their kind they are one endpoint, their counts added up, in the report, the
    store and the export."""
    numbers = ["555-867-5309"] * 40 + ["555-123-4567"]
    log = home / "traffic.jsonl"
    log.write_bytes(
        b"".join(
            exchange_to_jsonl(make_exchange(path=f"/v2/lookup/{number}", started=T0 + i))
            for i, number in enumerate(numbers)
        )
    )
    document = analyze(home, str(log))
    (endpoint,) = document["endpoints"]  # type: ignore[misc]
    assert (endpoint["template"], endpoint["requests"]) == ("/v2/lookup/{phone}", 41)
    exported = home / "exported.json"
    export = ["spec", "export", "--out", str(exported), "--db", f"sqlite:///{home}/a.db"]
    assert runner.invoke(app, export).exit_code == 0
    paths = orjson.loads(exported.read_bytes())["paths"]
    assert list(paths) == ["/v2/lookup/{phone}"]
    assert paths["/v2/lookup/{phone}"]["get"]["x-apishield-requests"] == 41


def small_log(home: Path) -> Path:
    log = home / "small.jsonl"
    log.write_bytes(
        b"".join(
            exchange_to_jsonl(make_exchange(path=f"/v2/orders/{9_000_000 + i}", started=T0 + i))
            for i in range(20)
        )
    )
    return log


def test_analyze_writes_its_reports_when_the_store_stays_locked(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("apishield.cli.analyze._SAVE_SECONDS", 0.5)
    db = home / "locked.db"
    outputs = {"--json": home / "r.json", "--html": home / "r.html", "--openapi": home / "o.json"}
    holder: sqlite3.Connection | None = None

    def lock_after_create(self: Store) -> None:  # another writer arrives during the analysis
        nonlocal holder
        create(self)
        holder = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
        holder.execute("BEGIN EXCLUSIVE")

    create = Store.create
    monkeypatch.setattr(Store, "create", lock_after_create)
    options = [str(part) for pair in outputs.items() for part in pair]
    url = f"sqlite:///{db}?timeout=0.05"
    try:
        result = runner.invoke(
            app,
            ["analyze", str(small_log(home)), "-q", "--db", url, *options],
        )
    finally:
        assert holder is not None
        holder.close()
    assert result.exit_code == 1, result.output
    assert all(path.exists() for path in outputs.values())
    assert "database is locked" in result.output and "not saved" in result.output
    assert "saving the run again" in result.output
    assert Store(f"sqlite:///{db}").latest_run_id() is None


def test_python_dash_m_apishield_is_the_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "apishield", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Discover, detect and defend" in done.stdout

from __future__ import annotations

from typing import Any

import orjson
import pytest
from rich.console import Console

from apishield.config import Config
from apishield.engine import Engine
from apishield.inventory import learner
from apishield.inventory.export import export_openapi
from apishield.inventory.spec import spec_from_document
from apishield.privacy import Hasher
from apishield.report.document import RunInfo, build_document
from apishield.report.html import render_html
from apishield.report.terminal import render
from apishield.testing import make_exchange

HOSTILE = '<script>alert("x")</script>'


def document(host: str = "api.example.com") -> dict[str, Any]:
    """Three endpoints; an attacker's payload in a path is learned as a parameter, so what an
    attacker controls reaches the report through `host` (a Host header is kept as sent)."""
    engine = Engine(Config(), Hasher(b"r" * 32))
    for path in ("/health", f"/{HOSTILE}", "/users/12345"):
        engine.process(
            make_exchange(
                host=host,
                path=path,
                response_body=b'{"email": "a@b.example"}',
                response_headers={"content-type": "application/json"},
            )
        )
    run = RunInfo(
        "analyze",
        0.0,
        2.0,
        ["a.log"],
        4,
        3,
        1,
        {"not JSON": 1},
        [{"source": "a.log", "line": 2, "reason": "not JSON"}],
    )
    return build_document(engine.result(), run)


def test_document_is_json_ready_and_summarised() -> None:
    doc = document()
    assert orjson.loads(orjson.dumps(doc)) == doc
    assert doc["run"]["events_per_second"] == 2
    assert doc["summary"]["endpoints"] == 3
    assert doc["summary"]["with_personal_data"] == 3
    assert doc["summary"]["by_state"] == {"undocumented": 3}
    assert doc["coverage"] is None


def test_html_escapes_what_attackers_control() -> None:
    html = render_html(document(host=HOSTILE))
    assert "<script>alert" not in html
    assert "&lt;script&gt;" in html
    assert "not JSON" in html


def test_terminal_summary() -> None:
    console = Console(record=True, width=160)
    render(document(), console)
    text = console.export_text()
    assert "3 endpoints on 1 host" in text and "1 hosts" not in text
    assert "Skipped 1 unreadable line" in text and "a.log line 2" in text
    assert "Endpoints by risk on api.example.com" in text


def test_parts_left_out_are_listed_apart_from_skipped_lines_in_every_output() -> None:
    engine = Engine(Config(), Hasher(b"r" * 32))
    engine.process(make_exchange(path="/users/7"))
    error = {"source": "a.har", "line": 1, "reason": "bad field response.content.text: ..."}
    partial = {"bad field response.content.text": 1}
    run = RunInfo("analyze", 0.0, 1.0, ["a.har"], 1, 1, 0, {}, [error], 1, partial)
    doc = build_document(engine.result(), run)
    assert (doc["run"]["partial"], doc["run"]["partial_by_reason"]) == (1, partial)
    console = Console(record=True, width=200)
    render(doc, console)
    text = console.export_text()
    assert "Left out 1 unreadable part(s) of analysed exchanges" in text
    assert "bad field response.content.text: 1" in text and "a.har line 1" in text
    assert "Skipped" not in text
    html = render_html(doc)
    assert "1 unreadable part(s) of analysed exchanges left out" in html
    assert "a.har" in html


def test_terminal_summary_prints_traffic_values_as_text_and_its_own_styles_as_styles() -> None:
    doc = document()
    hostile = "/[link=https://evil.example/]x[/link]/\x1b[2J"
    doc["endpoints"] = [dict(doc["endpoints"][0], template=hostile, unauthenticated_share=1.0)]
    doc["endpoints"][0]["auth"] = {"none": 3}
    console = Console(record=True, width=200)
    render(doc, console)
    text = console.export_text()
    assert "[link=https://evil.example/]x[/link]" in text and "\\x1b[2J" in text
    assert "[bold red]" not in text  # the "none" of the auth column is styled, not printed raw
    assert "none" in text


def test_html_lists_only_personal_data_as_exposed() -> None:
    doc = document()
    login = dict(
        doc["endpoints"][0], template="/login", data_classes={"jwt": 3}, unauthenticated_share=1.0
    )
    doc["endpoints"] = [login]
    assert "Personal data served without authentication" not in render_html(doc)


def test_with_a_spec_its_audit_is_reported_beside_the_traffic() -> None:
    lookup = {
        "get": {
            "parameters": [{"name": "msisdn", "in": "path", "required": True,
                            "schema": {"type": "string"}}],
            "responses": {"200": {"description": "ok", "content": {"application/json": {
                "schema": {"type": "object", "properties": {"msisdn": {"type": "string"}}}}}}},
        }
    }  # fmt: skip
    spec = spec_from_document(
        {"openapi": "3.0.3", "info": {"title": "t", "version": "1"},
         "paths": {"/numbers/{msisdn}/lookup": lookup}}
    )  # fmt: skip
    engine = Engine(Config(), Hasher(b"r" * 32), spec=spec)
    for n in range(3):
        engine.process(make_exchange(path=f"/numbers/+4479460{n:05d}/lookup"))
    run = RunInfo("analyze", 0.0, 1.0, ["a.log"], 3, 3, 0, {}, [])
    doc = build_document(engine.result(), run)
    [finding] = [f for f in doc["spec_audit"] if f["rule"] == "audit.unauthenticated"]
    assert (finding["severity"], finding["requests"], finding["unauthenticated"]) == ("high", 3, 3)
    assert "What the specification says is risky" in render_html(doc)
    console = Console(record=True, width=160)
    render(doc, console)
    assert "Spec audit: " in console.export_text()
    assert build_document(Engine(Config(), Hasher(b"r" * 32)).result(), run)["spec_audit"] == []


def capped_document(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Traffic past the endpoint cap, each request with a Host of its own, as a scanner sends."""
    monkeypatch.setattr(learner, "MAX_ENDPOINTS", 10)
    engine = Engine(Config(), Hasher(b"r" * 32))
    for i in range(200):
        engine.process(make_exchange(path=f"/probe{i}/x", host=f"h{i}.example.com", status=403))
    run = RunInfo("analyze", 0.0, 1.0, ["a.log"], 200, 200, 0, {}, [])
    return build_document(engine.result(), run)


def test_the_endpoint_cap_is_reported_with_the_requests_past_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    doc = capped_document(monkeypatch)
    summary = doc["summary"]
    assert (summary["endpoint_cap"], summary["overflow_requests"]) == (10, 190)
    assert len(doc["endpoints"]) <= 10 + learner.OVERFLOW_HOSTS + 1
    console = Console(record=True, width=200)
    render(doc, console)
    assert "Endpoint cap reached: past 10 endpoints, 190 requests" in console.export_text()
    assert "Endpoint cap reached: past 10 endpoints, 190 requests" in render_html(doc)


def test_below_the_cap_no_report_mentions_it() -> None:
    doc = document()
    assert doc["summary"]["overflow_requests"] == 0
    console = Console(record=True, width=200)
    render(doc, console)
    assert "Endpoint cap" not in console.export_text()
    assert "Endpoint cap" not in render_html(doc)


def test_keys_and_parameter_names_that_are_values_reach_no_output() -> None:
    engine = Engine(Config(), Hasher(b"r" * 32))
    answer = orjson.dumps({"+447911123456": {"first_name": "Alice", "email": "a@example.org"}})
    engine.process(
        make_exchange(
            method="POST",
            path="/contacts/lookup",
            query="carol.white%40example.net=1",
            headers={"content-type": "application/json"},
            body=orjson.dumps({"dave@example.com": True}),
            response_body=answer,
            response_headers={"content-type": "application/json"},
        )
    )
    result = engine.result()
    doc = build_document(result, RunInfo("analyze", 0.0, 1.0, ["a.log"], 1, 1, 0, {}, []))
    exported = export_openapi((view.endpoint for view in result.endpoints), title="t", version="1")
    outputs = [orjson.dumps(doc).decode(), orjson.dumps(exported).decode(), render_html(doc)]
    for raw in ("447911123456", "carol.white", "dave@example.com"):
        assert not any(raw in output for output in outputs), raw
    [endpoint] = doc["endpoints"]
    assert endpoint["data_classes"]["phone"] == 1
    assert endpoint["response_fields"]["{phone}.email"] == "email"
    assert {(p["in"], p["name"]) for p in endpoint["params"]} == {
        ("query", "{email}"), ("body", "{email}"),
    }  # fmt: skip

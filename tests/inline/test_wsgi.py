from __future__ import annotations

import io
import json
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask, Response, request
from werkzeug.test import Client, create_environ, run_wsgi_app

from apishield.enforce.schema import RESPONSE_UNDOCUMENTED
from apishield.exchange import Action, Exchange
from apishield.inline.guard import Guard
from apishield.inline.headers import REQUEST_HEADER_BYTES
from apishield.inline.wsgi import ApishieldWSGIMiddleware
from apishield.limits import BlockAction

from .conftest import MakeGuard, customer_spec

PAYLOAD = b'{"id":40213377,"email":"ada@example.org"}'


def _flask(guard: Guard | None) -> Flask:
    app = Flask("shielded")

    @app.get("/customers/<int:customer>")
    def customer(customer: int) -> Response:
        return Response(PAYLOAD, headers={"content-type": "application/json", "x-trace": "t1"})

    @app.get("/stream")
    def stream() -> Response:
        def chunks() -> Iterator[bytes]:
            for i in range(5):
                yield b"chunk-%d;" % i

        return Response(chunks(), mimetype="text/plain")

    @app.post("/upload")
    def upload() -> dict[str, Any]:
        return {"received": len(request.get_data()), "json": request.get_json(silent=True)}

    if guard is not None:
        app.wsgi_app = ApishieldWSGIMiddleware(app.wsgi_app, guard)  # type: ignore[method-assign]
    return app


def _client(app: Flask, ip: str = "198.51.100.20") -> Any:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = ip
    return client


def test_a_2xx_answer_passes_through_byte_identical(make_guard: MakeGuard) -> None:
    guard, analysed = make_guard()
    for path in ("/customers/40213377", "/stream"):
        bare = _client(_flask(None)).get(path)
        shielded = _client(_flask(guard)).get(path)
        assert shielded.status_code == bare.status_code == 200
        assert shielded.data == bare.data
        assert list(shielded.headers.items()) == list(bare.headers.items())
    guard.flush()
    first = analysed.get_nowait()
    assert first.request.path == "/customers/40213377" and first.request.peer_ip == "198.51.100.20"
    assert first.response is not None and first.response.body == PAYLOAD
    assert first.response.headers["x-trace"] == "t1"
    stream = analysed.get_nowait()
    assert stream.response is not None and stream.response.body == b"".join(
        b"chunk-%d;" % i for i in range(5)
    )


def test_a_deny_listed_ip_gets_403_and_others_pass(make_guard: MakeGuard) -> None:
    guard, _ = make_guard(enforce={"deny": {"ips": ["203.0.113.0/24", "2001:db8::/32"]}})
    app = _flask(guard)
    assert _client(app, "203.0.113.50").get("/customers/1").status_code == 403
    assert _client(app, "2001:db8::7").get("/customers/1").status_code == 403
    assert _client(app, "198.51.100.50").get("/customers/1").status_code == 200


def test_a_client_over_its_rate_gets_429_with_ratelimit_headers(make_guard: MakeGuard) -> None:
    guard, _ = make_guard(
        enforce={"rate_limits": {"actor_endpoint": {"requests": 2, "per_seconds": 60}}}
    )
    client = _client(_flask(guard))
    statuses = [client.get("/customers/5").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    refused = client.get("/customers/5")
    assert refused.status_code == 429
    assert refused.headers["RateLimit-Policy"] == '"actor-endpoint";q=2;w=60'
    assert refused.headers["RateLimit"].startswith('"actor-endpoint";r=0;t=')
    assert int(refused.headers["Retry-After"]) >= 1
    assert client.get("/stream").status_code == 200  # another endpoint, another bucket


def test_an_injection_in_a_json_body_is_flagged(make_guard: MakeGuard) -> None:
    guard, analysed = make_guard()
    body = {"name": "x", "filter": "1' UNION SELECT username, password FROM users--"}
    response = _client(_flask(guard)).post("/upload", json=body)
    assert response.status_code == 200 and response.json["json"] == body
    guard.flush()
    exchange = analysed.get_nowait()
    assert exchange.decision.action is Action.FLAG
    assert any(f.rule_id.startswith("inj.sqli") for f in exchange.findings)


def test_a_crashing_guard_fails_open_and_closed_when_configured(make_guard: MakeGuard) -> None:
    def crash(exchange: Exchange, now: float) -> None:
        raise RuntimeError("policy bug")

    guard, _ = make_guard()
    guard.policy.decide = crash  # type: ignore[method-assign,assignment]
    response = _client(_flask(guard)).post("/upload", data=b"abc")
    assert response.status_code == 200 and response.json["received"] == 3
    assert guard.errors["request"] == 1
    closed, _ = make_guard(enforce={"on_error": "closed"})
    closed.policy.decide = crash  # type: ignore[method-assign,assignment]
    assert _client(_flask(closed)).get("/customers/1").status_code == 503


def test_request_bodies_reach_the_app_whole_and_are_captured_capped(
    make_guard: MakeGuard,
) -> None:
    guard, analysed = make_guard(ingest={"max_body_bytes": 16})
    response = _client(_flask(guard)).post("/upload", data=b"y" * 5000)
    assert response.json["received"] == 5000
    guard.flush()
    exchange = analysed.get_nowait()
    assert exchange.request.body == b"y" * 16 and exchange.request.body_size == 5000
    assert exchange.response is not None and exchange.response.body_size == len(response.data)
    assert exchange.response.body == response.data[:16]


def test_the_response_phase_runs_after_the_answer_went_out(make_guard: MakeGuard) -> None:
    guard, analysed = make_guard()
    answered = threading.Event()
    seen: list[bool] = []

    class Gate:
        name = "gate"

        def __call__(self, exchange: Exchange) -> None:
            seen.append(answered.wait(timeout=10))

    pipeline = guard.engine.pipeline
    pipeline.response_stages = [Gate(), *pipeline.response_stages]
    response = Client(_flask(guard)).get("/customers/9")
    assert response.status_code == 200 and response.data == PAYLOAD
    assert analysed.empty()
    answered.set()
    analysed.get(timeout=10)
    assert seen == [True]


BOT = "203.0.113.66"


def _counted(guard: Guard) -> tuple[Flask, list[str]]:
    """A Flask app that notes every request that reaches it."""
    app = Flask("counted")
    reached: list[str] = []

    @app.get("/customers/<int:customer>")
    def customer(customer: int) -> Response:
        reached.append(f"/customers/{customer}")
        return Response(PAYLOAD, headers={"content-type": "application/json"})

    app.wsgi_app = ApishieldWSGIMiddleware(app.wsgi_app, guard)  # type: ignore[method-assign]
    return app, reached


def _block_bot(guard: Guard, action: BlockAction) -> None:
    guard.policy.blocks.block("ip", BOT, time.time() + 600, "incident 9: scanner", action)


def test_a_decoyed_bot_gets_the_decoy_and_never_reaches_the_app(make_guard: MakeGuard) -> None:
    decoy: dict[str, object] = {"id": None, "lines": []}
    guard, analysed = make_guard(enforce={"bots": {"decoy": decoy}})
    _block_bot(guard, "decoy")
    app, reached = _counted(guard)
    response = _client(app, BOT).get("/customers/40213377")
    assert response.status_code == 200 and response.json == decoy
    assert response.headers["Content-Type"] == "application/json"
    assert int(response.headers["Content-Length"]) == len(response.data)
    assert reached == []
    assert _client(app).get("/customers/1").data == PAYLOAD and reached == ["/customers/1"]
    guard.flush()
    decoyed = analysed.get_nowait()
    assert decoyed.decision.action is Action.DECOY and decoyed.response is None


def test_a_tarpitted_bot_waits_then_gets_429_and_never_reaches_the_app(
    make_guard: MakeGuard,
) -> None:
    guard, analysed = make_guard(enforce={"bots": {"tarpit_seconds": 0.2}})
    _block_bot(guard, "tarpit")
    app, reached = _counted(guard)
    started = time.monotonic()
    response = _client(app, BOT).get("/customers/5")
    waited = time.monotonic() - started
    assert response.status_code == 429 and response.headers["Retry-After"] == "1"
    assert 0.19 <= waited < 5.0  # held for the configured 0.2 s, not the default 10 s
    assert reached == []
    assert guard.tarpits.stats() == {"holding": 0, "held": 1, "at_once": 0}
    guard.flush()
    exchange = analysed.get_nowait()
    assert exchange.decision.action is Action.TARPIT and exchange.duration is not None
    assert exchange.duration + 0.19 <= waited  # the hold is not taken for the API's latency


def test_past_the_tarpit_cap_a_bot_is_refused_without_holding_a_thread(
    make_guard: MakeGuard,
) -> None:
    guard, _ = make_guard(enforce={"bots": {"tarpit_seconds": 2.0, "max_tarpits": 1}})
    _block_bot(guard, "tarpit")
    app, reached = _counted(guard)
    held: list[int] = []
    first = threading.Thread(
        target=lambda: held.append(_client(app, BOT).get("/customers/1").status_code)
    )
    first.start()
    while guard.tarpits.holding == 0 and first.is_alive():
        threading.Event().wait(0.005)  # until the first request sits in the tarpit
    assert _client(app, BOT).get("/customers/2").status_code == 429
    assert guard.tarpits.holding == 1  # answered while the first is still held
    first.join(timeout=30)
    assert held == [429] and reached == []
    assert guard.tarpits.stats() == {"holding": 0, "held": 1, "at_once": 1}


# -- stripping undocumented answer fields ------------------------------------------------------

LEAKY = {"id": 7, "name": "Ada", "password_hash": "x" * 40, "plan": {"code": "p1", "cost": 9}}
"""What the app answers: two fields the spec does not document (password_hash, plan.cost)."""
CLEAN = {"id": 7, "name": "Ada", "plan": {"code": "p1"}}


def _leaky(guard: Guard | None, pieces: int = 1, mimetype: str = "application/json") -> Flask:
    """GET /customers/<n> answers LEAKY, whole or streamed in `pieces` (then without a length)."""
    app = Flask("leaky")
    raw = json.dumps(LEAKY).encode()

    @app.get("/customers/<int:customer>")
    def customer(customer: int) -> Response:
        if pieces == 1:
            return Response(raw, mimetype=mimetype, headers={"x-trace": "t1"})
        step = -(-len(raw) // pieces)
        chunks = (raw[i : i + step] for i in range(0, len(raw), step))
        return Response(chunks, mimetype=mimetype, headers={"x-trace": "t1"})

    if guard is not None:
        app.wsgi_app = ApishieldWSGIMiddleware(app.wsgi_app, guard)  # type: ignore[method-assign]
    return app


def _stripping(make_guard: MakeGuard, **sections: Any) -> tuple[Guard, Any]:
    enforce = {"openapi": {"strip_undocumented": True}, **sections.pop("enforce", {})}
    return make_guard(spec=customer_spec(), enforce=enforce, **sections)


def _middleware(app: Flask) -> ApishieldWSGIMiddleware:
    middleware = app.wsgi_app
    assert isinstance(middleware, ApishieldWSGIMiddleware)
    return middleware


@pytest.mark.parametrize("pieces", [1, 4])
def test_undocumented_fields_are_stripped_and_analysis_sees_the_original(
    make_guard: MakeGuard, pieces: int
) -> None:
    guard, analysed = _stripping(make_guard)
    app = _leaky(guard, pieces)
    response = _client(app).get("/customers/7")
    assert response.status_code == 200 and response.json == CLEAN
    assert int(response.headers["Content-Length"]) == len(response.data)
    assert response.headers["x-trace"] == "t1"
    assert _middleware(app).stripped == 1 and _middleware(app).too_large == 0
    guard.flush()
    exchange = analysed.get_nowait()
    assert exchange.response is not None and json.loads(exchange.response.body or b"") == LEAKY
    finding = next(f for f in exchange.findings if f.rule_id == RESPONSE_UNDOCUMENTED)
    assert finding.evidence["fields"] == "$.password_hash, $.plan.cost"
    assert finding.evidence["stripped"] == "true"


def _documented(guard: Guard | None) -> Flask:
    """GET /customers/<n> answers only what the spec documents."""
    app = Flask("documented")

    @app.get("/customers/<int:customer>")
    def customer(customer: int) -> dict[str, Any]:
        return CLEAN

    if guard is not None:
        app.wsgi_app = ApishieldWSGIMiddleware(app.wsgi_app, guard)  # type: ignore[method-assign]
    return app


def test_documented_and_non_json_answers_pass_byte_identical(make_guard: MakeGuard) -> None:
    guard, _ = _stripping(make_guard)
    cases = [
        (_documented(None), _documented(guard)),
        (_leaky(None, 1, "text/plain"), _leaky(guard, 1, "text/plain")),
        (_leaky(None, 4, "text/plain"), _leaky(guard, 4, "text/plain")),
    ]
    for bare, shielded in cases:
        expected, got = _client(bare).get("/customers/7"), _client(shielded).get("/customers/7")
        assert got.status_code == expected.status_code == 200
        assert got.data == expected.data
        assert list(got.headers.items()) == list(expected.headers.items())
        assert _middleware(shielded).stripped == 0


def test_monitor_mode_never_alters_an_answer(make_guard: MakeGuard) -> None:
    guard, analysed = _stripping(make_guard, enforce={"mode": "monitor"})
    response = _client(_leaky(guard)).get("/customers/7")
    assert response.json == LEAKY
    guard.flush()
    exchange = analysed.get_nowait()
    assert any(f.rule_id == RESPONSE_UNDOCUMENTED for f in exchange.findings)


@pytest.mark.parametrize("pieces", [1, 4])
def test_an_answer_past_the_cap_goes_out_whole_counted_and_logged_once(
    make_guard: MakeGuard, pieces: int, caplog: pytest.LogCaptureFixture
) -> None:
    guard, analysed = _stripping(make_guard, ingest={"max_body_bytes": 32})
    app = _leaky(guard, pieces)
    bare = _client(_leaky(None, pieces)).get("/customers/7")
    with caplog.at_level(logging.WARNING, logger="apishield.inline"):
        first = _client(app).get("/customers/7")
        second = _client(app).get("/customers/7")
    for response in (first, second):
        assert response.data == bare.data and response.json == LEAKY
        assert list(response.headers.items()) == list(bare.headers.items())
    assert _middleware(app).too_large == 2 and _middleware(app).stripped == 0
    warnings = [r.getMessage() for r in caplog.records if r.name == "apishield.inline"]
    assert len(warnings) == 1
    assert "GET /customers/{customer}" in warnings[0] and "max_body_bytes (32)" in warnings[0]
    guard.flush()
    exchange = analysed.get_nowait()
    assert exchange.response is not None and exchange.response.body == bare.data[:32]
    assert exchange.response.body_size == len(bare.data)


def test_a_streamed_answer_is_held_only_up_to_the_cap(make_guard: MakeGuard) -> None:
    """Past the cap the first bytes go out before the app has produced the rest."""
    guard, _ = _stripping(make_guard, ingest={"max_body_bytes": 32})
    produced: list[int] = []

    def app(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        start_response("200 OK", [("Content-Type", "application/json")])
        for i in range(100):
            produced.append(i)
            yield b" " * 10

    shielded = ApishieldWSGIMiddleware(app, guard)
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/customers/7", "REMOTE_ADDR": "127.0.0.1"}
    started: list[str] = []
    body = iter(shielded(environ, lambda status, headers, exc_info=None: started.append(status)))
    assert next(body) == b" " * 10 and started == ["200 OK"]
    assert len(produced) == 4  # 40 bytes: just past the 32-byte cap
    assert len(b"".join(body)) == 990


def test_a_plain_wsgi_app_writing_through_write_is_stripped(make_guard: MakeGuard) -> None:
    guard, analysed = _stripping(make_guard)
    raw = json.dumps(LEAKY).encode()

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        write = start_response(
            "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(raw)))]
        )
        write(raw[:10])
        return [raw[10:]]

    response = Client(ApishieldWSGIMiddleware(app, guard)).get("/customers/7")
    assert response.status_code == 200 and response.json == CLEAN
    assert response.headers["Content-Length"] == str(len(response.data))
    guard.flush()
    exchange = analysed.get_nowait()
    assert exchange.response is not None and exchange.response.body == raw


def test_one_endpoint_can_strip_while_the_default_does_not(make_guard: MakeGuard) -> None:
    endpoints = {"GET /customers/{customer}": {"strip_undocumented": True}}
    guard, _ = make_guard(spec=customer_spec(), enforce={"openapi": {"endpoints": endpoints}})
    assert _client(_leaky(guard)).get("/customers/7").json == CLEAN
    unstripped, _ = make_guard(spec=customer_spec())
    assert _client(_leaky(unstripped)).get("/customers/7").json == LEAKY


class _Trickle(io.RawIOBase):
    """A `wsgi.input` that hands out at most 7 bytes a read, as PEP 3333 allows."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        return self._data.read(7 if size is None or size < 0 else min(size, 7))


def test_a_body_read_in_short_pieces_is_checked_whole(make_guard: MakeGuard) -> None:
    guard, analysed = make_guard()
    body = b'{"note": "hello", "q": "1\' UNION SELECT password FROM users--"}'
    environ = create_environ("/upload", method="POST", data=body, content_type="application/json")
    environ["wsgi.input"] = _Trickle(body)
    environ["REMOTE_ADDR"] = "198.51.100.20"
    seen: list[bytes] = []

    def app(env: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append(env["wsgi.input"].read())
        start_response("200 OK", [("content-type", "text/plain")])
        return [b"ok"]

    answer, status, _ = run_wsgi_app(ApishieldWSGIMiddleware(app, guard), environ)
    assert b"".join(answer) == b"ok" and status == "200 OK"
    answer.close()  # type: ignore[attr-defined]
    guard.flush()
    exchange = analysed.get_nowait()
    assert exchange.request.body == body and exchange.request.body_size == len(body)
    assert any(f.rule_id.startswith("inj.sqli") for f in exchange.findings)
    assert seen == [body]  # the app still reads the whole body, in order


def test_headers_past_the_analysis_budget_are_a_finding(make_guard: MakeGuard) -> None:
    guard, analysed = make_guard()
    client = _client(_flask(guard))
    flood = {f"x-pad-{n}": "p" * 1000 for n in range(100)}  # 100 KB of headers
    answer = client.get("/customers/40213377", headers=flood)
    assert answer.status_code == 200 and answer.data == PAYLOAD
    guard.flush()
    exchange = analysed.get_nowait()
    assert "proto.headers-too-large" in {f.rule_id for f in exchange.findings}
    read = sum(len(k) + len(v) for k, v in exchange.request.headers.items())
    assert read <= REQUEST_HEADER_BYTES


def _transport_rules(exchange: Exchange) -> list[str]:
    return [f.rule_id for f in exchange.findings if f.rule_id.startswith("transport.")]


def test_a_clients_own_forwarded_proto_does_not_hide_plain_http(make_guard: MakeGuard) -> None:
    guard, analysed = make_guard(identity={"trusted_proxies": ["192.0.2.0/24"]})
    app = _flask(guard)
    direct = _client(app).get("/customers/1", headers={"X-Forwarded-Proto": "https"})
    proxied = _client(app, "192.0.2.10").get(
        "/customers/2", headers={"X-Forwarded-For": "198.51.100.20", "X-Forwarded-Proto": "https"}
    )
    assert direct.data == proxied.data == PAYLOAD  # read whole: the response phase follows
    guard.flush()
    assert _transport_rules(analysed.get_nowait()) == ["transport.plain-http"]
    assert _transport_rules(analysed.get_nowait()) == []


def test_the_connections_own_scheme_decides_without_a_trusted_proxy(make_guard: MakeGuard) -> None:
    guard, analysed = make_guard()
    client = _client(_flask(guard))
    answer = client.get(
        "/customers/1", base_url="https://api.test", headers={"X-Forwarded-Proto": "http"}
    )
    assert answer.data == PAYLOAD
    guard.flush()
    exchange = analysed.get_nowait()
    assert exchange.request.scheme == "https"
    assert _transport_rules(exchange) == []

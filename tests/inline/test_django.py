"""The WSGI middleware around a real Django project, served by a real WSGI server on 127.0.0.1.

Django is configured here, in memory (no database, no apps, no middleware of its own), with
this module as its URLconf; its WSGI application is wrapped as a deployment would wrap it, and
served by wsgiref on a thread. The server sits behind no proxy, so every request comes from
127.0.0.1; the guard trusts that address as a proxy and the tests name their clients in
X-Forwarded-For. The server hands the exchange over only after the client may already hold
the whole answer, so the tests wait for it (bounded) rather than flush.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Callable, Iterator
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import httpx
import pytest

pytest.importorskip("django", reason="django is in the dev extra: pip install -e '.[dev]'")

from django.conf import settings
from django.core.handlers.wsgi import WSGIRequest
from django.core.wsgi import get_wsgi_application
from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.urls import path

from apishield.enforce.schema import RESPONSE_UNDOCUMENTED
from apishield.exchange import Action
from apishield.inline.guard import Guard
from apishield.inline.wsgi import ApishieldWSGIMiddleware, WSGIApp

from .conftest import MakeGuard, customer_spec

LEAKY = {"id": 7, "name": "Ada", "password_hash": "x" * 40, "plan": {"code": "p1", "cost": 9}}
"""What the app answers: two fields the spec does not document (password_hash, plan.cost)."""
CLEAN = {"id": 7, "name": "Ada", "plan": {"code": "p1"}}
RAW = json.dumps(LEAKY).encode()
TRUSTED = {"identity": {"trusted_proxies": ["127.0.0.1/32"]}}


def customer(request: WSGIRequest, customer: int) -> HttpResponse:
    if request.GET.get("stream"):
        pieces = (RAW[i : i + 16] for i in range(0, len(RAW), 16))
        return StreamingHttpResponse(pieces, content_type="application/json")
    response = HttpResponse(RAW, content_type="application/json")
    response["X-Trace"] = "t1"
    return response


def upload(request: WSGIRequest) -> JsonResponse:
    body = request.body
    return JsonResponse({"received": len(body), "json": json.loads(body or b"null")})


urlpatterns = [
    path("customers/<int:customer>", customer),
    path("upload", upload),
]


@pytest.fixture(scope="module")
def django_app() -> WSGIApp:
    if not settings.configured:
        settings.configure(
            DEBUG=False,
            SECRET_KEY=secrets.token_urlsafe(32),
            ALLOWED_HOSTS=["127.0.0.1"],
            ROOT_URLCONF=__name__,
            DATABASES={},
            INSTALLED_APPS=[],
            MIDDLEWARE=[],
            USE_TZ=True,
        )
    if __name__ != settings.ROOT_URLCONF:
        pytest.skip(f"Django was configured elsewhere in this run ({settings.ROOT_URLCONF})")
    app: WSGIApp = get_wsgi_application()
    return app


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


Serve = Callable[[WSGIApp], httpx.Client]


@pytest.fixture
def serve() -> Iterator[Serve]:
    """serve(app) -> an httpx client for it, served by wsgiref on 127.0.0.1 until the test ends."""
    running: list[tuple[WSGIServer, threading.Thread, httpx.Client]] = []

    def start(app: WSGIApp) -> httpx.Client:
        server = make_server("127.0.0.1", 0, app, handler_class=_Quiet)
        thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        base = f"http://127.0.0.1:{server.server_port}"
        client = httpx.Client(base_url=base, timeout=10.0, trust_env=False)
        running.append((server, thread, client))
        return client

    yield start
    for server, thread, client in running:
        client.close()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _shielded(app: WSGIApp, guard: Guard) -> ApishieldWSGIMiddleware:
    return ApishieldWSGIMiddleware(app, guard)


def _from(ip: str) -> dict[str, str]:
    return {"x-forwarded-for": ip}


def _headers(response: httpx.Response) -> list[tuple[str, str]]:
    """The answer's headers but the server's clock."""
    return [(k, v) for k, v in response.headers.multi_items() if k.lower() != "date"]


def test_a_2xx_answer_passes_through_byte_identical(
    django_app: WSGIApp, serve: Serve, make_guard: MakeGuard
) -> None:
    guard, analysed = make_guard(**TRUSTED)
    bare, shielded = serve(django_app), serve(_shielded(django_app, guard))
    for url in ("/customers/7", "/customers/7?stream=1"):
        expected, got = bare.get(url), shielded.get(url, headers=_from("198.51.100.20"))
        assert got.status_code == expected.status_code == 200
        assert got.content == expected.content == RAW
        assert _headers(got) == _headers(expected)
    first = analysed.get(timeout=10)
    assert first.request.path == "/customers/7" and first.response is not None
    assert first.response.body == RAW and first.response.headers["x-trace"] == "t1"
    assert first.actor is not None and "198.51.100.20" in first.actor.key


def test_a_deny_listed_client_gets_403_and_others_pass(
    django_app: WSGIApp, serve: Serve, make_guard: MakeGuard
) -> None:
    guard, _ = make_guard(**TRUSTED, enforce={"deny": {"ips": ["203.0.113.0/24"]}})
    client = serve(_shielded(django_app, guard))
    denied = client.get("/customers/7", headers=_from("203.0.113.50"))
    assert denied.status_code == 403 and denied.json() == {"error": "forbidden"}
    assert client.get("/customers/7", headers=_from("198.51.100.50")).content == RAW


def test_a_client_over_its_rate_gets_429_with_retry_after(
    django_app: WSGIApp, serve: Serve, make_guard: MakeGuard
) -> None:
    limits = {"rate_limits": {"actor_endpoint": {"requests": 2, "per_seconds": 60}}}
    guard, _ = make_guard(**TRUSTED, enforce=limits)
    client = serve(_shielded(django_app, guard))
    statuses = [client.get("/customers/5", headers=_from("198.51.100.9")) for _ in range(3)]
    assert [r.status_code for r in statuses] == [200, 200, 429]
    assert int(statuses[2].headers["Retry-After"]) >= 1
    assert statuses[2].headers["RateLimit-Policy"] == '"actor-endpoint";q=2;w=60'
    assert client.get("/customers/5", headers=_from("198.51.100.10")).status_code == 200


def test_an_injection_in_a_json_body_is_flagged(
    django_app: WSGIApp, serve: Serve, make_guard: MakeGuard
) -> None:
    guard, analysed = make_guard(**TRUSTED)
    client = serve(_shielded(django_app, guard))
    body = {"name": "x", "filter": "1' UNION SELECT username, password FROM users--"}
    response = client.post("/upload", json=body, headers=_from("198.51.100.30"))
    assert response.status_code == 200 and response.json()["json"] == body
    exchange = analysed.get(timeout=10)
    assert exchange.decision.action is Action.FLAG
    assert any(f.rule_id.startswith("inj.sqli") for f in exchange.findings)


@pytest.mark.parametrize("url", ["/customers/7", "/customers/7?stream=1"])
def test_an_undocumented_field_is_stripped_while_analysis_sees_it(
    django_app: WSGIApp, serve: Serve, make_guard: MakeGuard, url: str
) -> None:
    guard, analysed = make_guard(
        **TRUSTED, spec=customer_spec(), enforce={"openapi": {"strip_undocumented": True}}
    )
    middleware = _shielded(django_app, guard)
    response = serve(middleware).get(url, headers=_from("198.51.100.40"))
    assert response.status_code == 200 and response.json() == CLEAN
    assert b"password_hash" not in response.content
    assert response.headers["content-length"] == str(len(response.content))
    assert middleware.stripped == 1
    exchange = analysed.get(timeout=10)
    assert exchange.response is not None and exchange.response.body == RAW
    finding = next(f for f in exchange.findings if f.rule_id == RESPONSE_UNDOCUMENTED)
    assert finding.evidence["fields"] == "$.password_hash, $.plan.cost"
    assert finding.evidence["stripped"] == "true"

"""Sample traffic of a small telecom customer API, generated, seeded, never written by hand.

It is the input of `make demo` until the full simulator lands: documented v2 endpoints, a deprecated
v1 still answering, an undocumented internal test endpoint serving customer data without
authentication, a partner API on API keys, and clients behind a load balancer and carrier-grade NAT.
All people in it are invented; phone numbers are in the fictional 555-01xx ranges.
"""

from __future__ import annotations

import datetime as dt
import gzip
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import IO, Any, cast

import jwt
import orjson

from apishield.exchange import Exchange, Request, Response
from apishield.ingest.jsonl import exchange_to_jsonl

FORMATS = ("jsonl", "nginx-json")
HOST = "api.telco.example"
LOAD_BALANCER = "10.0.0.5"
START = 1_767_225_600.0  # 2026-01-01T00:00:00Z
_FIRST = ("Ada", "Grace", "Alan", "Linus", "Barbara", "Ken", "Radia", "Dennis", "Frances", "Tim")
_LAST = ("Lovelace", "Hopper", "Turing", "Torvalds", "Liskov", "Thompson", "Perlman", "Ritchie")
_STREETS = ("Main St", "Oak Ave", "Harbour Rd", "Station Rd", "Elm St", "Mill Lane")
_CITIES = ("Springfield", "Riverton", "Lakeside", "Fairview", "Georgetown")
_AREAS = ("202", "212", "312", "415", "617", "713", "305", "206")


@dataclass(slots=True)
class Subscriber:
    customer_id: int
    account: str
    first: str
    last: str
    msisdn: str
    imsi: str
    iccid: str
    dob: str
    street: str
    city: str
    token: str


def write_sample(out: Path, *, fmt: str = "jsonl", seed: int = 7, requests: int = 20_000) -> Path:
    """Write the traffic to `out` and the documented spec beside it; returns the spec's path."""
    rng = random.Random(seed)
    jwt_key = rng.randbytes(32)
    subscribers = [_subscriber(rng, i, jwt_key) for i in range(400)]
    writer = _nginx_line if fmt == "nginx-json" else exchange_to_jsonl
    with _open(out) as handle:
        for index, exchange in enumerate(_traffic(rng, subscribers, requests)):
            handle.write(writer(exchange))
            if index in (977, 10_042):
                handle.write(b'{"time_iso8601": "2026-01-01T00:1\n')  # a torn write, as logs have
    spec_path = out.parent / "telco-openapi.yaml"
    spec_path.write_bytes(
        resources.files("apishield.sim").joinpath("data/telco-openapi.yaml").read_bytes()
    )
    return spec_path


@contextmanager
def _open(path: Path) -> Iterator[IO[bytes]]:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".gz":
        # mtime=0: the same seed gives the same bytes, so a sample can be checked by its hash.
        with path.open("wb") as raw, gzip.GzipFile("", "wb", fileobj=raw, mtime=0) as handle:
            yield cast(IO[bytes], handle)
    else:
        with path.open("wb") as handle:
            yield handle


def _subscriber(rng: random.Random, index: int, jwt_key: bytes) -> Subscriber:
    customer_id = 40_200_000 + index * 7 + rng.randrange(7)
    return Subscriber(
        customer_id=customer_id,
        account=f"{rng.randrange(10**9, 10**10)}",
        first=rng.choice(_FIRST),
        last=rng.choice(_LAST),
        msisdn=f"+1{rng.choice(_AREAS)}55501{rng.randrange(100):02d}",
        imsi=f"310260{rng.randrange(10**9):09d}",
        iccid=_luhn_complete(f"8901260{rng.randrange(10**11):011d}"),
        dob=f"{rng.randrange(1950, 2004)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}",
        street=f"{rng.randrange(1, 400)} {rng.choice(_STREETS)}",
        city=rng.choice(_CITIES),
        token=_jwt(str(customer_id), jwt_key),
    )


def _traffic(rng: random.Random, subscribers: list[Subscriber], count: int) -> Iterator[Exchange]:
    partners = [f"pk_live_{rng.randbytes(12).hex()}" for _ in range(3)]
    kinds: list[tuple[float, Callable[[random.Random, Subscriber], Exchange]]] = [
        (0.30, _customer),
        (0.20, _lines),
        (0.15, _bills),
        (0.08, _login),
        (0.06, _plans),
        (0.05, _health),
        (0.04, _porting_status),
        (0.03, _legacy_customer),
        (0.02, _internal_test),
        (0.02, _password_reset),
    ]
    weights = [w for w, _ in kinds]
    step = 86_400 / count
    for index in range(count):
        subscriber = rng.choice(subscribers)
        if rng.random() < 0.05:
            exchange = _partner(rng, subscriber, rng.choice(partners))
        else:
            exchange = rng.choices(kinds, weights)[0][1](rng, subscriber)
        exchange.started = START + index * step + rng.random() * step
        exchange.duration = round(rng.lognormvariate(-3.5, 0.6), 4)
        yield exchange


def _exchange(
    rng: random.Random,
    method: str,
    path: str,
    status: int,
    body: Any,
    *,
    auth: str | None = None,
    headers: dict[str, str] | None = None,
    request_body: Any = None,
) -> Exchange:
    request_headers = {
        "host": HOST,
        "user-agent": rng.choice(
            ("TelcoApp/5.2 (iOS 18.1)", "TelcoApp/5.1 (Android 15)", "okhttp/4.12")
        ),
        "x-forwarded-for": _cgnat_address(rng),
        **(headers or {}),
    }
    if auth:
        request_headers["authorization"] = auth
    raw = None if request_body is None else orjson.dumps(request_body)
    if raw is not None:
        request_headers["content-type"] = "application/json"
    payload = orjson.dumps(body)
    return Exchange(
        request=Request(
            method, path, headers=request_headers, body=raw, host=HOST, peer_ip=LOAD_BALANCER
        ),
        response=Response(status, {"content-type": "application/json"}, payload, len(payload)),
        started=START,
    )


def _cgnat_address(rng: random.Random) -> str:
    """Mobile clients arrive from carrier-grade NAT space, 100.64.0.0/10."""
    return f"100.{rng.randrange(64, 128)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"


def _person(s: Subscriber) -> dict[str, Any]:
    return {
        "customer_id": s.customer_id,
        "first_name": s.first,
        "last_name": s.last,
        "email": f"{s.first}.{s.last}{s.customer_id % 997}@mail.example".lower(),
        "phone": s.msisdn,
        "date_of_birth": s.dob,
        "address": {
            "street": s.street,
            "city": s.city,
            "postcode": f"{s.customer_id % 90000 + 10000}",
        },
    }


def _customer(rng: random.Random, s: Subscriber) -> Exchange:
    return _exchange(
        rng, "GET", f"/v2/customers/{s.customer_id}", 200, _person(s), auth=f"Bearer {s.token}"
    )


def _legacy_customer(rng: random.Random, s: Subscriber) -> Exchange:
    return _exchange(
        rng, "GET", f"/v1/customers/{s.customer_id}", 200, _person(s), auth=f"Bearer {s.token}"
    )


def _lines(rng: random.Random, s: Subscriber) -> Exchange:
    line = {"msisdn": s.msisdn, "imsi": s.imsi, "iccid": s.iccid, "plan": "unlimited-5g"}
    return _exchange(
        rng,
        "GET",
        f"/v2/customers/{s.customer_id}/lines",
        200,
        {"lines": [line]},
        auth=f"Bearer {s.token}",
    )


def _bills(rng: random.Random, s: Subscriber) -> Exchange:
    bills = [
        {"bill_id": 9000 + m, "account_number": s.account, "amount": round(rng.uniform(20, 90), 2)}
        for m in range(3)
    ]
    return _exchange(
        rng,
        "GET",
        f"/v2/accounts/{s.account}/bills",
        200,
        {"bills": bills},
        auth=f"Bearer {s.token}",
    )


def _login(rng: random.Random, s: Subscriber) -> Exchange:
    ok = rng.random() < 0.93
    body = {"access_token": s.token, "expires_in": 3600} if ok else {"error": "invalid_credentials"}
    return _exchange(
        rng,
        "POST",
        "/v2/auth/login",
        200 if ok else 401,
        body,
        request_body={"username": s.msisdn, "password": "********"},
    )


def _password_reset(rng: random.Random, s: Subscriber) -> Exchange:
    return _exchange(
        rng,
        "POST",
        "/v2/password-reset",
        202,
        {"status": "sent"},
        request_body={"msisdn": s.msisdn},
    )


def _plans(rng: random.Random, s: Subscriber) -> Exchange:
    plans = [
        {"id": "unlimited-5g", "name": "Unlimited 5G", "price": 65},
        {"id": "basic", "name": "Basic", "price": 25},
    ]
    return _exchange(rng, "GET", "/v2/plans", 200, {"plans": plans})


def _health(rng: random.Random, s: Subscriber) -> Exchange:
    return _exchange(
        rng, "GET", "/health", 200, {"status": "ok"}, headers={"user-agent": "kube-probe/1.31"}
    )


def _porting_status(rng: random.Random, s: Subscriber) -> Exchange:
    return _exchange(
        rng,
        "GET",
        f"/v2/numbers/{s.msisdn}/porting",
        200,
        {"portable": True},
        auth=f"Bearer {s.token}",
    )


def _internal_test(rng: random.Random, s: Subscriber) -> Exchange:
    """The forgotten test endpoint: no credentials, live customer data, fifty at a time."""
    people = [_person(s) for _ in range(50)]
    return _exchange(rng, "GET", "/internal/test/customers", 200, {"customers": people})


def _partner(rng: random.Random, s: Subscriber, key: str) -> Exchange:
    body = {"msisdn": s.msisdn, "status": "active", "first_name": s.first, "last_name": s.last}
    exchange = _exchange(
        rng, "GET", f"/partner/v1/subscribers/{s.msisdn}", 200, body, headers={"x-api-key": key}
    )
    exchange.request.headers["user-agent"] = "PartnerSync/2.0"
    return exchange


def _nginx_line(exchange: Exchange) -> bytes:
    """The record nginx writes with a JSON log_format: no bodies, so no data classes either."""
    request, response = exchange.request, exchange.response
    assert response is not None  # every generated exchange has one
    record = {
        "time_iso8601": _iso(exchange.started),
        "remote_addr": request.peer_ip,
        "http_x_forwarded_for": request.headers.get("x-forwarded-for", ""),
        "request_method": request.method,
        "request_uri": request.path,
        "status": response.status,
        "body_bytes_sent": response.body_size,
        "request_time": exchange.duration,
        "http_user_agent": request.headers.get("user-agent", ""),
        "http_authorization": request.headers.get("authorization", ""),
        "http_x_api_key": request.headers.get("x-api-key", ""),
        "host": request.host,
    }
    return orjson.dumps(record) + b"\n"


def _iso(epoch: float) -> str:
    return (
        dt.datetime.fromtimestamp(epoch, dt.UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


def _jwt(subject: str, key: bytes) -> str:
    claims = {"sub": subject, "iat": int(START), "exp": int(START) + 30 * 86_400}
    return jwt.encode(claims, key, algorithm="HS256")


def _luhn_complete(digits: str) -> str:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return digits + str((10 - total % 10) % 10)

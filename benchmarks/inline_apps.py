"""The apps that benchmarks/inline.py serves, with and without apishield, and their clients.

One FastAPI app and one Flask app, each with the same two routes: GET /customers/{id} answers a
customer record of about 2 KB of JSON (name, email, phone, address, date of birth, lines with
ICCIDs, an IBAN: what the response phase looks for), and GET /hello answers the hello-world
body. GET /bench/stats answers the guard's counters ({} without a guard), so the benchmark can
read the worker's backlog and drops from outside. The clients are `KEYS` API keys, each reading
its own `PER_KEY` customers: benign traffic, so that every request passes. Run as a script, this
module serves one app:

    python benchmarks/inline_apps.py --app fastapi|flask [--shielded] --port 8000
        [--switch-interval MS]

FastAPI runs under uvicorn with one worker and no access log; Flask under waitress with its
default four threads. The guard uses the default configuration (every check and detector on,
enforce mode) and is built before the server listens, so its signature databases are ready
before the first request (compiled, or read from apishield's on-disk cache).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
from collections.abc import Iterator
from typing import Any

from apishield.config import Config
from apishield.inline import ApishieldMiddleware, ApishieldWSGIMiddleware, Guard
from apishield.privacy import Hasher
from apishield.startup import install_compiled_cache

FIRST = ("Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken")
LAST = ("Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson")
CITIES = (("Leeds", "LS1 4DY"), ("Bristol", "BS1 5TR"), ("York", "YO1 7HH"), ("Bath", "BA1 1LT"))
SIZE = 2_048
KEYS, PER_KEY, BASE = 200, 4, 40_213_377
"""The benchmark's clients: KEYS API keys, each reading its own PER_KEY customers."""
USER_AGENT = "partner-sync/2.4"
NOTES = (
    "Asked about roaming bundles before a trip; bundle added for 30 days. "
    "Disputed a data overage on the May bill, credited once as goodwill. "
    "Prefers contact by email, never by phone after 6 pm. "
    "Second line is used by a family member on the same account. "
)


def customer(customer_id: int) -> dict[str, Any]:
    """A telecom customer record; the same shape and about the same size for every id."""
    n = customer_id % 8
    first, last = FIRST[n], LAST[(customer_id // 8) % 8]
    city, postcode = CITIES[customer_id % 4]
    record: dict[str, Any] = {
        "id": customer_id,
        "type": "customer",
        "status": "active",
        "name": f"{first} {last}",
        "first_name": first,
        "last_name": last,
        "email": f"{first.lower()}.{last.lower()}{customer_id % 997}@example.org",
        "phone": f"+44 7700 900{customer_id % 1000:03d}",
        "date_of_birth": f"19{60 + customer_id % 40}-0{1 + customer_id % 9}-1{customer_id % 10}",
        "address": {
            "line1": f"{1 + customer_id % 180} Station Road",
            "line2": "",
            "city": city,
            "postcode": postcode,
            "country": "GB",
        },
        "plan": {"code": "UNL-5G-24", "name": "Unlimited 5G", "monthly_fee": 32.5},
        "billing": {
            "iban": "GB82WEST12345698765432",
            "day_of_month": 1 + customer_id % 28,
            "paperless": True,
            "balance": -12.4,
            "currency": "GBP",
        },
        "lines": [
            {
                "msisdn": f"+44 7700 900{(customer_id + line) % 1000:03d}",
                "iccid": "8944110068256270054",
                "status": "active",
                "roaming": line == 0,
                "data_used_mb": 1_024 + line * 77,
            }
            for line in range(3)
        ],
        "devices": [
            {"imei": "356938035643809", "model": "Pixel 8", "first_seen": "2024-02-01"},
            {"imei": "490154203237518", "model": "iPad Air", "first_seen": "2025-06-19"},
        ],
        "recent_activity": [
            {"at": f"2026-01-0{day}T08:1{day}:00Z", "channel": channel, "kind": kind}
            for day, (channel, kind) in enumerate(
                (("app", "login"), ("web", "bill_viewed"), ("store", "sim_swap_check")), 1
            )
        ],
        "previous_addresses": [
            {"line1": f"{4 + n} Mill Lane", "city": "Derby", "postcode": "DE1 1AA", "to": "2021"},
            {
                "line1": f"{12 + n} Queen Street",
                "city": "Hull",
                "postcode": "HU1 3DX",
                "to": "2017",
            },
        ],
        "segments": ["family", "streaming", "eu-roamer", "autopay", "tenure-5y"],
        "consents": {"marketing_email": False, "marketing_sms": False, "analytics": True},
        "created_at": "2019-04-11T09:12:44Z",
        "updated_at": "2026-01-05T17:03:10Z",
    }
    filler = SIZE - len(dumps(record)) - len(',"notes":""')
    record["notes"] = (NOTES * 4)[: max(filler, 0)]
    return record


def api_key(k: int) -> str:
    return f"sk_live_{k:08d}Qm4Zr7Tf2Wx9"


def traffic(count: int, route: str, seed: int = 7) -> Iterator[tuple[str, str]]:
    """(path, API key) pairs like the ones the wrk script sends."""
    rng = random.Random(seed)
    for _ in range(count):
        k = rng.randint(1, KEYS)
        path = f"/customers/{BASE + k * 16 + rng.randint(0, PER_KEY - 1)}"
        yield (path if route == "customer" else "/hello"), api_key(k)


def dumps(value: object) -> bytes:
    """JSON the way FastAPI's JSONResponse and Flask's jsonify write it (compact)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def make_guard() -> Guard:
    """The default configuration: every check and detector on, enforce mode. Compiled
    signature databases are kept on disk, as an app would at start-up, so only the first
    start compiles them. APISHIELD_BENCH_CONFIG, a JSON object, adds sections (inline.py's
    stream variant sets `analysis` and `state` with it)."""
    install_compiled_cache()
    extra = json.loads(os.environ.get("APISHIELD_BENCH_CONFIG", "{}"))
    config = Config.model_validate(
        {"data_dir": tempfile.mkdtemp(prefix="apishield-bench-"), **extra}
    )
    return Guard.from_config(config, Hasher(os.urandom(32)))


def fastapi_app(guard: Guard | None) -> Any:
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/customers/{customer_id}")
    async def get_customer(customer_id: int) -> dict[str, Any]:
        return customer(customer_id)

    @app.get("/hello")
    async def hello() -> dict[str, str]:
        return {"message": "Hello World"}

    @app.get("/bench/stats")
    async def stats() -> dict[str, object]:
        return guard.stats() if guard is not None else {}

    if guard is not None:
        app.add_middleware(ApishieldMiddleware, guard=guard)
    return app


def flask_app(guard: Guard | None) -> Any:
    from flask import Flask

    app = Flask("inline-bench")

    @app.get("/customers/<int:customer_id>")
    def get_customer(customer_id: int) -> dict[str, Any]:
        return customer(customer_id)

    @app.get("/hello")
    def hello() -> dict[str, str]:
        return {"message": "Hello World"}

    @app.get("/bench/stats")
    def stats() -> dict[str, object]:
        return guard.stats() if guard is not None else {}

    if guard is not None:
        app.wsgi_app = ApishieldWSGIMiddleware(app.wsgi_app, guard)  # type: ignore[method-assign]
    return app


def serve(app_name: str, shielded: bool, port: int) -> None:
    guard = make_guard() if shielded else None
    if app_name == "fastapi":
        import uvicorn

        uvicorn.run(
            fastapi_app(guard),
            host="127.0.0.1",
            port=port,
            workers=1,
            log_level="warning",
            access_log=False,
        )
    else:
        import waitress  # type: ignore[import-untyped]

        waitress.serve(flask_app(guard), host="127.0.0.1", port=port, _quiet=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--app", choices=("fastapi", "flask"), required=True)
    parser.add_argument("--shielded", action="store_true", help="Put apishield in front.")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument(
        "--switch-interval", type=float, help="sys.setswitchinterval, in ms (Python's is 5)."
    )
    args = parser.parse_args()
    if args.switch_interval:
        sys.setswitchinterval(args.switch_interval / 1000)
    serve(args.app, args.shielded, args.port)


if __name__ == "__main__":
    main()

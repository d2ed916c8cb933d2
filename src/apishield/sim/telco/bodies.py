"""Response bodies of the demo API, rendered once per object and kept as bytes.

A simulated week answers about a million requests, most of them about a few thousand customers;
rendering each answer once and serving the bytes again is what keeps the simulator fast.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from typing import Any

import orjson

from apishield.sim.telco.population import Customer, Line

CARRIER = "Telco Demo"
PLANS = orjson.dumps(
    {
        "plans": [
            {"id": "unlimited-plus", "name": "Unlimited Plus", "monthly_price": 85.0},
            {"id": "unlimited", "name": "Unlimited", "monthly_price": 65.0},
            {"id": "essentials", "name": "Essentials", "monthly_price": 45.0},
            {"id": "prepaid-30", "name": "Prepaid 30", "monthly_price": 30.0},
            {"id": "business-unlimited", "name": "Business Unlimited", "monthly_price": 40.0},
        ]
    }
)
HEALTH = b'{"status":"ok"}'


def compact(body: bytes) -> bytes:
    """orjson returns small results inside a 4 KiB allocation: a cache of thousands of bodies
    would hold 4 KiB each. A copy is exactly as long as the body."""
    return bytes(memoryview(body))


def error(code: str) -> bytes:
    return orjson.dumps({"error": code})


def address(c: Customer) -> dict[str, str]:
    return {"street": c.street, "city": c.city, "state": c.state, "postcode": c.postcode}


def _digest(*parts: object) -> bytes:
    return hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=8).digest()


class Bodies:
    """Cached renderings; keys are object IDs plus the period the body depends on."""

    def __init__(self) -> None:
        self._cache: dict[tuple[object, ...], bytes] = {}

    def _get(self, key: tuple[object, ...], render: Callable[[], Any]) -> bytes:
        body = self._cache.get(key)
        if body is None:
            body = self._cache[key] = compact(orjson.dumps(render()))
        return body

    def profile(self, c: Customer) -> bytes:
        return self._get(("profile", c.customer_id), lambda: _profile(c))

    def lines(self, c: Customer) -> bytes:
        return self._get(("lines", c.customer_id), lambda: _lines(c))

    def line(self, c: Customer, line: Line, day: dt.date) -> bytes:
        return self._get(("line", line.msisdn, day), lambda: _line_detail(line, day))

    def bills(self, c: Customer, day: dt.date) -> bytes:
        month = (day.year, day.month)
        return self._get(("bills", c.account_number, month), lambda: _bills(c, day))

    def partner(self, c: Customer, line: Line) -> bytes:
        return self._get(("partner", line.msisdn), lambda: _partner(c, line))

    def lookup(self, c: Customer, line: Line) -> bytes:
        return self._get(("lookup", line.msisdn), lambda: _lookup(c, line))

    def legacy(self, c: Customer) -> bytes:
        return self._get(("v1", c.customer_id), lambda: legacy_record(c))


def _profile(c: Customer) -> dict[str, Any]:
    record: dict[str, Any] = {
        "customer_id": c.customer_id,
        "account_number": c.account_number,
        "first_name": c.first_name,
        "last_name": c.last_name,
        "email": c.email,
        "phone": c.lines[0].msisdn,
        "date_of_birth": c.date_of_birth,
        "address": address(c),
        "customer_since": c.since,
        "line_count": len(c.lines),
    }
    if c.company:
        record["company"] = c.company
    return record


def _line_summary(line: Line) -> dict[str, Any]:
    return {
        "msisdn": line.msisdn,
        "imsi": line.imsi,
        "iccid": line.iccid,
        "plan": line.plan,
        "device": line.device,
        "status": "active",
    }


def _lines(c: Customer) -> dict[str, Any]:
    return {"customer_id": c.customer_id, "lines": [_line_summary(line) for line in c.lines]}


def _line_detail(line: Line, day: dt.date) -> dict[str, Any]:
    seed = _digest(line.msisdn, day)
    usage = {
        "period": f"{day.year}-{day.month:02d}",
        "data_gb": round(seed[0] / 255 * day.day * 1.4, 2),
        "minutes": seed[1] * day.day // 8,
        "messages": seed[2] * day.day // 4,
    }
    return {**_line_summary(line), "activated": line.activated, "usage": usage}


def _bills(c: Customer, day: dt.date) -> dict[str, Any]:
    bills = []
    year, month = day.year, day.month
    for age in range(3):
        y, m = (year, month - age) if month > age else (year - 1, month - age + 12)
        seed = _digest(c.account_number, y, m)
        base = 40.0 * len(c.lines) if c.company else 25.0 + 20 * len(c.lines)
        bills.append(
            {
                "bill_id": f"B{c.account_number[-6:]}{y % 100:02d}{m:02d}",
                "period": f"{y}-{m:02d}",
                "amount_due": round(base + seed[0] / 10, 2),
                "currency": "USD",
                "due_date": f"{y}-{m:02d}-21",
                "status": "due" if age == 0 else "paid",
            }
        )
    return {
        "account_number": c.account_number,
        "account_holder": c.company or f"{c.first_name} {c.last_name}",
        "address": address(c),
        "bills": bills,
    }


def _partner(c: Customer, line: Line) -> dict[str, Any]:
    return {
        "msisdn": line.msisdn,
        "status": "active",
        "first_name": c.first_name,
        "last_name": c.last_name,
        "email": c.email,
        "date_of_birth": c.date_of_birth,
        "address": address(c),
        "account_number": c.account_number,
        "plan": line.plan,
    }


def _lookup(c: Customer, line: Line) -> dict[str, Any]:
    return {
        "msisdn": line.msisdn,
        "carrier": CARRIER,
        "portable": not c.company,
        "line_type": "mobile",
        "first_name_initial": f"{c.first_name[0]}.",
    }


def legacy_record(c: Customer) -> dict[str, Any]:
    """The v1 shape: flat, and with everything the v2 profile split into parts."""
    return {
        "id": c.customer_id,
        "name": f"{c.first_name} {c.last_name}",
        "email": c.email,
        "msisdn": c.lines[0].msisdn,
        "dob": c.date_of_birth,
        "address": f"{c.street}, {c.city}, {c.state} {c.postcode}",
        "account": c.account_number,
    }


def fixture_record(c: Customer) -> dict[str, Any]:
    """A row as the internal test fixture endpoint dumps it, hash included."""
    return {
        "id": c.customer_id,
        "first_name": c.first_name,
        "last_name": c.last_name,
        "email": c.email,
        "phone": c.lines[0].msisdn,
        "dob": c.date_of_birth,
        "address": address(c),
        "account_number": c.account_number,
        "password_hash": c.password_hash,
    }

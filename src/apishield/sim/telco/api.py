"""The demo telco API: one deterministic handler, `TelcoApi.handle(request, now)`.

It answers like the customer API of a mobile operator, with the flaws of the 2023 breaches built
in on purpose: bills of any account to any logged-in user (BOLA), password resets confirmed
without the code (Honda), a deprecated v1 that skips the ownership check, an internal test
endpoint that dumps live customers, and a partner API that returns whole identities per number.

The handler is the same for simulated traffic and for the Starlette app; it keeps the little
state an API has (changed passwords, reset codes sent), so its answers depend only on the
population and the order of the requests it was given.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Sequence
from typing import Any
from urllib.parse import unquote

import orjson

from apishield.exchange import Request, Response
from apishield.sim.telco import bodies
from apishield.sim.telco.accounts import Accounts
from apishield.sim.telco.bodies import Bodies
from apishield.sim.telco.numbering import is_luhn
from apishield.sim.telco.population import Customer, Population
from apishield.sim.telco.tokens import TokenIssuer

TOKEN_LIFETIME = 86_400
MAX_PAGE = 500
_JSON = "application/json"
_NOT_FOUND = bodies.error("not_found")
_UNAUTHORIZED = bodies.error("unauthorized")
_FORBIDDEN = bodies.error("forbidden")
_UNAVAILABLE = bodies.error("service_unavailable")

Answer = tuple[int, bytes, float]
"""Status, body and the typical service time in seconds."""


class TelcoApi:
    """The handler and the state behind it. `incidents` are (start, end) epoch windows during
    which the backend is down and everything but the health check answers 503."""

    def __init__(self, population: Population, incidents: Sequence[tuple[float, float]] = ()):
        self.population = population
        self.tokens = TokenIssuer(population.jwt_key)
        self.accounts = Accounts(population, self.tokens, TOKEN_LIFETIME)
        self.bodies = Bodies()
        self._incidents = sorted(incidents)
        self._starts = [start for start, _ in self._incidents]
        self._keys = {p.api_key: p.name for p in population.partners}
        self._iccids = {line.iccid for c in population.customers for line in c.lines}
        self._day: tuple[int, dt.date] = (-1, dt.date(1970, 1, 1))
        self._pages: dict[tuple[int, int], bytes] = {}

    @property
    def incidents(self) -> list[tuple[float, float]]:
        return list(self._incidents)

    def handle(self, request: Request, now: float) -> Response:
        return self.dispatch(request, now)[0]

    def dispatch(self, request: Request, now: float) -> tuple[Response, float]:
        """The response and the time a real backend would typically take to produce it."""
        status, body, service_time = self._answer(request, now)
        headers = {"content-type": _JSON}
        if status == 503:
            headers["retry-after"] = "2"
        elif status == 401:
            headers["www-authenticate"] = 'Bearer realm="telco"'
        return Response(status, headers, body, len(body)), service_time

    def in_incident(self, now: float) -> bool:
        index = bisect.bisect_right(self._starts, now) - 1
        return index >= 0 and now < self._incidents[index][1]

    def _answer(self, request: Request, now: float) -> Answer:
        segments = request.path.split("/")[1:]
        if "%" in request.path:
            segments = [unquote(s) for s in segments]
        if segments == ["health"]:
            return 200, bodies.HEALTH, 0.002
        if self._incidents and self.in_incident(now):
            return 503, _UNAVAILABLE, 0.001
        return self._route(request, segments, now)

    def _route(self, request: Request, segments: list[str], now: float) -> Answer:
        method = request.method
        match segments:
            case ["v2", "plans"] if method == "GET":
                return 200, bodies.PLANS, 0.008
            case ["v2", "auth", *rest] if method == "POST":
                return self._auth(rest, request.body, now)
            case ["v2", "customers", customer_id, *rest] if method == "GET" and len(rest) <= 2:
                return self._customer(request, customer_id, rest, now)
            case ["v2", "accounts", account, "bills"] if method == "GET":
                return self._bills(request, account, now)
            case ["v2", "numbers", msisdn, "lookup"] if method == "GET":
                return self._lookup(msisdn)
            case ["v2", "sims", iccid, "swap"] if method == "POST":
                return self._swap(request, iccid, now)
            case ["partner", "v1", "subscribers", msisdn] if method == "GET":
                return self._partner(request, msisdn)
            case ["v1", "customers", customer_id] if method == "GET":
                return self._legacy(request, customer_id, now)
            case ["internal", "test", "customers"] if method == "GET":
                return self._test_customers(request.query)
        return 404, _NOT_FOUND, 0.003

    # -- authentication ------------------------------------------------------------------

    def _auth(self, rest: list[str], body: bytes | None, now: float) -> Answer:
        fields = _json_object(body)
        if fields is None:
            return 400, bodies.error("invalid_json"), 0.002
        if rest == ["login"]:
            return self.accounts.login(fields, now)
        if rest == ["password-reset"]:
            return self.accounts.request_reset(fields, now)
        if rest == ["password-reset", "confirm"]:
            return self.accounts.confirm_reset(fields)
        return 404, _NOT_FOUND, 0.003

    def _subject(self, request: Request, now: float) -> str | None:
        authorization = request.headers.get("authorization", "")
        if not authorization.startswith(("Bearer ", "bearer ")):
            return None
        return self.tokens.subject(authorization[7:].strip(), now)

    # -- customers and their lines --------------------------------------------------------

    def _customer(self, request: Request, raw_id: str, rest: list[str], now: float) -> Answer:
        subject = self._subject(request, now)
        if subject is None:
            return 401, _UNAUTHORIZED, 0.002
        customer = self._by_id(raw_id)
        if customer is None:
            return 404, _NOT_FOUND, 0.012
        if subject != raw_id:
            return 403, _FORBIDDEN, 0.010
        if not rest:
            return 200, self.bodies.profile(customer), 0.035
        if rest == ["lines"]:
            return 200, self.bodies.lines(customer), 0.030 + 0.002 * len(customer.lines)
        if rest[0] == "lines" and len(rest) == 2:
            found = self.population.by_msisdn.get(_e164(rest[1]))
            if found is not None and found[0] is customer:
                return 200, self.bodies.line(customer, found[1], self._date(now)), 0.045
        return 404, _NOT_FOUND, 0.004

    def _bills(self, request: Request, account: str, now: float) -> Answer:
        """THE FLAW (BOLA): any valid token reads any account's bills."""
        if self._subject(request, now) is None:
            return 401, _UNAUTHORIZED, 0.002
        customer = self.population.by_account.get(account)
        if customer is None:
            return 404, _NOT_FOUND, 0.015
        return 200, self.bodies.bills(customer, self._date(now)), 0.060

    def _legacy(self, request: Request, raw_id: str, now: float) -> Answer:
        """THE FLAW (zombie): v1 checks the token but not whose customer record it asks for."""
        if self._subject(request, now) is None:
            return 401, _UNAUTHORIZED, 0.002
        customer = self._by_id(raw_id)
        if customer is None:
            return 404, _NOT_FOUND, 0.020
        return 200, self.bodies.legacy(customer), 0.070

    def _by_id(self, raw_id: str) -> Customer | None:
        if not raw_id.isdigit() or len(raw_id) > 12:
            return None
        return self.population.by_id.get(int(raw_id))

    # -- numbers and SIMs -----------------------------------------------------------------

    def _lookup(self, msisdn: str) -> Answer:
        found = self.population.by_msisdn.get(_e164(msisdn))
        if found is None:
            return 404, bodies.error("not_a_subscriber"), 0.010
        return 200, self.bodies.lookup(*found), 0.012

    def _swap(self, request: Request, iccid: str, now: float) -> Answer:
        subject = self._subject(request, now)
        if subject is None:
            return 401, _UNAUTHORIZED, 0.002
        if len(iccid) not in (19, 20) or not iccid.startswith("89") or not is_luhn(iccid):
            return 400, bodies.error("invalid_iccid"), 0.003
        fields = _json_object(request.body)
        msisdn = fields.get("msisdn") if fields is not None else None
        if type(msisdn) is not str:
            return 400, bodies.error("invalid_request"), 0.003
        found = self.population.by_msisdn.get(_e164(msisdn))
        if found is None:
            return 404, _NOT_FOUND, 0.015
        if str(found[0].customer_id) != subject:
            return 403, _FORBIDDEN, 0.015
        if iccid in self._iccids:
            return 409, bodies.error("sim_in_use"), 0.020
        answer = {"status": "swap_scheduled", "msisdn": found[1].msisdn, "iccid": iccid}
        return 200, orjson.dumps(answer), 0.250

    # -- partners and forgotten endpoints --------------------------------------------------

    def _partner(self, request: Request, msisdn: str) -> Answer:
        if request.headers.get("x-api-key", "") not in self._keys:
            return 401, bodies.error("invalid_api_key"), 0.002
        found = self.population.by_msisdn.get(_e164(msisdn))
        if found is None:
            return 404, bodies.error("not_a_subscriber"), 0.012
        return 200, self.bodies.partner(*found), 0.045

    def _test_customers(self, query: str) -> Answer:
        """THE FLAW (exposed test API): no authentication, live records, hashes included."""
        limit, offset = _page(query)
        if limit is None or offset is None:
            return 400, bodies.error("invalid_paging"), 0.002
        key = (limit, offset)
        body = self._pages.get(key)
        if body is None:
            rows = self.population.customers[offset : offset + limit]
            total = len(self.population.customers)
            page = {"customers": [bodies.fixture_record(c) for c in rows], "total": total}
            body = self._pages[key] = bodies.compact(orjson.dumps(page))
        return 200, body, 0.05 + 0.002 * limit

    def _date(self, now: float) -> dt.date:
        day = int(now // 86_400)
        if self._day[0] != day:
            self._day = (day, dt.date(1970, 1, 1) + dt.timedelta(days=day))
        return self._day[1]


def _json_object(body: bytes | None) -> dict[str, Any] | None:
    try:
        value = orjson.loads(body or b"")
    except orjson.JSONDecodeError:
        return None
    return value if type(value) is dict else None


def _e164(number: str) -> str:
    """Numbers arrive as +1..., 1... or the ten national digits."""
    digits = number.strip().removeprefix("+")
    if len(digits) == 10 and digits.isdigit():
        return f"+1{digits}"
    return f"+{digits}"


def _page(query: str) -> tuple[int | None, int | None]:
    limit: int | None = 20
    offset: int | None = 0
    for pair in query.split("&") if query else ():
        name, _, value = pair.partition("=")
        if name in ("limit", "offset"):
            number = int(value) if value.isdigit() and len(value) < 9 else None
            if name == "limit":
                limit = None if number is None else min(max(number, 1), MAX_PAGE)
            else:
                offset = number
    return limit, offset

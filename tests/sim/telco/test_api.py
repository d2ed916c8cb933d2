"""The demo API's handler: its protections hold and its deliberate flaws answer."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from apishield.exchange import Request, Response
from apishield.sim.telco import numbering
from apishield.sim.telco.api import TelcoApi
from apishield.sim.telco.population import Customer, Population, password_of
from apishield.testing import T0

HOST = "api.telco.example"


def call(
    api: TelcoApi,
    method: str,
    path: str,
    *,
    token: str | None = None,
    body: Any = None,
    query: str = "",
    headers: dict[str, str] | None = None,
    now: float = T0,
) -> Response:
    sent = {"host": HOST, **(headers or {})}
    if token is not None:
        sent["authorization"] = f"Bearer {token}"
    raw = body if isinstance(body, bytes) or body is None else orjson.dumps(body)
    return api.handle(Request(method, path, query, sent, raw, host=HOST), now)


def json(response: Response) -> Any:
    return orjson.loads(response.body or b"")


def login(api: TelcoApi, customer: Customer, password: str | None = None) -> str:
    secret = password or password_of(api.population.seed, customer.customer_id)
    response = call(
        api, "POST", "/v2/auth/login", body={"username": customer.email, "password": secret}
    )
    assert response.status == 200, response.body
    token: str = json(response)["access_token"]
    return token


@pytest.fixture
def api(population: Population) -> TelcoApi:
    return TelcoApi(population)


@pytest.fixture
def alice(population: Population) -> Customer:
    return population.subscribers[0]


@pytest.fixture
def bob(population: Population) -> Customer:
    return population.subscribers[1]


def test_login_accepts_email_or_number_and_refuses_a_wrong_password(
    api: TelcoApi, alice: Customer
) -> None:
    password = password_of(api.population.seed, alice.customer_id)
    national = alice.lines[0].msisdn.removeprefix("+1")
    for username in (
        alice.email.upper(),
        alice.lines[0].msisdn,
        f"({national[:3]}) {national[3:]}",
    ):
        answer = call(
            api, "POST", "/v2/auth/login", body={"username": username, "password": password}
        )
        assert answer.status == 200 and json(answer)["customer_id"] == alice.customer_id
    wrong = call(api, "POST", "/v2/auth/login", body={"username": alice.email, "password": "x"})
    assert wrong.status == 401
    unknown = call(
        api, "POST", "/v2/auth/login", body={"username": "no@example.com", "password": "x"}
    )
    assert unknown.status == 401
    assert call(api, "POST", "/v2/auth/login", body=b'{"username":').status == 400
    assert call(api, "POST", "/v2/auth/login", body={"username": 5}).status == 400


def test_profile_and_lines_are_the_owners_only(
    api: TelcoApi, alice: Customer, bob: Customer
) -> None:
    token = login(api, alice)
    own = call(api, "GET", f"/v2/customers/{alice.customer_id}", token=token)
    assert own.status == 200 and json(own)["email"] == alice.email
    assert call(api, "GET", f"/v2/customers/{bob.customer_id}", token=token).status == 403
    assert call(api, "GET", f"/v2/customers/{bob.customer_id}/lines", token=token).status == 403
    assert call(api, "GET", "/v2/customers/1", token=token).status == 404
    assert call(api, "GET", "/v2/customers/abc", token=token).status == 404
    assert call(api, "GET", f"/v2/customers/{alice.customer_id}").status == 401
    lines = json(call(api, "GET", f"/v2/customers/{alice.customer_id}/lines", token=token))
    assert [line["iccid"] for line in lines["lines"]] == [line.iccid for line in alice.lines]
    msisdn = alice.lines[0].msisdn
    detail = call(api, "GET", f"/v2/customers/{alice.customer_id}/lines/{msisdn}", token=token)
    assert detail.status == 200 and json(detail)["usage"]["period"] == "2023-11"
    foreign = f"/v2/customers/{alice.customer_id}/lines/{bob.lines[0].msisdn}"
    assert call(api, "GET", foreign, token=token).status == 404


def test_bills_of_any_account_to_any_token_bola(
    api: TelcoApi, alice: Customer, bob: Customer
) -> None:
    token = login(api, alice)
    answer = call(api, "GET", f"/v2/accounts/{bob.account_number}/bills", token=token)
    assert answer.status == 200
    bills = json(answer)
    assert bills["account_holder"] == f"{bob.first_name} {bob.last_name}"
    assert bills["address"]["street"] == bob.street and len(bills["bills"]) == 3
    assert call(api, "GET", "/v2/accounts/1/bills", token=token).status == 404
    assert call(api, "GET", f"/v2/accounts/{bob.account_number}/bills").status == 401


def test_reset_is_confirmed_without_the_code_honda(api: TelcoApi, alice: Customer) -> None:
    requested = call(api, "POST", "/v2/auth/password-reset", body={"username": alice.email})
    assert requested.status == 202 and len(api.accounts.outbox[alice.customer_id]) == 6
    unknown = call(api, "POST", "/v2/auth/password-reset", body={"username": "nobody@example.org"})
    assert unknown.status == 202  # the endpoint does not tell who is a customer
    for code in ({}, {"code": "000000"}):
        body = {"username": alice.email, "new_password": "Taken!1", **code}
        assert call(api, "POST", "/v2/auth/password-reset/confirm", body=body).status == 200
    assert login(api, alice, "Taken!1")
    old = password_of(api.population.seed, alice.customer_id)
    again = call(api, "POST", "/v2/auth/login", body={"username": alice.email, "password": old})
    assert again.status == 401
    body = {"username": "nobody@example.org", "new_password": "x"}
    assert call(api, "POST", "/v2/auth/password-reset/confirm", body=body).status == 400


def test_number_lookup_needs_no_token(api: TelcoApi, alice: Customer) -> None:
    msisdn = alice.lines[0].msisdn
    for spelling in (msisdn, msisdn.replace("+", "%2B"), msisdn.removeprefix("+1")):
        answer = call(api, "GET", f"/v2/numbers/{spelling}/lookup")
        assert (
            answer.status == 200 and json(answer)["first_name_initial"] == f"{alice.first_name[0]}."
        )
    spare = next(n for n in api.population.numbers if n not in api.population.by_msisdn)
    assert call(api, "GET", f"/v2/numbers/{spare}/lookup").status == 404


def test_sim_swap_is_the_owners_only(api: TelcoApi, alice: Customer, bob: Customer) -> None:
    token = login(api, alice)
    blank = numbering.iccid(990_000_000_001)
    assert blank not in {line.iccid for c in api.population.customers for line in c.lines}
    own = call(
        api, "POST", f"/v2/sims/{blank}/swap", token=token, body={"msisdn": alice.lines[0].msisdn}
    )
    assert own.status == 200
    theirs = {"msisdn": bob.lines[0].msisdn}
    assert call(api, "POST", f"/v2/sims/{blank}/swap", token=token, body=theirs).status == 403
    in_use = f"/v2/sims/{bob.lines[0].iccid}/swap"
    assert (
        call(api, "POST", in_use, token=token, body={"msisdn": alice.lines[0].msisdn}).status == 409
    )
    assert call(api, "POST", "/v2/sims/1234/swap", token=token, body=theirs).status == 400
    assert call(api, "POST", f"/v2/sims/{blank}/swap", body=theirs).status == 401


def test_partner_api_returns_whole_identities_for_a_key(api: TelcoApi, alice: Customer) -> None:
    key = api.population.partners[0].api_key
    path = f"/partner/v1/subscribers/{alice.lines[0].msisdn}"
    answer = call(api, "GET", path, headers={"x-api-key": key})
    assert answer.status == 200
    record = json(answer)
    assert (record["date_of_birth"], record["account_number"]) == (
        alice.date_of_birth,
        alice.account_number,
    )
    assert call(api, "GET", path, headers={"x-api-key": "tlk_live_forged"}).status == 401
    assert call(api, "GET", path).status == 401
    assert call(
        api, "GET", "/partner/v1/subscribers/+12025550100", headers={"x-api-key": key}
    ).status in (200, 404)


def test_v1_checks_the_token_not_the_owner_zombie(
    api: TelcoApi, alice: Customer, bob: Customer
) -> None:
    token = login(api, alice)
    answer = call(api, "GET", f"/v1/customers/{bob.customer_id}", token=token)
    assert answer.status == 200 and json(answer)["email"] == bob.email
    assert call(api, "GET", f"/v1/customers/{bob.customer_id}").status == 401
    assert call(api, "GET", "/v1/customers/7", token=token).status == 404


def test_internal_test_endpoint_dumps_customers_without_credentials(api: TelcoApi) -> None:
    page = json(call(api, "GET", "/internal/test/customers", query="limit=3&offset=2"))
    assert [row["id"] for row in page["customers"]] == [
        c.customer_id for c in api.population.customers[2:5]
    ]
    assert page["total"] == len(api.population.customers)
    assert all("$" in row["password_hash"] for row in page["customers"])
    capped = json(call(api, "GET", "/internal/test/customers", query="limit=100000"))
    assert len(capped["customers"]) == min(500, len(api.population.customers))
    assert call(api, "GET", "/internal/test/customers", query="limit=ten").status == 400


def test_unknown_paths_and_methods_are_404_and_incidents_503(population: Population) -> None:
    api = TelcoApi(population, incidents=[(T0 + 100, T0 + 200)])
    assert call(api, "GET", "/admin").status == 404
    assert call(api, "DELETE", "/v2/plans").status == 404
    assert call(api, "GET", "/v2/plans/").status == 404
    assert call(api, "GET", "/v2/plans").status == 200
    down = call(api, "GET", "/v2/plans", now=T0 + 150)
    assert down.status == 503 and down.headers["retry-after"] == "2"
    assert call(api, "GET", "/health", now=T0 + 150).status == 200
    assert call(api, "GET", "/v2/plans", now=T0 + 200).status == 200


def test_tokens_expire_and_forgeries_are_refused(api: TelcoApi, alice: Customer) -> None:
    token = login(api, alice)
    path = f"/v2/customers/{alice.customer_id}"
    assert call(api, "GET", path, token=token, now=T0 + 86_399).status == 200
    assert call(api, "GET", path, token=token, now=T0 + 86_400).status == 401
    header, claims, signature = token.split(".")
    assert call(api, "GET", path, token=f"{header}.{claims}.{signature[::-1]}").status == 401
    unsigned = "eyJhbGciOiJub25lIn0." + claims + "."
    assert call(api, "GET", path, token=unsigned).status == 401

"""Usernames in every usual spelling, and reset codes sent to the right person."""

from __future__ import annotations

from apishield.sim.telco.accounts import Accounts
from apishield.sim.telco.population import Population
from apishield.sim.telco.tokens import TokenIssuer
from apishield.testing import T0


def test_usernames_match_in_any_spelling(population: Population) -> None:
    accounts = Accounts(population, TokenIssuer(population.jwt_key), 3600)
    customer = population.subscribers[5]
    digits = customer.lines[0].msisdn.removeprefix("+1")
    spellings = (
        customer.email,
        f"  {customer.email.upper()} ",
        customer.lines[0].msisdn,
        f"1-{digits[:3]}-{digits[3:6]}-{digits[6:]}",
        digits,
    )
    assert all(accounts.customer(name) is customer for name in spellings)
    assert accounts.customer("someone@example.com") is None
    assert accounts.customer("+12025550000") is None


def test_codes_differ_per_request_and_go_to_the_outbox(population: Population) -> None:
    accounts = Accounts(population, TokenIssuer(population.jwt_key), 3600)
    customer = population.subscribers[0]
    assert accounts.request_reset({"username": customer.email}, T0)[0] == 202
    first = accounts.outbox[customer.customer_id]
    accounts.request_reset({"username": customer.email}, T0 + 60)
    assert accounts.outbox[customer.customer_id] != first
    assert accounts.request_reset({"user": customer.email}, T0)[0] == 400
    assert accounts.confirm_reset({"username": customer.email, "new_password": "n3w!"})[0] == 200
    assert customer.customer_id not in accounts.outbox

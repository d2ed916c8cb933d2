"""The seeded population: stable, realistic in shape, and free of passwords."""

from __future__ import annotations

import itertools

import pytest

from apishield.sim.telco.population import (
    RESERVED,
    Population,
    build_population,
    hash_password,
    password_of,
)


def test_same_seed_same_people(population: Population) -> None:
    again = build_population(3, 400)
    assert again.customers == population.customers and again.jwt_key == population.jwt_key
    other = build_population(4, 400)
    assert other.customers[0].email != population.customers[0].email


def test_ids_and_accounts_are_handed_out_in_order_with_gaps(population: Population) -> None:
    ids = [c.customer_id for c in population.customers]
    accounts = [int(c.account_number) for c in population.customers]
    assert ids == sorted(ids) and accounts == sorted(accounts)
    gaps = sum(1 for a, b in itertools.pairwise(ids) if b - a > 1)
    assert 0.05 < gaps / len(ids) < 0.3
    assert len(population.customers) == 400 + RESERVED and len(population.mules) == RESERVED
    assert all(c not in population.subscribers for c in population.mules)


def test_identifiers_are_unique(population: Population) -> None:
    customers = population.customers
    assert len({c.email for c in customers}) == len(customers)
    lines = [line for c in customers for line in c.lines]
    assert len({line.msisdn for line in lines}) == len(lines) == len(population.by_msisdn)
    assert len({line.iccid for line in lines}) == len(lines)


def test_business_customers_have_many_lines() -> None:
    people = build_population(11, 3000)
    businesses = [c for c in people.customers if c.company]
    assert businesses and all(20 <= len(c.lines) <= 60 for c in businesses)
    assert all(len(c.lines) <= 4 for c in people.customers if not c.company)


def test_only_password_hashes_are_kept(population: Population) -> None:
    customer = population.customers[0]
    password = password_of(population.seed, customer.customer_id)
    salt, _, digest = customer.password_hash.partition("$")
    assert password not in customer.password_hash and len(digest) == 64
    assert hash_password(salt, password) == customer.password_hash


def test_too_many_subscribers_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="use at most 12,458 subscribers"):
        build_population(1, 30_000)
    with pytest.raises(ValueError, match="1 or more"):
        build_population(1, 0)

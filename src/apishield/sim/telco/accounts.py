"""Logins and password resets of the demo API, and the state they change.

THE FLAW (Honda, 2023): `confirm_reset` sets the new password without looking at the code, so
anyone who knows a username can take the account. Codes are still generated and "sent" (kept in
`outbox`, which stands for the SMS or e-mail), so careful users follow the flow properly.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from apishield.sim.telco import bodies
from apishield.sim.telco.population import Customer, Population, hash_password
from apishield.sim.telco.tokens import TokenIssuer

_INVALID_REQUEST = bodies.error("invalid_request")
_BAD_CREDENTIALS = bodies.error("invalid_credentials")
_SENT = orjson.dumps({"status": "code_sent", "expires_in": 900})
_CHANGED = orjson.dumps({"status": "password_changed"})

Answer = tuple[int, bytes, float]


class Accounts:
    def __init__(self, population: Population, tokens: TokenIssuer, lifetime: int) -> None:
        self._population = population
        self._tokens = tokens
        self._lifetime = lifetime
        self._hashes: dict[int, str] = {}
        """Passwords changed since the population was built: customer ID -> hash."""
        self.outbox: dict[int, str] = {}
        """The last reset code sent to each customer."""

    def customer(self, username: str) -> Customer | None:
        """Usernames are an e-mail address or a phone number in any usual spelling."""
        name = username.strip()
        if "@" in name:
            return self._population.by_email.get(name.lower())
        digits = "".join(c for c in name if c.isdigit())
        if len(digits) == 10:
            digits = "1" + digits
        found = self._population.by_msisdn.get(f"+{digits}")
        return None if found is None else found[0]

    def login(self, fields: dict[str, Any], now: float) -> Answer:
        username, password = fields.get("username"), fields.get("password")
        if type(username) is not str or type(password) is not str:
            return 400, _INVALID_REQUEST, 0.004
        customer = self.customer(username)
        if customer is None or not self._matches(customer, password):
            return 401, _BAD_CREDENTIALS, 0.170
        token = self._tokens.issue(str(customer.customer_id), int(now), self._lifetime)
        answer = {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": self._lifetime,
            "customer_id": customer.customer_id,
        }
        return 200, orjson.dumps(answer), 0.180

    def request_reset(self, fields: dict[str, Any], now: float) -> Answer:
        """Always 202, known user or not, so the endpoint does not tell who is a customer."""
        username = fields.get("username")
        if type(username) is not str:
            return 400, _INVALID_REQUEST, 0.004
        customer = self.customer(username)
        if customer is not None:
            seed = f"{self._population.seed}:reset:{customer.customer_id}:{now:.3f}"
            number = int.from_bytes(hashlib.sha256(seed.encode()).digest()[:4], "big")
            self.outbox[customer.customer_id] = f"{number % 1_000_000:06d}"
        return 202, _SENT, 0.090

    def confirm_reset(self, fields: dict[str, Any]) -> Answer:
        """THE FLAW: the code is neither required nor compared."""
        username, new_password = fields.get("username"), fields.get("new_password")
        if type(username) is not str or type(new_password) is not str or not new_password:
            return 400, _INVALID_REQUEST, 0.004
        customer = self.customer(username)
        if customer is None:
            return 400, _INVALID_REQUEST, 0.030
        salt = customer.password_hash.partition("$")[0]
        self._hashes[customer.customer_id] = hash_password(salt, new_password)
        self.outbox.pop(customer.customer_id, None)
        return 200, _CHANGED, 0.120

    def _matches(self, customer: Customer, password: str) -> bool:
        current = self._hashes.get(customer.customer_id, customer.password_hash)
        return hash_password(current.partition("$")[0], password) == current

"""Steps clients take, as sub-flows: one call with the app's retries, a login, a reset.

Each is a generator to `yield from` inside a flow; it returns where the client stands after it
(the response and the clock). Retries are the app's, not the user's: after a 503 the app tries
the same request again within a second or two, 5 to 20 times, which in an outage becomes a
retry storm from every phone that was on the screen.
"""

from __future__ import annotations

import random
from collections.abc import Generator

import orjson

from apishield.exchange import Request, Response
from apishield.sim.telco.population import Customer
from apishield.sim.traffic.network import Client
from apishield.sim.traffic.world import World

Step = Generator[tuple[float, Request], Response, tuple[Response, float]]
LoginStep = Generator[tuple[float, Request], Response, tuple[str | None, float]]

MISTYPE_RATE = 0.04
FORGOT_RATE = 0.006


def call(request: Request, at: float, rng: random.Random, storm: bool = True) -> Step:
    """Send `request` at `at`; on 503 the app retries it, quickly and many times."""
    response = yield at, request
    if response.status != 503 or not storm:
        return response, at
    for _ in range(rng.randint(5, 20)):
        at += rng.uniform(0.15, 1.6)
        response = yield at, request
        if response.status != 503:
            break
    return response, at


def think(rng: random.Random, mean: float) -> float:
    """Seconds a person spends on a screen before the next tap."""
    return min(rng.expovariate(1 / mean) + 0.4, mean * 8)


def login(
    world: World, customer: Customer, client: Client, at: float, rng: random.Random
) -> LoginStep:
    """Sign in the way people do: now and then a typo, rarely a forgotten password, and a
    reset when the password they know no longer works (someone else changed it)."""
    profile = world.profiles[customer.customer_id]
    username = profile.username
    password = world.wallet.password(customer.customer_id)
    roll = rng.random()
    if roll < FORGOT_RATE:
        for guess in (_typo(rng, password), _typo(rng, password)[::-1]):
            response, at = yield from sign_in(client, username, guess, at, rng)
            at += rng.uniform(4, 20)
        return (yield from reset_password(world, customer, client, at, rng))
    if roll < FORGOT_RATE + MISTYPE_RATE:
        response, at = yield from sign_in(client, username, _typo(rng, password), at, rng)
        at += rng.uniform(3, 15)
    response, at = yield from sign_in(client, username, password, at, rng)
    if response.status == 401:
        at += rng.uniform(5, 25)
        response, at = yield from sign_in(client, username, password, at, rng)
        if response.status == 401:
            return (yield from reset_password(world, customer, client, at + 20, rng))
    return _keep_token(world, customer, response, at)


def machine_login(
    world: World, customer: Customer, client: Client, at: float, rng: random.Random
) -> LoginStep:
    """A program signing in with stored credentials: one attempt, no typos."""
    username = world.profiles[customer.customer_id].username
    password = world.wallet.password(customer.customer_id)
    response, at = yield from sign_in(client, username, password, at, rng)
    return _keep_token(world, customer, response, at)


def reset_password(
    world: World, customer: Customer, client: Client, at: float, rng: random.Random
) -> LoginStep:
    """The proper flow: ask for a code, read it from the SMS, confirm with it, sign in."""
    username = world.profiles[customer.customer_id].username
    body = orjson.dumps({"username": username})
    response, at = yield from call(
        client.request("POST", "/v2/auth/password-reset", body=body), at, rng
    )
    if response.status != 202:
        return None, at
    at += rng.uniform(25, 150)
    code = world.api.accounts.outbox.get(customer.customer_id, "")
    new_password = f"{world.wallet.password(customer.customer_id)[:6]}{rng.randint(100, 999)}!"
    confirm = orjson.dumps({"username": username, "code": code, "new_password": new_password})
    request = client.request("POST", "/v2/auth/password-reset/confirm", body=confirm)
    response, at = yield from call(request, at, rng)
    if response.status != 200:
        return None, at
    world.wallet.passwords[customer.customer_id] = new_password
    at += rng.uniform(3, 12)
    response, at = yield from sign_in(client, username, new_password, at, rng)
    return _keep_token(world, customer, response, at)


def sign_in(client: Client, username: str, password: str, at: float, rng: random.Random) -> Step:
    body = orjson.dumps({"username": username, "password": password})
    return (yield from call(client.request("POST", "/v2/auth/login", body=body), at, rng))


def answered(response: Response, name: str) -> object | None:
    """A field of a successful JSON answer, or None. A guard in front may answer a client it
    took for a bot with a decoy (an empty object), and a simulated client, like a real one, then
    gets nothing it can use."""
    if response.status != 200 or not response.body:
        return None
    try:
        answer = orjson.loads(response.body)
    except orjson.JSONDecodeError:
        return None
    return answer.get(name) if isinstance(answer, dict) else None


def token_of(response: Response) -> str | None:
    """The access token a successful login answered with."""
    token = answered(response, "access_token")
    return token if isinstance(token, str) else None


def _keep_token(
    world: World, customer: Customer, response: Response, at: float
) -> tuple[str | None, float]:
    token = token_of(response)
    lifetime = answered(response, "expires_in")
    if token is None or not isinstance(lifetime, int | float):
        return None, at
    world.wallet.tokens[customer.customer_id] = (token, at + float(lifetime))
    return token, at


def _typo(rng: random.Random, password: str) -> str:
    index = rng.randrange(len(password))
    typed = password[:index] + rng.choice("aeionrst0123") + password[index + 1 :]
    return typed if typed != password else password + password[-1]

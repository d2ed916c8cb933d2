"""What detectors may know about an endpoint, read off the inventory and the spec.

Detectors import no state (DESIGN.md); this adapter turns the inventory's statistics into
`EndpointRoles`: which endpoints return personal data, which take a username and password, which
set new passwords, which path parameters name objects, whether callers authenticate, and whether
the endpoint is documented, shadow or zombie. Roles are cached per endpoint and rebuilt as its
traffic grows, so a lookup costs a dictionary probe. An endpoint is named as reports name it
(`segments.shown`), so incidents, alerts and detector state never hold a value a path carried.
"""

from __future__ import annotations

from apishield.detect.roles import EndpointRoles
from apishield.exchange import Exchange
from apishield.inventory.endpoint import Endpoint
from apishield.inventory.learner import Inventory
from apishield.inventory.spec import ApiSpec
from apishield.inventory.status import classify
from apishield.normalise.segments import shown

REFRESH = 128
"""Requests to an established endpoint between rebuilds of its roles."""
LIFECYCLE_REFRESH = 5_000
"""Exchanges between re-judging every endpoint's lifecycle (shadow, zombie)."""
PASSWORD_FIELDS = frozenset({"password", "passwd", "pass", "pwd", "passphrase"})
NEW_PASSWORD_FIELDS = frozenset(
    {"new_password", "newpassword", "new_pass", "password_new", "newpass", "new_passwd"}
)
USERNAME_FIELDS = frozenset(
    {"username", "user", "user_name", "login", "email", "msisdn", "phone", "phone_number",
     "account", "account_number", "userid", "user_id"}
)  # fmt: skip
MIN_PERSONAL_SHARE = 0.2
MIN_AUTH_REQUESTS = 20


class InventoryRoles:
    def __init__(self, inventory: Inventory, spec: ApiSpec | None) -> None:
        self.inventory = inventory
        self.spec = spec
        self._documented = frozenset(spec.paths) if spec is not None else frozenset()
        self._cache: dict[tuple[str, str, str], tuple[int, EndpointRoles]] = {}
        self._bodies: dict[tuple[str, str, str], int] = {}
        self._lifecycle: dict[tuple[str, str, str], str] = {}
        self._calls = 0
        self._judged = -LIFECYCLE_REFRESH
        self._known = 0

    def roles(self, exchange: Exchange) -> EndpointRoles | None:
        route = exchange.route
        if route is None:
            return None
        request = exchange.request
        endpoint = self.inventory.endpoint(request.method, request.host, route)
        if endpoint is None:
            return None
        key = endpoint.key
        response = exchange.response
        if response is not None and response.body:
            self._bodies[key] = self._bodies.get(key, 0) + 1
        self._calls += 1
        since = self._calls - self._judged
        if since >= LIFECYCLE_REFRESH or (
            since >= 100 and len(self.inventory.endpoints) != self._known
        ):
            self._judge_lifecycles()
        cached = self._cache.get(key)
        # Rebuilt as traffic doubles while an endpoint is young, then every REFRESH requests.
        if cached is not None and endpoint.requests < min(2 * cached[0], cached[0] + REFRESH):
            return cached[1]
        roles = self._build(endpoint)
        if len(self._cache) >= 80_000:
            self._cache.clear()
        self._cache[key] = (endpoint.requests, roles)
        return roles

    def _judge_lifecycles(self) -> None:
        endpoints = list(self.inventory.endpoints.values())
        self._known = len(endpoints)
        self._judged = self._calls
        statuses, _ = classify(endpoints, self.spec)
        self._lifecycle = {key: status.state for key, status in statuses.items()}
        self._cache.clear()

    def _build(self, endpoint: Endpoint) -> EndpointRoles:
        body_fields = {name.lower() for (where, name) in endpoint.params if where == "body"}
        reset = bool(body_fields & NEW_PASSWORD_FIELDS)
        login = (
            not reset
            and endpoint.method in ("POST", "PUT")
            and bool(body_fields & PASSWORD_FIELDS)
            and bool(body_fields & USERNAME_FIELDS)
        )
        template = shown(endpoint.template, self._documented)
        return EndpointRoles(
            endpoint=f"{endpoint.method} {endpoint.host} {template}",
            personal=self._personal(endpoint),
            records_per_answer=(
                endpoint.person_records / endpoint.responses_with_personal_data
                if endpoint.responses_with_personal_data
                else 0.0
            ),
            login=login,
            credential_reset=reset,
            object_params=tuple(name for (where, name) in endpoint.params if where == "path"),
            requires_auth=self._requires_auth(endpoint),
            lifecycle=self._lifecycle.get(endpoint.key, ""),
            requests=endpoint.requests,
        )

    def _personal(self, endpoint: Endpoint) -> bool:
        if self._bodies.get(endpoint.key, 0) == 0:
            # No answer bodies recorded (access logs): an authenticated object endpoint is the
            # shape that serves someone's data, and counting it is the safer mistake.
            return self._requires_auth(endpoint) and any(w == "path" for w, _ in endpoint.params)
        answered = sum(n for code, n in endpoint.statuses.items() if 200 <= code < 300)
        personal = endpoint.responses_with_personal_data
        return personal >= 3 and personal >= MIN_PERSONAL_SHARE * max(answered, 1)

    def _requires_auth(self, endpoint: Endpoint) -> bool:
        if self.spec is not None:
            operation = self.spec.match(endpoint.method, endpoint.template)
            if operation is not None:
                return bool(operation.security)
        return endpoint.requests >= MIN_AUTH_REQUESTS and endpoint.unauthenticated_share <= 0.05

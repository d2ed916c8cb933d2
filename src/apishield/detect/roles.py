"""What detectors know of an endpoint, in their own words, so none of them keys on a path.

The inventory learns these roles from traffic (and the spec where one is given); an adapter
outside `detect/` (`apishield.endpoint_roles`) fills them in, keeping detectors free of state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from apishield.exchange import Exchange


@dataclass(slots=True, frozen=True)
class EndpointRoles:
    endpoint: str
    """"METHOD host template": how findings and incidents name the endpoint."""
    personal: bool = False
    """Its answers carry data about people."""
    records_per_answer: float = 0.0
    """Person records in an average answer that carries any."""
    login: bool = False
    """It takes a username and a password and says whether they match."""
    credential_reset: bool = False
    """It sets a new password for an account named in the request."""
    object_params: tuple[str, ...] = ()
    """Path parameters naming one object (a customer, an account, a phone number)."""
    requires_auth: bool = False
    """Nearly all of its traffic authenticates."""
    lifecycle: str = ""
    """"documented", "shadow", "zombie", "undocumented" or "" while unjudged."""
    requests: int = 0


class RoleSource(Protocol):
    def roles(self, exchange: Exchange) -> EndpointRoles | None:
        """The roles of the endpoint this exchange went to, or None before it has a route."""
        ...

"""The default pipeline, written out as a literal list, and what it concludes about an API.

The engine does no I/O: sources feed it exchanges, and the caller decides where results go.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from apishield.config import Config
from apishield.exchange import Exchange
from apishield.inventory.data_classes import DataClassStage
from apishield.inventory.endpoint import Endpoint
from apishield.inventory.learner import Inventory
from apishield.inventory.risk import Risk, score
from apishield.inventory.spec import ApiSpec
from apishield.inventory.status import Coverage, EndpointStatus, classify
from apishield.normalise.actor import ActorResolver, JwtReader
from apishield.normalise.routes import RouteLearner
from apishield.normalise.routing import RouteStage
from apishield.pipeline import Pipeline
from apishield.privacy import Hasher


@dataclass(slots=True)
class EndpointView:
    endpoint: Endpoint
    status: EndpointStatus
    risk: Risk


@dataclass(slots=True)
class InventoryResult:
    endpoints: list[EndpointView]
    coverage: Coverage | None
    spec: ApiSpec | None
    stage_errors: dict[str, int] = field(default_factory=dict)


class Engine:
    def __init__(
        self,
        config: Config,
        hasher: Hasher,
        *,
        spec: ApiSpec | None = None,
        jwt_reader: JwtReader | None = None,
    ) -> None:
        self.spec = spec
        self.learner = RouteLearner(
            min_distinct=config.routes.min_distinct,
            spec_paths=spec.paths if spec is not None else (),
        )
        self.inventory = Inventory()
        self.pipeline = Pipeline(
            request_stages=[
                ActorResolver(config.identity, hasher, jwt_reader or JwtReader()),
                RouteStage(self.learner),
            ],
            response_stages=[
                DataClassStage(max_bytes=config.ingest.max_body_bytes),
                self.inventory,
            ],
        )

    def process(self, exchange: Exchange) -> None:
        self.pipeline.run(exchange)

    def result(self) -> InventoryResult:
        """Settle route templates learned so far, then judge every endpoint."""
        self.inventory.reconcile(self.learner.template)
        endpoints = list(self.inventory.endpoints.values())
        statuses, coverage = classify(endpoints, self.spec)
        views = [EndpointView(e, statuses[e.key], score(e, statuses[e.key])) for e in endpoints]
        views.sort(key=lambda v: (-v.risk.score, -v.endpoint.requests, v.endpoint.template))
        return InventoryResult(
            endpoints=views,
            coverage=coverage,
            spec=self.spec,
            stage_errors=dict(self.pipeline.errors),
        )

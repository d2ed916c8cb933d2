"""The stage that gives each exchange its route template and path parameters."""

from __future__ import annotations

from apishield.exchange import Exchange
from apishield.normalise.routes import RouteLearner


class RouteStage:
    name = "route"

    def __init__(self, learner: RouteLearner) -> None:
        self.learner = learner

    def __call__(self, exchange: Exchange) -> None:
        request = exchange.request
        route, params = self.learner.resolve(request.host, request.path)
        exchange.route = route
        if params:
            exchange.path_params = params

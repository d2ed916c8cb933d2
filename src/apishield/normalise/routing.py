"""The stage that gives each exchange its route template and path parameters."""

from __future__ import annotations

from apishield.exchange import Exchange
from apishield.normalise.routes import RouteLearner, path_params


class RouteStage:
    name = "route"

    def __init__(self, learner: RouteLearner) -> None:
        self.learner = learner

    def __call__(self, exchange: Exchange) -> None:
        request = exchange.request
        route = self.learner.observe(request.host, request.path)
        exchange.route = route
        if "{" in route:
            exchange.path_params = path_params(route, request.path)

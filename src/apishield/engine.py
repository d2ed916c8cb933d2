"""The default pipeline, written out as a literal list, and what it concludes about an API.

The engine does no I/O: sources feed it exchanges, and the caller decides where results go.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from apishield.checks import CheckContext, CheckStage, Phase, select_checks
from apishield.checks.media_types import MediaTypes
from apishield.checks.registry import Check
from apishield.checks.tally import FindingsTally
from apishield.config import Config, DetectConfig
from apishield.detect import builtin_detectors
from apishield.detect.incidents import Incident
from apishield.detect.registry import Detector
from apishield.detect.rule_detector import RuleDetector
from apishield.detect.stage import DetectStage
from apishield.endpoint_roles import InventoryRoles
from apishield.enforce.schema import SchemaSettings, SchemaValidation
from apishield.exchange import Exchange
from apishield.facts import InventoryFacts
from apishield.inventory.actors import ActorTally
from apishield.inventory.data_classes import DataClassStage
from apishield.inventory.endpoint import Endpoint
from apishield.inventory.learner import Inventory
from apishield.inventory.risk import Risk, score
from apishield.inventory.series import Point, TrafficSeries
from apishield.inventory.spec import ApiSpec
from apishield.inventory.status import Coverage, EndpointStatus, classify
from apishield.normalise.actor import ActorResolver, JwtReader
from apishield.normalise.routes import RouteLearner
from apishield.normalise.routing import RouteStage
from apishield.normalise.segments import shown
from apishield.pipeline import Pipeline
from apishield.privacy import Hasher
from apishield.state.memory import MemoryState
from apishield.stateful import State


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
    findings: FindingsTally = field(default_factory=FindingsTally)
    incidents: list[Incident] = field(default_factory=list)
    incidents_let_go: dict[str, int] = field(default_factory=dict)
    """Closed incidents no longer held in memory, by severity label: counted, not listed."""
    suspect_times: int = 0
    """Exchanges dated far from the stream's clock, analysed at its time (`detect.clock`)."""
    first_suspect_time: float | None = None
    stage_errors: dict[str, int] = field(default_factory=dict)
    actors: ActorTally = field(default_factory=ActorTally)
    not_found_routes: int = 0
    """Undocumented routes that only ever answered 404: probed, so left out of `endpoints`."""
    overflow_requests: int = 0
    """Requests past the inventory's endpoint cap (`MAX_ENDPOINTS`), counted under `/{overflow}`."""


class Engine:
    def __init__(
        self,
        config: Config,
        hasher: Hasher,
        *,
        spec: ApiSpec | None = None,
        jwt_reader: JwtReader | None = None,
        context: CheckContext | None = None,
        state: State | None = None,
    ) -> None:
        """`context` carries what checks need from files (reputation lists, JWT secrets); the
        engine adds the endpoint facts, so checks see the spec and what the inventory learned.
        `state` holds detector state; in memory unless a shared backend is given."""
        self.spec = spec
        self.documented = frozenset(spec.paths) if spec is not None else frozenset()
        """The spec's own paths: shown as written, where every other template is shaped."""
        self.hasher = hasher
        self.learner = RouteLearner(
            min_distinct=config.routes.min_distinct,
            spec_paths=spec.paths if spec is not None else (),
            fold_case=config.routes.case_insensitive,
            encoded_slash=config.routes.encoded_slash,
        )
        self.inventory = Inventory()
        self.findings = FindingsTally()
        self.series = TrafficSeries()
        self.actors = ActorTally()
        context = context or CheckContext()
        context.facts = InventoryFacts(self.inventory, spec)
        context.max_body_bytes = config.ingest.max_body_bytes
        context.media_types = MediaTypes(config.checks.request_media_types)
        context.numeric_host = config.checks.numeric_host
        checks = _checks(config)
        self.schema: SchemaValidation | None = None
        if spec is not None:
            settings = SchemaSettings.from_config(config.enforce.openapi)
            self.schema = SchemaValidation(spec, settings)
            checks = (
                *checks,
                Check("openapi-request", Phase.REQUEST, self.schema.check_request),
                Check("openapi-response", Phase.RESPONSE, self.schema.check_response),
            )
        self.check_stages = (
            CheckStage(Phase.REQUEST, checks, context),
            CheckStage(Phase.RESPONSE, checks, context),
        )
        self.detect = DetectStage(
            _detectors(config.detect),
            InventoryRoles(self.inventory, spec),
            state if state is not None else MemoryState(config.detect.max_state_keys),
            hasher,
            warm_up=config.detect.warm_up_hours * 3600.0,
        )
        self.pipeline = Pipeline(
            request_stages=[
                ActorResolver(config.identity, hasher, jwt_reader or JwtReader()),
                RouteStage(self.learner),
                self.check_stages[0],
            ],
            response_stages=[
                DataClassStage(max_bytes=config.ingest.max_body_bytes),
                self.check_stages[1],
                self.inventory,
                self.detect,
                self.findings,
                self.series,
                self.actors,
            ],
        )

    def process(self, exchange: Exchange) -> None:
        self.pipeline.run(exchange)

    def detection_mark(self) -> int:
        """Detections correlated so far; taken before an exchange, for `touched_incidents`."""
        return self.detect.correlator.detections

    def touched_incidents(self, exchange: Exchange, mark: int) -> list[Incident]:
        """The incidents analysing `exchange` just added detections to (`mark` was taken with
        `detection_mark` before): the actor's own, and campaigns the actor took part in; what
        automatic blocks act on. Repeats inside a rule's cool-down count: an actor still at it
        keeps its block."""
        correlator = self.detect.correlator
        added = correlator.detections - mark
        if exchange.actor is None or added <= 0:
            return []
        own = f"actor:{exchange.actor.key}"
        touched: list[Incident] = []
        for incident in list(correlator.recent)[-added:]:
            wanted = incident.scope == own or incident.scope.startswith("campaign:")
            if wanted and all(seen is not incident for seen in touched):
                touched.append(incident)
        return touched

    def shown(self, route: str) -> str:
        """A route as results name it: a documented path as written, any other with each value
        it still holds as a literal (seen once, or established) shown by its kind."""
        return shown(route, self.documented)

    def shown_template(self, host: str, path: str) -> str:
        """The template of a raw path as results name it: settled, then `shown`."""
        return shown(self.learner.template(host, path), self.documented)

    def result(self) -> InventoryResult:
        """Settle route templates learned so far, then judge every endpoint, each under the
        template results show: endpoints that show alike (two phone numbers the learner keeps
        apart) are one, their statistics merged; the live inventory keeps its own keys."""
        self.inventory.reconcile(self.learner.template)
        self.actors.settle(self.shown_template)
        endpoints = list(self.inventory.settled(self.shown_template).values())
        statuses, coverage = classify(endpoints, self.spec)
        answered = [e for e in endpoints if statuses[e.key].documented or not _only_404(e)]
        if len(answered) < len(endpoints):
            # Paths that only ever answered 404 are probes (a scanner's guesses), not endpoints.
            statuses, coverage = classify(answered, self.spec)
        views = [EndpointView(e, statuses[e.key], score(e, statuses[e.key])) for e in answered]
        views.sort(key=lambda v: (-v.risk.score, -v.endpoint.requests, v.endpoint.template))
        return InventoryResult(
            endpoints=views,
            coverage=coverage,
            spec=self.spec,
            findings=self.findings,
            incidents=self.detect.correlator.incidents(),
            incidents_let_go={s.label: n for s, n in self.detect.correlator.forgotten.items()},
            suspect_times=self.detect.clock.suspect,
            first_suspect_time=self.detect.clock.first_suspect,
            stage_errors=self._errors(),
            actors=self.actors,
            not_found_routes=len(endpoints) - len(answered),
            overflow_requests=self.inventory.overflow_requests(),
        )

    def snapshot(self) -> InventoryResult:
        """`result()` with templates settled on a copy of the inventory, so a live analysis goes
        on as if no snapshot had been taken: settling mid-stream would merge endpoints earlier
        than a replay does, and change what later exchanges are judged against."""
        inventory = self.inventory
        live = inventory.endpoints
        inventory.endpoints = inventory.settled(self.learner.template)
        try:
            return self.result()
        finally:
            inventory.endpoints = live

    def series_points(self, *, settled_only: bool = False) -> list[Point]:
        """Per-endpoint traffic buckets not handed over yet, under shown templates: all of
        them (the end of a replay) or those event time has left behind (a live analysis)."""
        retemplate = self.shown_template
        if settled_only:
            return self.series.settled(retemplate)
        return self.series.drain(retemplate=retemplate)

    def _errors(self) -> dict[str, int]:
        errors = dict(self.pipeline.errors)
        for stage in self.check_stages:
            errors.update((f"check {name}", n) for name, n in stage.errors.items())
        errors.update((f"detector {name}", n) for name, n in self.detect.errors.items())
        return errors


def _only_404(endpoint: Endpoint) -> bool:
    statuses = endpoint.statuses
    return bool(statuses) and all(code == 404 for code in statuses)


def _checks(config: Config) -> tuple[Check, ...]:
    try:
        return select_checks(config.checks.enabled, config.checks.disabled)
    except ValueError as exc:
        raise ValueError(f"checks: {exc}") from exc


def _detectors(config: DetectConfig) -> list[Detector]:
    if not config.enabled:
        return []
    detectors = builtin_detectors()
    known = {d.name for d in detectors}
    for detector in detectors:
        if isinstance(detector, RuleDetector):
            known.update(rule.id for rule in detector.rules)
    unknown = sorted(set(config.disabled) - known)
    if unknown:
        raise ValueError(
            f"detect.disabled: unknown {', '.join(unknown)}; valid: {', '.join(sorted(known))}"
        )
    chosen: list[Detector] = []
    for detector in detectors:
        if detector.name in config.disabled:
            continue
        if isinstance(detector, RuleDetector):
            detector.rules = [r for r in detector.rules if r.id not in config.disabled]
        chosen.append(detector)
    return chosen

"""The detection stage: one observation per exchange, every detector contained, incidents out."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence

from apishield.detect.clock import StreamClock
from apishield.detect.incidents import Correlator
from apishield.detect.observation import Observer
from apishield.detect.registry import Detector
from apishield.detect.roles import RoleSource
from apishield.exchange import Exchange
from apishield.privacy import Hasher
from apishield.stateful import State

log = logging.getLogger("apishield.detect")

WARM_UP = 86_400.0
"""Event time the engine watches before baselines judge: one full day and night of traffic."""


class DetectStage:
    name = "detect"

    def __init__(
        self,
        detectors: Sequence[Detector],
        roles: RoleSource,
        state: State,
        hasher: Hasher,
        *,
        warm_up: float = WARM_UP,
    ) -> None:
        self.detectors = tuple(detectors)
        self.roles = roles
        self.state = state
        self.hasher = hasher
        self.correlator = Correlator()
        self.errors: Counter[str] = Counter()
        self.warm_up = warm_up
        self.clock = StreamClock()
        """The event time detectors judge by: a line dated far from its neighbours moves nothing."""
        # A keyed shift for numeric IDs: walks stay visible as small steps, values do not.
        self._observe = Observer(hasher, int(hasher.digest("sequence-offset")[:15], 16))

    def __call__(self, exchange: Exchange) -> None:
        if not self.detectors:
            return  # detection is off: nothing would read the observation
        roles = self.roles.roles(exchange)
        if roles is None:
            return
        clock = self.clock
        time = clock.place(exchange.started)
        began = clock.began
        warm = began is not None and time - began >= self.warm_up
        observation = self._observe(exchange, roles, time=time, warm=warm)
        state = self.state
        for detector in self.detectors:
            try:
                detections = detector.observe(observation, state)
                if type(detections) is not tuple and type(detections) is not list:
                    # Built-ins answer with a sequence; a generator runs to its end here, so
                    # one that fails half-way adds nothing.
                    detections = list(detections)
            except Exception:
                self.errors[detector.name] += 1
                if self.errors[detector.name] <= 3:
                    log.exception("detector %s failed on %s", detector.name, exchange.source)
                continue
            if not detections:
                continue
            for detection in detections:
                self.correlator.add(detection)
                if detection.fresh:
                    exchange.findings.append(detection.finding)

"""Behavioural detection over event time: what a single request hides, across many."""

from __future__ import annotations

from apishield.detect.anomaly import TrafficAnomaly
from apishield.detect.cadence import RegularClients
from apishield.detect.objects import ObjectAccess
from apishield.detect.ownership import ObjectOwnership
from apishield.detect.registry import Detector
from apishield.detect.rule_detector import RuleDetector
from apishield.detect.rules import builtin_rules
from apishield.detect.spread import OneShotClients
from apishield.detect.takeover import LoginAfterFailures


def builtin_detectors() -> list[Detector]:
    """The built-in detectors, in the order they run: declarative rules first."""
    return [
        RuleDetector(builtin_rules()),
        ObjectAccess(),
        ObjectOwnership(),
        LoginAfterFailures(),
        RegularClients(),
        OneShotClients(),
        TrafficAnomaly(),
    ]

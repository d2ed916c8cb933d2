"""apishield: discover, detect and defend HTTP APIs from their traffic."""

from apishield.config import Config, ConfigError, load_config, parse_config
from apishield.exchange import (
    Action,
    Actor,
    Decision,
    Exchange,
    Finding,
    MaskedSecret,
    Request,
    Response,
    Severity,
)
from apishield.pipeline import Pipeline, Stage

__all__ = [
    "Action",
    "Actor",
    "Config",
    "ConfigError",
    "Decision",
    "Exchange",
    "Finding",
    "MaskedSecret",
    "Pipeline",
    "Request",
    "Response",
    "Severity",
    "Stage",
    "load_config",
    "parse_config",
]

__version__ = "0.1.0"

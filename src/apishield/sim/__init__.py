"""The traffic simulator: a demo telco API, its customers and partners, and attacks on it.

`simulate(Options(out=...))` writes a seeded, time-ordered capture (apishield JSONL, nginx JSON
or HAR), the API's documented OpenAPI spec beside it, and optionally the ground truth.
"""

from apishield.sim.run import DEFAULT_START, Options, Summary, simulate
from apishield.sim.traffic.attacks import NAMES as SCENARIO_NAMES
from apishield.sim.writers import FORMATS

__all__ = ["DEFAULT_START", "FORMATS", "SCENARIO_NAMES", "Options", "Summary", "simulate"]

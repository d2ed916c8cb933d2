"""The base of every configuration section, and the error a bad file raises."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ConfigError(ValueError):
    """Raised with every problem in the file, each naming the key, the valid values and a fix."""


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

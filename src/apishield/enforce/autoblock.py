"""Incidents that block: a severe enough incident about one actor blocks that actor for a while.

Campaign incidents (one target worked by many actors) block no one on their own: their members
are often shared NATs and mobile carriers, and each member that misbehaves alone gets an actor
incident of its own. The block runs in event time from the incident's last detection, so a
replayed incident blocks for the same span as a live one.
"""

from __future__ import annotations

from typing import Protocol

from apishield.config import AutoBlockConfig
from apishield.exchange import Severity
from apishield.limits import Block, BlockKind, Blocks


class Incident(Protocol):
    """What blocking needs of `apishield.detect.incidents.Incident` (enforce imports only core)."""

    @property
    def id(self) -> int: ...
    @property
    def scope(self) -> str: ...
    @property
    def severity(self) -> Severity: ...
    @property
    def title(self) -> str: ...
    @property
    def last_seen(self) -> float: ...


_SEVERITY = {"medium": Severity.MEDIUM, "high": Severity.HIGH, "critical": Severity.CRITICAL}
_KINDS: dict[str, BlockKind] = {"id": "identity", "key": "key", "session": "session", "ip": "ip"}


def blocked_by(incident: Incident) -> tuple[BlockKind, str] | None:
    """The (kind, value) an actor incident names, from its scope "actor:<Actor.key>"."""
    scope, _, actor = incident.scope.partition(":")
    if scope != "actor":
        return None
    prefix, _, value = actor.partition(":")
    kind = _KINDS.get(prefix)
    if kind is None or not value:
        return None
    return kind, value


def auto_block(incident: Incident, blocks: Blocks, config: AutoBlockConfig) -> Block | None:
    """Block the incident's actor if the incident is severe enough; the block it raised."""
    if not config.enabled or incident.severity < _SEVERITY[config.min_severity]:
        return None
    target = blocked_by(incident)
    if target is None:
        return None
    kind, value = target
    until = incident.last_seen + config.block_seconds
    reason = f"incident {incident.id}: {incident.title} ({incident.severity.label})"
    blocks.block(kind, value, until, reason)
    return Block(kind, value, until, reason)

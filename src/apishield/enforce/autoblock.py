"""Incidents that block: a severe enough incident about one actor blocks that actor for a while.

Campaign incidents (one target worked by many actors) block no one on their own: their members
are often shared NATs and mobile carriers, and each member that misbehaves alone gets an actor
incident of its own. The block runs in event time from the incident's last detection, so a
replayed incident blocks for the same span as a live one. An incident that holds a bot rule
(`apishield.enforce.bots`) blocks with the action configured for bots: a tarpit or a decoy
instead of a 403.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Protocol

from apishield.config import AutoBlockConfig, BotsConfig
from apishield.enforce.bots import bot_rules
from apishield.exchange import Severity
from apishield.limits import Block, BlockAction, BlockKind, Blocks


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
    @property
    def rules(self) -> Collection[str]:
        """Ids of the rules that detected something in this incident."""
        ...


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


def auto_block(
    incident: Incident,
    blocks: Blocks,
    config: AutoBlockConfig,
    bots: BotsConfig | None = None,
) -> Block | None:
    """Block the incident's actor if the incident is severe enough; the block it raised. With
    `bots`, an incident holding a bot rule blocks with `bots.action`."""
    if not config.enabled or incident.severity < _SEVERITY[config.min_severity]:
        return None
    target = blocked_by(incident)
    if target is None:
        return None
    kind, value = target
    until = incident.last_seen + config.block_seconds
    reason = f"incident {incident.id}: {incident.title} ({incident.severity.label})"
    action: BlockAction = "block"
    if bots is not None and (found := bot_rules(incident.rules, bots)):
        action = bots.action
        reason += f"; bot: {', '.join(found[:3])}"
    blocks.block(kind, value, until, reason, action)
    return Block(kind, value, until, reason, action)

"""Incidents that block: a severe enough incident about one actor blocks that actor for a while.

Campaign incidents (one target worked by many actors) block no one by default: their members
are often shared NATs and mobile carriers, and each member that misbehaves alone gets an actor
incident of its own. With `auto_block.campaign_members`, a campaign that holds a bot rule (the
machine-regular cadence of distributed enumeration, one object from many addresses, credential
stuffing) blocks each member's IP as the member is seen taking part, with the bots' action.

The block runs in event time from the incident's last detection, so a replayed incident blocks
for the same span as a live one. An incident that holds a bot rule (`apishield.enforce.bots`)
blocks with the action configured for bots: a tarpit or a decoy instead of a 403.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Protocol

from apishield.config import AutoBlockConfig, BotsConfig
from apishield.enforce.bots import bot_rules
from apishield.exchange import Actor, Severity
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


def _campaign_member(
    incident: Incident, config: AutoBlockConfig, found: list[str], member: Actor | None
) -> tuple[BlockKind, str] | None:
    """The member IP a campaign incident blocks, when campaigns block theirs."""
    campaign = incident.scope.startswith("campaign:")
    if not (campaign and config.campaign_members and found and member is not None and member.ip):
        return None
    return "ip", member.ip


def auto_block(
    incident: Incident,
    blocks: Blocks,
    config: AutoBlockConfig,
    bots: BotsConfig | None = None,
    member: Actor | None = None,
) -> Block | None:
    """Block the incident's actor if the incident is severe enough; the block it raised. With
    `bots`, an incident holding a bot rule blocks with `bots.action`. A campaign incident blocks
    `member`'s IP, the actor whose request just took part, when `config.campaign_members`."""
    if not config.enabled or incident.severity < _SEVERITY[config.min_severity]:
        return None
    found = bot_rules(incident.rules, bots) if bots is not None else []
    target = blocked_by(incident) or _campaign_member(incident, config, found, member)
    if target is None:
        return None
    kind, value = target
    until = incident.last_seen + config.block_seconds
    reason = f"incident {incident.id}: {incident.title} ({incident.severity.label})"
    action: BlockAction = "block"
    if bots is not None and found:
        action = bots.action
        reason += f"; bot: {', '.join(found[:3])}"
    blocks.block(kind, value, until, reason, action)
    return Block(kind, value, until, reason, action)

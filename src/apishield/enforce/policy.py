"""The policy: what the request phase concluded, turned into one `Decision`.

Order matters and is fixed: allow lists first (a trusted partner is never refused), then blocks
in force (answered as each block says: a 403, a tarpit or a decoy), deny lists, OpenAPI
validation on endpoints in block mode, the request's threat level, and rate limits last, so a
refused request does not spend tokens. The policy reads the exchange after the request stages
ran (actor, route, request checks) and keeps nothing itself: buckets and blocks live behind
`apishield.limits`, so several processes can share them.
"""

from __future__ import annotations

from apishield.config import EnforceConfig
from apishield.enforce.bots import Decoys
from apishield.enforce.lists import AccessList
from apishield.enforce.ratelimit import RateLimits
from apishield.enforce.schema import SchemaValidation
from apishield.exchange import ALLOW, Action, Actor, Decision, Exchange, Severity
from apishield.limits import Block, BlockAction, Blocks, Buckets

_BLOCK_ACTIONS: dict[BlockAction, Action] = {
    "block": Action.BLOCK,
    "tarpit": Action.TARPIT,
    "decoy": Action.DECOY,
}


class Policy:
    def __init__(
        self,
        config: EnforceConfig,
        buckets: Buckets,
        blocks: Blocks,
        schema: SchemaValidation | None = None,
    ) -> None:
        """`schema` refuses requests that break the spec on endpoints in block mode."""
        self.config = config
        self.schema = schema
        self.monitor = config.mode == "monitor"
        self.off = config.mode == "off"
        self.allow = AccessList(config.allow)
        self.deny = AccessList(config.deny)
        self.rate_limits = RateLimits(config.rate_limits, buckets)
        self.blocks = blocks
        self.decoys = Decoys(config.bots)
        """What a decoy answers, per endpoint; the guard sends it."""
        self.block_on_threat = config.block_on_threat

    def decide(self, exchange: Exchange, now: float) -> Decision:
        """The decision for a request whose request stages have run; `now` is its event time."""
        actor = exchange.actor
        if self.off or actor is None:
            return ALLOW
        decision = self._judge(exchange, actor, now)
        if self.monitor and decision.action is not Action.ALLOW:
            return Decision(
                decision.action, decision.reason, decision.rule, decision.headers, enforced=False
            )
        return decision

    def _judge(self, exchange: Exchange, actor: Actor, now: float) -> Decision:
        allowed = self.allow.match(actor) if self.allow else None
        if allowed is not None:
            return Decision(Action.ALLOW, f"allow list: {allowed[0]} {allowed[1]}", "enforce.allow")
        block = self._blocked(actor, now)
        if block is not None:
            action = _BLOCK_ACTIONS.get(block.action, Action.BLOCK)
            return Decision(action, block.reason, f"enforce.block.{block.kind}")
        denied = self.deny.match(actor) if self.deny else None
        if denied is not None:
            kind, entry = denied
            return Decision(Action.BLOCK, f"deny list: {kind} {entry}", f"enforce.deny.{kind}")
        refused = self.schema.decide(exchange) if self.schema is not None else None
        if refused is not None:
            return refused
        threat = self._threat(exchange)
        if threat is not None and threat.action is Action.BLOCK:
            return threat
        exceeded = self.rate_limits.take(exchange, actor, now) if self.rate_limits else None
        if exceeded is not None:
            name = exceeded.limit.name
            return Decision(
                Action.THROTTLE,
                f"rate limit {name}: {exceeded.limit.quota} per {exceeded.limit.window}s",
                f"enforce.rate.{name}",
                exceeded.headers(),
            )
        return threat or ALLOW

    def _blocked(self, actor: Actor, now: float) -> Block | None:
        blocks = self.blocks
        block = blocks.is_blocked("ip", actor.ip, now)
        if block is None and actor.identity is not None:
            block = blocks.is_blocked("identity", actor.identity, now)
        if block is None and actor.api_key is not None:
            block = blocks.is_blocked("key", actor.api_key.digest[:16], now)
        if block is None and actor.session is not None:
            block = blocks.is_blocked("session", actor.session[:16], now)
        return block

    def _threat(self, exchange: Exchange) -> Decision | None:
        """High-threat requests are refused only when configured; otherwise flagged."""
        if exchange.threat_level < Severity.HIGH:
            return None
        rules = sorted({f.rule_id for f in exchange.findings if f.severity >= Severity.HIGH})
        reason = f"threat high: {', '.join(rules[:5])}"
        action = Action.BLOCK if self.block_on_threat else Action.FLAG
        return Decision(action, reason, "enforce.threat")

"""The policy: what the request phase concluded, turned into one `Decision`.

Order matters and is fixed: allow lists first (a trusted partner is never refused), then blocks
in force (answered as each block says: a 403, a tarpit or a decoy), deny lists, OpenAPI
validation on endpoints in block mode, the request's threat level, and rate limits last, so a
request refused before them spends no tokens (one refused by a bucket keeps the tokens the
buckets before it gave: `enforce.ratelimit`). The policy reads the exchange after the request stages
ran (actor, route, request checks) and keeps nothing itself: buckets and blocks live behind
`apishield.limits`, so several processes can share them.

The blocks and the buckets are read in one `Limits.check` (one round trip to a shared backend):
the deny list, the spec and the threat level, which need no state, are judged first, so the
check draws from the buckets only when nothing else would refuse, and its block, if one is in
force, still answers before them. The decisions are those of the order above.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from apishield.config import EnforceConfig
from apishield.enforce.bots import Decoys
from apishield.enforce.lists import AccessList
from apishield.enforce.ratelimit import Limit, RateLimits, exceeded
from apishield.enforce.schema import SchemaValidation
from apishield.exchange import ALLOW, Action, Actor, Decision, Exchange, Severity
from apishield.limits import Block, BlockAction, BlockKind, Blocks, Buckets, Draw, limits_of

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
        pseudonym: Callable[[str], str] | None = None,
    ) -> None:
        """`schema` refuses requests that break the spec on endpoints in block mode;
        `pseudonym` hashes the listed identities as actor resolution hashes identities, where
        the configuration says so."""
        self.config = config
        self.schema = schema
        self.monitor = config.mode == "monitor"
        self.off = config.mode == "off"
        self.allow = AccessList(config.allow, pseudonym)
        self.deny = AccessList(config.deny, pseudonym)
        self.rate_limits = RateLimits(config.rate_limits, buckets)
        # What every decision asks first, answered once: is there a list, a limit at all?
        self._allow = self.allow if self.allow else None
        self._deny = self.deny if self.deny else None
        self._rate_limited = bool(self.rate_limits)
        self.blocks = blocks
        self.limits = limits_of(buckets, blocks)
        """Blocks and buckets in one step, as a decision reads them."""
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
        allowed = self._allow.match(actor) if self._allow is not None else None
        if allowed is not None:
            return Decision(Action.ALLOW, f"allow list: {allowed[0]} {allowed[1]}", "enforce.allow")
        lookups = _lookups(actor)
        try:
            refused, threat = self._refusal(exchange, actor)
        except Exception:
            # A block in force answers before any of these is read, so it still does.
            block = self.limits.check(lookups, (), now).block
            if block is not None:
                return _blocked(block)
            raise
        limits: Sequence[Limit] = ()
        draws: Sequence[Draw] = ()
        if refused is None and self._rate_limited:
            limits, draws = self.rate_limits.plan(exchange, actor)
        block, takes = self.limits.check(lookups, draws, now)
        if block is not None:
            return _blocked(block)
        if refused is not None:
            return refused
        over = exceeded(limits, takes)
        if over is not None:
            name = over.limit.name
            return Decision(
                Action.THROTTLE,
                f"rate limit {name}: {over.limit.quota} per {over.limit.window}s",
                f"enforce.rate.{name}",
                over.headers(),
            )
        return threat or ALLOW

    def _refusal(self, exchange: Exchange, actor: Actor) -> tuple[Decision | None, Decision | None]:
        """What refuses the request short of a block, in order (the deny list, the spec, a
        high threat when configured to refuse), and the threat level's own decision."""
        denied = self._deny.match(actor) if self._deny is not None else None
        if denied is not None:
            kind, entry = denied
            refusal = Decision(Action.BLOCK, f"deny list: {kind} {entry}", f"enforce.deny.{kind}")
            return refusal, None
        refused = self.schema.decide(exchange) if self.schema is not None else None
        if refused is not None:
            return refused, None
        threat = self._threat(exchange)
        if threat is not None and threat.action is Action.BLOCK:
            return threat, None
        return None, threat

    def _threat(self, exchange: Exchange) -> Decision | None:
        """High-threat requests are refused only when configured; otherwise flagged."""
        if exchange.threat_level < Severity.HIGH:
            return None
        rules = sorted({f.rule_id for f in exchange.findings if f.severity >= Severity.HIGH})
        reason = f"threat high: {', '.join(rules[:5])}"
        action = Action.BLOCK if self.block_on_threat else Action.FLAG
        return Decision(action, reason, "enforce.threat")


def _lookups(actor: Actor) -> list[tuple[BlockKind, str]]:
    """The blocks that could hold the actor, in the order they are looked up."""
    lookups: list[tuple[BlockKind, str]] = [("ip", actor.ip)]
    if actor.identity is not None:
        lookups.append(("identity", actor.identity))
    if actor.api_key is not None:
        lookups.append(("key", actor.api_key.digest[:16]))
    if actor.session is not None:
        lookups.append(("session", actor.session[:16]))
    return lookups


def _blocked(block: Block) -> Decision:
    """A block in force, answered as it says."""
    action = _BLOCK_ACTIONS.get(block.action, Action.BLOCK)
    return Decision(action, block.reason, f"enforce.block.{block.kind}")

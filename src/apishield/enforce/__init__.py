"""In-line defence, decided without I/O: allow and deny lists, blocks, rate limits, threat.

`Policy.decide` turns what the request stages learned into a `Decision`; `auto_block` turns a
severe actor incident into a block (a tarpit or a decoy for confirmed bots). Buckets and blocks
are kept behind `apishield.limits`.
"""

from apishield.enforce.autoblock import auto_block, blocked_by
from apishield.enforce.bots import Decoys, bot_rules
from apishield.enforce.lists import AccessList, AddressSet
from apishield.enforce.policy import Policy
from apishield.enforce.ratelimit import Exceeded, Limit, RateLimits

__all__ = [
    "AccessList",
    "AddressSet",
    "Decoys",
    "Exceeded",
    "Limit",
    "Policy",
    "RateLimits",
    "auto_block",
    "blocked_by",
    "bot_rules",
]

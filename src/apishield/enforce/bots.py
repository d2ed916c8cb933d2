"""Confirmed bots: which incidents name one, and the decoy a bot is answered with.

A bot is not judged per request: the actor of an incident that blocks (`auto_block`) is a bot
when the incident holds a rule only automation trips (a scanner, forced browsing, machine-regular
cadence, enumeration, credential stuffing). Its block then carries the configured action, so the
bot is held in a tarpit or fed a decoy rather than told plainly that it was caught.

A decoy is an empty JSON answer by default (`{}`), which matches no real object: a scraper
that reads it learns nothing, and one that checks status codes sees nothing to retry.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from apishield.config import BotsConfig
from apishield.exchange import Exchange


def bot_rules(rules: Iterable[str], config: BotsConfig) -> list[str]:
    """The bot rules among an incident's `rules`, sorted; empty for no bot."""
    wanted = set(config.rules)
    return sorted(rule for rule in rules if rule in wanted)


class Decoys:
    """Decoy bodies per endpoint, serialised once."""

    def __init__(self, config: BotsConfig) -> None:
        self.default = _serialised(config.decoy)
        self.endpoints = {key: _serialised(body) for key, body in config.decoys.items()}

    def body(self, exchange: Exchange) -> bytes:
        """The decoy for this request's endpoint ("GET /route", then "/route"), or the default."""
        if not self.endpoints:
            return self.default
        request = exchange.request
        route = exchange.route or request.path
        found = self.endpoints.get(f"{request.method} {route}")
        if found is None:
            found = self.endpoints.get(route)
        return self.default if found is None else found


def _serialised(body: object) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")

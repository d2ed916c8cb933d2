"""The attack scenarios, a to i, in one explicit list with their onsets in a week-long window."""

from __future__ import annotations

import difflib

from apishield.sim.traffic.attacks import (
    bola,
    enumeration,
    exfiltration,
    exposure,
    noise,
    reset,
    stuffing,
)
from apishield.sim.traffic.attacks.base import Actors, Attack, Scenario

SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        exfiltration.NAME, "a", "bulk-exfiltration", "API3:2023",
        "low-and-slow reading of every subscriber through the partner API with finverify's "
        "key, one request every 10-30 s from two new addresses, until the window ends",
        2, 17.1, exfiltration.build,
    ),
    Scenario(
        enumeration.NAME, "b", "distributed-enumeration", "API6:2023",
        "200 numbers looked up from 240 proxy addresses at a 2 s beat for three hours, mostly "
        "404, then SIM-swap attempts on the numbers found",
        3, 1.5, enumeration.build,
    ),
    Scenario(
        bola.NAME, "c", "bola", "API1:2023",
        "a subscriber walks account numbers up from their own on the bills endpoint, "
        "one every 2-6 s, about a third of them live (200), the rest 404",
        4, 15.4, bola.build,
    ),
    Scenario(
        stuffing.NAME, "d", "credential-stuffing", "API2:2023",
        "a combo list tried on the login from 300 proxy addresses over two hours, mostly 401; "
        "the accounts that reuse their password are read at once",
        5, 6.0, stuffing.build,
    ),
    Scenario(
        reset.NAME, "e", "password-reset-abuse", "API2:2023",
        "password resets confirmed without a valid code for about 120 e-mail addresses, some "
        "accounts then signed in to and read",
        5, 20.5, reset.build,
    ),
    Scenario(
        exposure.TEST_API, "f", "exposed-test-api", "API9:2023",
        "an outside client guesses /internal/test/customers and pages through every customer "
        "without credentials",
        3, 9.7, exposure.build_test_api,
    ),
    Scenario(
        exposure.ZOMBIE, "g", "zombie-api", "API9:2023",
        "a client walks customer IDs on the deprecated /v1/customers/{id}, which skips the "
        "ownership check",
        4, 2.2, exposure.build_zombie,
    ),
    Scenario(
        noise.SCANNER, "h", "scanner", "API8:2023",
        "forced browsing, then SQL injection, XSS, traversal, SSRF, Log4Shell and NoSQL payloads "
        "in query, path and JSON from one address",
        2, 11.3, noise.build_scanner,
    ),
    Scenario(
        noise.FLOOD, "i", "flood", "API4:2023",
        "three addresses send about 1,000 requests a minute each for four minutes",
        6, 18.0, noise.build_flood,
    ),
)  # fmt: skip
NAMES = tuple(s.name for s in SCENARIOS)

__all__ = ["NAMES", "SCENARIOS", "Actors", "Attack", "Scenario", "select"]


def select(spec: str) -> list[Scenario]:
    """The scenarios named by `spec`: all, none, or a comma list of names or letters a-i."""
    text = spec.strip().lower()
    if text == "all":
        return list(SCENARIOS)
    if text in ("none", ""):
        return []
    by_key = {s.name: s for s in SCENARIOS} | {s.letter: s for s in SCENARIOS}
    chosen: list[Scenario] = []
    for word in (w.strip() for w in text.split(",")):
        if word not in by_key:
            close = difflib.get_close_matches(word, NAMES, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(
                f"unknown scenario {word!r}{hint}; use all, none, or a comma list of: "
                f"{', '.join(NAMES)}"
            )
        if by_key[word] not in chosen:
            chosen.append(by_key[word])
    return sorted(chosen, key=lambda s: s.letter)

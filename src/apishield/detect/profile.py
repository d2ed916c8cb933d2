"""What apishield remembers about one identity's object access, and about its peers.

Kept in the state backend as small records: an identity's usual networks, clients and hourly
and daily peaks of distinct objects; per peer group, a histogram of hourly peaks. The same
record serves bulk access, BOLA and new-behaviour judgements.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_NETWORKS = 32
MAX_CLIENTS = 8
MAX_ENDPOINTS = 64
NOVELTY = 86_400.0
"""How long a network or client stays "new" for an identity, and how long the identity must
have been known before anything about it can be new."""
_BUCKETS = 24


@dataclass(slots=True)
class Profile:
    first_seen: float
    hour: int = -1
    """Index of the clock hour `hour_peak` belongs to."""
    hour_peak: int = 0
    day: int = -1
    day_peak: int = 0
    max_hourly: int = 0
    """Highest hourly distinct-object count over completed hours."""
    max_daily: int = 0
    networks: dict[str, float] = field(default_factory=dict)
    """Network -> when this identity was first seen on it."""
    clients: dict[str, float] = field(default_factory=dict)
    endpoints: dict[str, float] = field(default_factory=dict)
    last_sequence: int | None = None
    sequential_steps: int = 0
    """Consecutive requests whose numeric object ID is a small step from the one before."""

    def __init__(  # the dataclass signature, written out: see `exchange.Exchange.__init__`
        self,
        first_seen: float,
        hour: int = -1,
        hour_peak: int = 0,
        day: int = -1,
        day_peak: int = 0,
        max_hourly: int = 0,
        max_daily: int = 0,
        networks: dict[str, float] | None = None,
        clients: dict[str, float] | None = None,
        endpoints: dict[str, float] | None = None,
        last_sequence: int | None = None,
        sequential_steps: int = 0,
    ) -> None:
        self.first_seen = first_seen
        self.hour = hour
        self.hour_peak = hour_peak
        self.day = day
        self.day_peak = day_peak
        self.max_hourly = max_hourly
        self.max_daily = max_daily
        self.networks = {} if networks is None else networks
        self.clients = {} if clients is None else clients
        self.endpoints = {} if endpoints is None else endpoints
        self.last_sequence = last_sequence
        self.sequential_steps = sequential_steps

    def age(self, now: float) -> float:
        return now - self.first_seen

    def novelty(self, network: str, client: str, endpoint: str, now: float) -> list[str]:
        """What is new for this identity: a network, client or endpoint it took up only in the
        last day, after a first day without it ("new network", "new client", "new endpoint")."""
        news = []
        if self._new(self.endpoints.get(endpoint), now) and len(self.endpoints) < MAX_ENDPOINTS:
            news.append("new endpoint")
        if self._new(self.networks.get(network), now):
            news.append("new network")
        if self._new(self.clients.get(client), now):
            news.append("new client")
        return news

    def _new(self, since: float | None, now: float) -> bool:
        if since is None:
            return True
        return since >= self.first_seen + NOVELTY and now - since < NOVELTY

    def remember(self, network: str, client: str, endpoint: str, now: float) -> None:
        if endpoint not in self.endpoints and len(self.endpoints) < MAX_ENDPOINTS:
            self.endpoints[endpoint] = now
        if network not in self.networks and len(self.networks) < MAX_NETWORKS:
            self.networks[network] = now
        if client not in self.clients and len(self.clients) < MAX_CLIENTS:
            self.clients[client] = now

    def roll(self, now: float) -> int | None:
        """Move to the hour of `now`; returns the finished hour's peak when one just ended."""
        hour = int(now // 3600)
        finished = None
        if hour != self.hour:
            if self.hour >= 0:
                finished = self.hour_peak
                self.max_hourly = max(self.max_hourly, self.hour_peak)
            self.hour, self.hour_peak = hour, 0
        day = int(now // 86_400)
        if day != self.day:
            if self.day >= 0:
                self.max_daily = max(self.max_daily, self.day_peak)
            self.day, self.day_peak = day, 0
        return finished


@dataclass(slots=True)
class Peers:
    """Hourly peaks of distinct objects across a peer group, as a log2 histogram."""

    counts: list[int] = field(default_factory=lambda: [0] * _BUCKETS)
    total: int = 0

    def add(self, peak: int) -> None:
        self.counts[min(_BUCKETS - 1, max(0, peak).bit_length())] += 1
        self.total += 1

    def quantile(self, q: float) -> int:
        """Upper bound of the bucket holding the q-quantile; 0 with no history."""
        if self.total == 0:
            return 0
        rank = q * self.total
        seen = 0
        for index, count in enumerate(self.counts):
            seen += count
            if seen >= rank:
                return (1 << index) - 1 if index else 0
        return (1 << (_BUCKETS - 1)) - 1

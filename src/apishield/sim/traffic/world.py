"""Everything the traffic side knows: the people's habits, devices, networks and memories.

The API holds hashes; people hold passwords. `Wallet` is what each customer remembers (the
password they type, the token their app kept), so a customer whose password an attacker reset
finds out at the next login and goes through the reset flow, as real victims do.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field

from apishield.sim.telco.api import TelcoApi
from apishield.sim.telco.population import Customer, Population, password_of
from apishield.sim.traffic import agents, network
from apishield.sim.traffic.calendar import Calendar
from apishield.sim.traffic.network import Addresses, Client

CGNAT_ADDRESSES = 48
HOUSEHOLD_SHARE = 0.08
"""Customers who share a home connection with the customer before them (families)."""


@dataclass(slots=True)
class Profile:
    platform: str
    """"ios", "android", "web" (the customer portal), "old-app" or "none" (never signs in)."""
    user_agent: str
    username: str
    home_ips: tuple[str, str]
    """The home connection, and the one it changes to on `moves_on_day` (a new DHCP lease)."""
    moves_on_day: int
    mobile_share: float
    sessions_per_day: float
    widget: bool
    """A home-screen widget that refreshes the lines every 15 minutes while the phone is on."""
    office_ip: str = ""
    proxy_hop: str = ""
    """A corporate proxy's private address the office's requests carry in X-Forwarded-For."""


@dataclass(slots=True)
class Wallet:
    seed: int
    passwords: dict[int, str] = field(default_factory=dict)
    tokens: dict[int, tuple[str, float]] = field(default_factory=dict)

    def password(self, customer_id: int) -> str:
        known = self.passwords.get(customer_id)
        return known if known is not None else password_of(self.seed, customer_id)

    def token(self, customer_id: int, now: float) -> str | None:
        kept = self.tokens.get(customer_id)
        return kept[0] if kept is not None and kept[1] > now + 60 else None


@dataclass(slots=True)
class World:
    seed: int
    population: Population
    api: TelcoApi
    calendar: Calendar
    wallet: Wallet
    profiles: dict[int, Profile]
    cgnat: list[str]
    cgnat_weights: list[float]
    """Cumulative: a few NAT addresses carry more users than others."""
    public: Addresses
    """Benign public addresses not tied to a customer: people checking a number, and so on."""

    def client(self, customer: Customer, moment: float, rng: random.Random) -> Client:
        """The device and network of one session of this customer."""
        profile = self.profiles[customer.customer_id]
        balancer = rng.choice(network.LOAD_BALANCERS)
        if profile.office_ip and rng.random() < 0.85:
            return Client(profile.office_ip, profile.user_agent, profile.proxy_hop, False, balancer)
        if rng.random() < profile.mobile_share:
            ip = rng.choices(self.cgnat, cum_weights=self.cgnat_weights)[0]
            return Client(ip, profile.user_agent, "", False, balancer)
        day = int((moment - self.calendar.start) // 86_400)
        home = profile.home_ips[1] if day >= profile.moves_on_day else profile.home_ips[0]
        return Client(home, profile.user_agent, "", False, balancer)


def build_world(seed: int, population: Population, api: TelcoApi, calendar: Calendar) -> World:
    rng = random.Random(f"{seed}:world")
    homes = Addresses(random.Random(f"{seed}:homes"), network.RESIDENTIAL)
    offices = Addresses(random.Random(f"{seed}:offices"), network.OFFICES)
    profiles: dict[int, Profile] = {}
    previous: Profile | None = None
    for customer in population.customers:
        profile = _profile(rng, customer, homes, offices, previous)
        profiles[customer.customer_id] = previous = profile
    cgnat = network.cgnat_pool(rng, CGNAT_ADDRESSES)
    weights = list(itertools.accumulate(rng.paretovariate(2.0) for _ in cgnat))
    public = Addresses(random.Random(f"{seed}:public"), network.RESIDENTIAL)
    return World(seed, population, api, calendar, Wallet(seed), profiles, cgnat, weights, public)


def _profile(
    rng: random.Random,
    customer: Customer,
    homes: Addresses,
    offices: Addresses,
    previous: Profile | None,
) -> Profile:
    platform = rng.choices(("ios", "android", "web", "old-app", "none"), (36, 30, 12, 3, 19))[0]
    if customer.company:
        platform = "web"
    user_agent = {
        "ios": rng.choice(agents.IOS_APP),
        "android": rng.choice(agents.ANDROID_APP),
        "old-app": rng.choice(agents.OLD_APP),
    }.get(platform, rng.choice(agents.BROWSERS))
    if previous is not None and rng.random() < HOUSEHOLD_SHARE:
        home = previous.home_ips[0]
    else:
        home = homes.take()
    moved = homes.take() if rng.random() < 0.15 else home
    username = customer.email if rng.random() < 0.6 else customer.lines[0].msisdn
    office = offices.take() if customer.company else ""
    return Profile(
        platform=platform,
        user_agent=user_agent,
        username=username,
        home_ips=(home, moved),
        moves_on_day=rng.randint(1, 6),
        mobile_share=0.2 if platform == "web" else rng.uniform(0.4, 0.85),
        sessions_per_day=0.0 if platform == "none" else rng.lognormvariate(0.35, 0.8),
        widget=platform in ("ios", "android") and rng.random() < 0.02,
        office_ip=office,
        proxy_hop=f"10.{rng.randint(1, 250)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}, "
        if office and rng.random() < 0.5
        else "",
    )

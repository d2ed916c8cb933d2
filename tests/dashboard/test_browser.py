"""The dashboard in a real headless Chromium (Debian's, driven by Playwright) over a real
`apishield serve` of a real analysis: every page loads without errors, the endpoint's charts
draw, an incident opens with its timeline, blocks are added and lifted, a missing token asks
for one, attacker-shaped data stays text, and the API docs render with no other origin.

The README's screenshots come from `apishield demo` instead: docs/screenshots/take.py.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from apishield.dashboard import DOCS_URL, NO_CHARTS, NODE_MODULES, VENDOR

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Debian's chromium is not installed: `make browser` (apt-get install chromium)",
)
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HOSTILE_HOST = "<img src=x onerror=window.__pwned=1>"
"""Markup in a Host header, which the inventory keeps as sent; a path holding markup is learned
as a parameter and never reaches a template."""
HOSTILE_ROUTE = "/hostile-probe"
STRAY_TEXT = """() => {
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    const stray = [];
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const text = node.data.trim();
        if (["null", "undefined", "NaN", "[object Object]"].includes(text)) stray.push(text);
    }
    return stray;
}"""
BLOCKED = "198.51.100.23"
"""Blocked by the fixture, lifted by a test."""
KEPT = "203.0.113.99"
"""Blocked by the fixture for good, left in place."""
BLOCKS = [
    {"kind": "ip", "value": BLOCKED, "seconds": 86400, "reason": "burst of 401s"},
    {"kind": "ip", "value": KEPT, "action": "tarpit", "reason": "credential stuffing"},
]


@dataclass
class Console:
    """The running `apishield serve`: its base URL and token."""

    url: str
    token: str
    log: Path

    def api(self, method: str, path: str, **options: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"}
        answer = httpx.request(method, self.url + path, headers=headers, timeout=10, **options)
        answer.raise_for_status()
        return answer.json()


def run(*args: str, env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "apishield.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"apishield {args[0]} failed:\n{done.stdout}\n{done.stderr}"


def hostile_traffic(path: Path) -> None:
    """Three requests on a host of their own, named in markup."""
    lines = [
        {
            "v": 1,
            "started": 1767592800.0 + i,
            "duration": 0.01,
            "request": {
                "method": "GET",
                "path": HOSTILE_ROUTE,
                "host": HOSTILE_HOST,
                "peer_ip": "203.0.113.66",
                "headers": {"user-agent": "<script>window.__pwned=2</script>"},
            },
            "response": {"status": 200, "headers": {"content-type": "application/json"}},
        }
        for i in range(3)
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_health(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"apishield serve exited ({server.returncode}):\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"apishield serve did not answer /api/health within 60 s:\n{log.read_text()}")


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    """Simulated traffic (four attack scenarios, half a day) plus the hostile requests, analysed
    into a store that `apishield serve` then shows, with two blocks in force."""
    tmp = tmp_path_factory.mktemp("dashboard")
    env = {**os.environ, "APISHIELD_HOME": str(tmp / "home")}
    traffic = tmp / "traffic.jsonl.gz"
    run(
        "simulate", "--out", str(traffic), "--format", "jsonl", "--seed", "7", "--days", "0.5",
        "--subscribers", "300", "--scenarios", "bola,exposed-test-api,zombie,scanner", "--quiet",
        env=env,
    )  # fmt: skip
    hostile = tmp / "hostile.jsonl"
    hostile_traffic(hostile)
    db = f"sqlite:///{tmp / 'a.db'}"
    run(
        "analyze", str(traffic), str(hostile), "--spec", str(tmp / "telco-openapi.yaml"),
        "--trusted-proxy", "10.0.0.0/8", "--db", db, "--quiet",
        env=env,
    )  # fmt: skip
    url = f"http://127.0.0.1:{free_port()}"
    log = tmp / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "apishield.cli", "serve", "--db", db, "--run", "latest",
             "--listen", url.removeprefix("http://")],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        wait_for_health(url, server, log)
        found = Console(url, (tmp / "home" / "token").read_text().strip(), log)
        for block in BLOCKS:
            found.api("POST", "/api/v1/blocks", json=block)
        yield found
    finally:
        server.terminate()
        server.wait(timeout=10)


@dataclass
class Tab:
    """One browser page signed in to the console, collecting what went wrong on it."""

    page: Any
    console: Console
    problems: list[str] = field(default_factory=list)

    def watch(self) -> None:
        def on_console(message: Any) -> None:
            if message.type == "error":
                self.problems.append(f"console: {message.text}")

        self.page.on("console", on_console)
        self.page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        self.page.on("requestfailed", self.failed)
        self.page.on(
            "response",
            lambda answer: (
                answer.status >= 400 and self.problems.append(f"HTTP {answer.status}: {answer.url}")
            ),
        )
        self.page.on("dialog", lambda dialog: dialog.accept())

    def failed(self, request: Any) -> None:
        """A request that failed, but for those a navigation cut short (ERR_ABORTED): going to
        another page while a refresh is in flight is the test's doing, not the console's."""
        if request.failure != "net::ERR_ABORTED":
            self.problems.append(f"failed: {request.url} {request.failure}")

    def open(self, route: str) -> Any:
        """Goes to `#{route}` and waits until that page has shown its data."""
        self.page.goto(f"{self.console.url}/#{route}")
        bare = route.split("?", maxsplit=1)[0]
        selector = f'.page[data-route="{bare}"][data-loaded]'
        shown = self.page.wait_for_selector(selector, timeout=15000)
        self.check_text(route)
        return shown

    def check_text(self, route: str) -> None:
        """Counts as a problem any text node that is a value printed by mistake ("null",
        "undefined"), as `replaceChildren(null)` shows where `h()` would drop it."""
        stray: list[str] = self.page.evaluate(STRAY_TEXT)
        self.problems.extend(f"stray text {text!r} on #{route}" for text in stray)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def tab(browser: Any, console: Console) -> Iterator[Tab]:
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    signed = Tab(page, console)
    signed.watch()
    page.goto(f"{console.url}/login?token={console.token}")
    page.wait_for_selector('.page[data-route="/"][data-loaded]')
    yield signed
    context.close()


def charts_installed() -> bool:
    return (NODE_MODULES / VENDOR["chart.js"]).is_file()


def riskiest(console: Console) -> dict[str, Any]:
    items: list[dict[str, Any]] = console.api("GET", "/api/v1/endpoints?sort=risk&limit=1")["items"]
    return items[0]


def ip_incident(console: Console) -> dict[str, Any]:
    """The first incident with an `ip:` actor that is not blocked yet."""
    for incident in console.api("GET", "/api/v1/incidents?limit=500")["items"]:
        if any(actor.startswith("ip:") for actor in incident["actors"]):
            found: dict[str, Any] = incident
            return found
    pytest.fail("the simulated attacks gave no incident with an IP actor")


def narrowest_incident(console: Console) -> dict[str, Any]:
    """The incident on the fewest endpoints: its page draws no "show more" button."""
    items: list[dict[str, Any]] = console.api("GET", "/api/v1/incidents?limit=500")["items"]
    return min(items, key=lambda incident: len(incident["endpoints"]))


def showcase(console: Console) -> dict[str, Any]:
    """The busiest of the five riskiest endpoints: charts with some shape to them."""
    items = console.api("GET", "/api/v1/endpoints?sort=risk&limit=5")["items"]
    busiest: dict[str, Any] = max(items, key=lambda e: e["requests"])
    return busiest


def test_every_page_loads_without_errors(tab: Tab, console: Console) -> None:
    endpoint = showcase(console)
    incident = ip_incident(console)
    narrow = narrowest_incident(console)
    pages = [
        ("/", "Overview"),
        ("/inventory", "API inventory"),
        (f"/endpoints/{endpoint['id']}", endpoint["template"]),
        ("/incidents", "Incidents"),
        (f"/incidents/{incident['id']}", incident["title"]),
        (f"/incidents/{narrow['id']}", narrow["title"]),
        ("/actors", "Actors"),
        ("/blocks", "Active blocks"),
        ("/spec", "Specification audit"),
    ]
    for route, heading in pages:
        shown = tab.open(route)
        assert heading in shown.query_selector("h1").inner_text(), route
    assert tab.problems == []


def test_overview_shows_the_run(tab: Tab, console: Console) -> None:
    overview = console.api("GET", "/api/v1/overview")
    shown = tab.open("/")
    text = shown.inner_text()
    assert "threat level of requests" in text.lower()
    assert f"{overview['incidents']['total']}\nincidents" in text
    # The header dates the traffic by its own (event) time, beside when the run was made.
    last = time.strftime("%Y-%m-%d", time.gmtime(overview["summary"]["last_seen"]))
    run_line = tab.page.inner_text("#run")
    assert f"traffic to {last}" in run_line, run_line
    for level in ("critical", "high", "medium", "low"):
        assert shown.query_selector(f'a[href="#/incidents?severity={level}"]') is not None
    if charts_installed():
        canvas = shown.query_selector('canvas[data-chart="threat-levels"]')
        assert tab.page.evaluate("c => Chart.getChart(c) !== undefined", canvas)
    assert tab.problems == []


@pytest.mark.skipif(not charts_installed(), reason="Chart.js is not installed: `make assets`")
def test_the_endpoint_page_draws_its_three_charts(tab: Tab, console: Console) -> None:
    endpoint = riskiest(console)
    series = console.api("GET", f"/api/v1/endpoints/{endpoint['id']}/series")
    assert sum(series["requests"]) > 0
    shown = tab.open(f"/endpoints/{endpoint['id']}")
    for name in ("requests", "errors", "p95_ms"):
        canvas = shown.query_selector(f'canvas[data-chart="{name}"]')
        box = canvas.bounding_box()
        assert box["width"] > 100 and box["height"] > 100, name
        points = tab.page.evaluate(
            "c => { const chart = Chart.getChart(c); return chart ? chart.data.datasets[0].data"
            ".filter(p => p.y !== null).length : -1; }",
            canvas,
        )
        assert points >= len(series["minutes"]) > 0, name
    assert "parameters" in shown.inner_text().lower()
    assert tab.problems == []


def test_without_chart_js_the_pages_say_so(tab: Tab, console: Console) -> None:
    """What the server answers for /vendor/chart.js without `make assets`, whether or not it is
    installed here."""
    tab.page.route(
        "**/vendor/chart.js",
        lambda route: route.fulfill(body=NO_CHARTS, content_type="text/javascript"),
    )
    route = f"/endpoints/{riskiest(console)['id']}"
    tab.page.goto(f"{console.url}/?assets=none#{route}")
    shown = tab.page.wait_for_selector(f'.page[data-route="{route}"][data-loaded]')
    assert shown.inner_text().count("Charts need make assets") == 3
    assert shown.query_selector("canvas") is None
    assert "parameters" in shown.inner_text().lower()
    assert tab.problems == []


def test_the_spec_audit_page_lists_the_api_findings(tab: Tab, console: Console) -> None:
    audit = console.api("GET", "/api/v1/spec-audit?limit=500")
    assert audit["total"] > 0  # the run was analysed with the telco's spec
    shown = tab.open("/spec")
    text = shown.inner_text()
    assert f"{audit['total']} findings" in text
    first = audit["items"][0]
    assert first["title"] in text and first["rule"] in text
    assert tab.problems == []


def test_an_incident_opens_from_the_list_with_its_timeline(tab: Tab, console: Console) -> None:
    tab.open("/incidents")
    first = tab.page.query_selector("table.grid tbody a.strong")
    href = first.get_attribute("href")
    first.click()
    number = href.rsplit("/", 1)[1]
    shown = tab.page.wait_for_selector(f'.page[data-route="/incidents/{number}"][data-loaded]')
    tab.check_text(f"/incidents/{number}")
    incident = console.api("GET", f"/api/v1/incidents/{number}")
    assert incident["title"] in shown.query_selector("h1").inner_text()
    entries = shown.query_selector_all("ol.timeline > li")
    assert len(entries) == len(incident["timeline"]) > 0
    evidence = incident["timeline"][0]["evidence"]
    if evidence:
        first_key = next(iter(evidence))
        assert entries[0].query_selector("dl.evidence dt").inner_text() == first_key
    for actor in incident["actors"]:
        assert actor in shown.inner_text()
    assert tab.problems == []


def test_an_actor_is_blocked_from_its_incident(tab: Tab, console: Console) -> None:
    incident = ip_incident(console)
    ip = next(a for a in incident["actors"] if a.startswith("ip:")).removeprefix("ip:")
    shown = tab.open(f"/incidents/{incident['id']}")
    shown.query_selector(f'button[data-block="{ip}"]').click()
    tab.page.wait_for_selector("a.badge-blocked")
    blocks = console.api("GET", "/api/v1/blocks")["items"]
    assert {"kind": "ip", "value": ip} in [{"kind": b["kind"], "value": b["value"]} for b in blocks]
    console.api("DELETE", f"/api/v1/blocks/ip/{ip}")
    assert tab.problems == []


def test_a_block_is_lifted_from_the_blocks_page(tab: Tab, console: Console) -> None:
    def values() -> set[str]:
        return {b["value"] for b in console.api("GET", "/api/v1/blocks")["items"]}

    assert BLOCKED in values()
    shown = tab.open("/blocks")
    shown.query_selector(f'button[data-unblock="ip/{BLOCKED}"]').click()
    tab.page.wait_for_selector(f'button[data-unblock="ip/{BLOCKED}"]', state="detached")
    assert BLOCKED not in values()
    assert KEPT in values()
    assert tab.page.query_selector(f'button[data-unblock="ip/{KEPT}"]') is not None
    assert tab.problems == []


def test_without_the_token_the_console_asks_for_it(browser: Any, console: Console) -> None:
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(console.url)
        form = page.wait_for_selector("form#login-form")
        assert "apishield serve" in page.inner_text("main")
        assert "/login?token=" in page.inner_text("main")
        page.fill("input[name=token]", console.token)
        form.evaluate("f => f.requestSubmit()")
        page.wait_for_selector('.page[data-route="/"][data-loaded]')
        assert "Overview" in page.inner_text("h1")
    finally:
        context.close()


def test_attacker_shaped_data_is_shown_as_text(tab: Tab) -> None:
    shown = tab.open(f"/inventory?q={HOSTILE_ROUTE}")
    cell = shown.query_selector("table.grid tbody a")
    assert cell is not None and cell.inner_text() == HOSTILE_ROUTE
    assert HOSTILE_HOST in shown.inner_text()
    assert tab.page.query_selector("main img") is None
    cell.click()
    page = tab.page.wait_for_selector(".page[data-route^='/endpoints/'][data-loaded]")
    assert HOSTILE_ROUTE in page.query_selector("h1").inner_text()
    assert HOSTILE_HOST in page.query_selector(".sub").inner_text()
    assert tab.page.evaluate("window.__pwned") is None
    assert tab.page.query_selector("main img") is None
    built = tab.page.evaluate(
        """async () => {
            const dom = await import("/static/dom.js");
            const cell = dom.h("td", { title: '"><script>' }, "<script>window.__pwned=3</script>");
            const link = dom.h("a", { href: "javascript:window.__pwned=4" }, "x");
            return [cell.innerHTML, cell.getAttribute("title"), link.getAttribute("href")];
        }"""
    )
    assert built == ["&lt;script&gt;window.__pwned=3&lt;/script&gt;", '"><script>', "#/"]
    assert tab.problems == []


def test_a_live_run_refreshes_keeping_scroll_and_filters(tab: Tab) -> None:
    """The stored run is not live, so the overview is answered as a live one; the inventory must
    then fetch again by itself and redraw without moving the page or dropping its filter."""

    def live(route: Any) -> None:
        answer = route.fetch()
        overview = answer.json()
        overview["run"]["live"] = True
        route.fulfill(response=answer, json=overview)

    tab.page.route("**/api/v1/overview", live)
    tab.page.set_viewport_size({"width": 1280, "height": 300})  # short: the list must scroll
    tab.page.goto(f"{tab.console.url}/?live=1#/inventory?state=shadow")
    shown = tab.page.wait_for_selector('.page[data-route="/inventory"][data-loaded]')
    assert tab.page.query_selector(".run .live") is not None
    target = tab.page.evaluate(
        "Math.min(150, document.documentElement.scrollHeight - window.innerHeight)"
    )
    assert target > 20, "the page must scroll for this test to mean anything"
    tab.page.evaluate(f"window.scrollTo(0, {target})")
    shown.query_selector("table.grid").evaluate("t => { t.dataset.old = '1'; }")
    tab.page.wait_for_function(
        "() => !document.querySelector('table.grid[data-old]')", timeout=15000
    )
    assert tab.page.evaluate("window.scrollY") == target
    assert shown.query_selector("select").input_value() == "shadow"
    states = {s.inner_text() for s in shown.query_selector_all("table.grid tbody .badge")}
    assert "shadow" in states and "documented" not in states
    assert tab.problems == []


@pytest.mark.skipif(
    not (NODE_MODULES / VENDOR["swagger-ui-bundle.js"]).is_file(),
    reason="Swagger UI is not installed: `make assets`",
)
def test_the_api_docs_render_offline(browser: Any, console: Console) -> None:
    """Swagger UI from this server alone: any request to another origin is refused and counted,
    and a violation of the page's policy would show as a console error."""
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    outside: list[str] = []

    def local_only(route: Any) -> None:
        if route.request.url.startswith(console.url + "/"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", local_only)
    tab = Tab(context.new_page(), console)
    tab.watch()
    try:
        tab.page.goto(console.url + DOCS_URL)
        path = tab.page.wait_for_selector(
            '.opblock-summary-path[data-path="/api/v1/endpoints"]', timeout=15000
        )
        assert path.inner_text().replace("\u200b", "") == "/api/v1/endpoints"
        assert "apishield" in tab.page.inner_text(".information-container")
        assert tab.page.evaluate("typeof SwaggerUIBundle") == "function"
    finally:
        context.close()
    assert outside == []
    assert tab.problems == []

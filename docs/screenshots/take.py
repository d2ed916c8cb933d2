"""Retake the README's screenshots from a running console, usually `apishield demo`'s.

    apishield demo --out /tmp/demo --port 0 --keep-serving   # wait for "Traffic done"
    .venv/bin/python docs/screenshots/take.py 'http://127.0.0.1:PORT/login?token=TOKEN'

Drives Debian's chromium through Playwright (never a downloaded browser) and writes overview,
inventory, endpoint, incidents, incident, actors, blocks and spec .png beside this file (or into
`--out`); `--only spec,blocks` retakes some of them. The endpoint and the incident are chosen
from the API: of the busiest endpoints the riskiest that answered some errors, and the incident
with the richest timeline, preferring the data exfiltration and BOLA ones. A long page is cut
short until its PNG fits in ~300 KB.
Exits 1, naming them, when the console logged errors or a request failed, so a broken page is
not taken for a picture.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from playwright.sync_api import ViewportSize, sync_playwright

HERE = Path(__file__).parent
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
VIEWPORT: ViewportSize = {"width": 1400, "height": 900}
MAX_HEIGHT = 2400
"""Full-page shots stop here: past it a page is a long list."""
MAX_BYTES = 300_000
"""A shot larger than this is taken again, 15% shorter, down to the viewport's height."""
CONTENT_BOTTOM = "Math.ceil(document.querySelector('main').getBoundingClientRect().bottom)"
"""Where the page's content ends: a short page is not padded to the viewport's height."""
LAST_ROW_ABOVE = """height => {
  const ends = [...document.querySelectorAll("main tr, main .panel, main li")]
    .map((el) => [Math.ceil(el.getBoundingClientRect().bottom + window.scrollY), el.tagName])
    .filter(([bottom]) => bottom <= height)
    .sort((a, b) => a[0] - b[0]);
  if (!ends.length) return height;
  const [bottom, tag] = ends[ends.length - 1];
  return bottom + (tag === "SECTION" ? 16 : 1);
}"""
"""A page cut short ends on the line below its last whole row or timeline entry, not through
one; a page shown whole ends a little below its last panel."""
SHOWCASE = ("exfiltration", "bola", "object")
"""Incident titles worth showing first, in this order."""


@dataclass
class Console:
    """The console's base URL and token, read from the URL `apishield demo` prints."""

    url: str
    token: str

    @classmethod
    def from_login(cls, login: str) -> Console:
        parts = urlsplit(login)
        tokens = parse_qs(parts.query).get("token")
        if not tokens or parts.path != "/login":
            raise SystemExit(
                f"not a login URL: {login!r}; pass the one `apishield demo` prints, "
                "http://127.0.0.1:PORT/login?token=TOKEN"
            )
        return cls(f"{parts.scheme}://{parts.netloc}", tokens[0])

    def api(self, path: str) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"}
        answer = httpx.get(self.url + path, headers=headers, timeout=10)
        answer.raise_for_status()
        return answer.json()


def endpoint_route(console: Console) -> str:
    """Of the ten busiest endpoints, the riskiest whose answers are partly errors (1% to 60%
    of 4xx and 5xx): charts with traffic and errors both, and a page with something to say."""
    items = console.api("/api/v1/endpoints?sort=requests&limit=10")["items"]
    if not items:
        raise SystemExit("the console has no endpoints yet: wait for the demo's traffic")

    def error_share(endpoint: dict[str, Any]) -> float:
        series = console.api(f"/api/v1/endpoints/{endpoint['id']}/series")
        share: float = sum(series["errors"]) / max(sum(series["requests"]), 1)
        return share

    some = [e for e in items if 0.01 <= error_share(e) <= 0.6] or items
    chosen = max(some, key=lambda e: (e["risk"]["score"], e["requests"]))
    return f"/endpoints/{chosen['id']}"


def incident_route(console: Console) -> str:
    """A showcase incident with the longest timeline, else any incident with the longest one."""
    items = console.api("/api/v1/incidents?limit=500")["items"]
    if not items:
        raise SystemExit("the console has no incidents yet: wait for the demo's traffic to end")
    for word in SHOWCASE:
        matching = [i for i in items if word in i["title"].lower()]
        if matching:
            items = matching
            break
    details = [console.api(f"/api/v1/incidents/{i['id']}") for i in items[:20]]
    chosen = max(details, key=lambda i: len(i["timeline"]))
    return f"/incidents/{chosen['id']}"


@dataclass
class Tab:
    """One signed-in page, collecting what went wrong on it."""

    page: Any
    console: Console
    problems: list[str] = field(default_factory=list)

    def watch(self) -> None:
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        self.page.on("requestfailed", self._failed)

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.problems.append(f"console: {message.text}")

    def _failed(self, request: Any) -> None:
        if request.failure != "net::ERR_ABORTED":
            self.problems.append(f"failed: {request.url} {request.failure}")

    def shoot(self, route: str, name: str, out: Path) -> Path:
        """Opens `#{route}`, waits for its data and for the charts to finish drawing, saves it."""
        self.page.goto(f"{self.console.url}/#{route}")
        bare = route.split("?", maxsplit=1)[0]
        self.page.wait_for_selector(f'.page[data-route="{bare}"][data-loaded]', timeout=20000)
        self.page.wait_for_timeout(1500)
        self.page.evaluate("window.scrollTo(0, 0)")
        height = min(self.page.evaluate(CONTENT_BOTTOM), MAX_HEIGHT)
        path = out / f"{name}.png"
        while True:
            clip = {"x": 0, "y": 0, "width": VIEWPORT["width"], "height": height}
            clip["height"] = self.page.evaluate(LAST_ROW_ABOVE, height)
            self.page.screenshot(path=str(path), full_page=True, clip=clip)
            if path.stat().st_size <= MAX_BYTES or height <= VIEWPORT["height"]:
                return path
            height = max(int(height * 0.85), VIEWPORT["height"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("login", help="the /login?token= URL `apishield demo` prints")
    parser.add_argument("--out", type=Path, default=HERE, help="folder for the PNGs")
    parser.add_argument("--only", help="comma-separated names of the pictures to retake")
    args = parser.parse_args()
    chromium = shutil.which("chromium")
    if chromium is None:
        raise SystemExit("Debian's chromium is not installed: `make browser`")
    console = Console.from_login(args.login)
    shots = [
        ("/", "overview"),
        ("/inventory?sort=risk", "inventory"),
        (endpoint_route(console), "endpoint"),
        ("/incidents", "incidents"),
        (incident_route(console), "incident"),
        ("/actors?sort=risk", "actors"),
        ("/blocks", "blocks"),
        ("/spec", "spec"),
    ]
    if args.only:
        wanted = set(args.only.split(","))
        shots = [(route, name) for route, name in shots if name in wanted]
    args.out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=ARGS)
        page = browser.new_page(viewport=VIEWPORT)
        tab = Tab(page, console)
        tab.watch()
        page.goto(args.login)
        page.wait_for_selector('.page[data-route="/"][data-loaded]', timeout=20000)
        for route, name in shots:
            path = tab.shoot(route, name, args.out)
            print(f"{path}  {path.stat().st_size // 1024} KB  #{route}")
        browser.close()
    for problem in tab.problems:
        print(problem, file=sys.stderr)
    return 1 if tab.problems else 0


if __name__ == "__main__":
    sys.exit(main())

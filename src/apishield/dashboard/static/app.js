// The console's shell: hash routes to pages, the run line in the header, auto-refresh on live
// runs, the token form on a 401 and the toast for actions.
//
// A page is `{el, refresh}`: `el` is built once per visit (so filters, focus and scroll stay),
// `refresh()` fetches and replaces only the parts that show data.

import { Unauthorized, get } from "./api.js";
import { fill, h } from "./dom.js";
import { compact, time } from "./format.js";
import { actorsPage } from "./page-actors.js";
import { blocksPage } from "./page-blocks.js";
import { endpointPage } from "./page-endpoint.js";
import { incidentPage } from "./page-incident.js";
import { incidentsPage } from "./page-incidents.js";
import { inventoryPage } from "./page-inventory.js";
import { loginPage } from "./page-login.js";
import { overviewPage } from "./page-overview.js";
import { specPage } from "./page-spec.js";

const REFRESH_MS = 5000;

const ROUTES = [
  [/^\/$/, "overview", overviewPage],
  [/^\/inventory$/, "inventory", inventoryPage],
  [/^\/endpoints\/([^/]+)$/, "inventory", endpointPage],
  [/^\/incidents$/, "incidents", incidentsPage],
  [/^\/incidents\/([^/]+)$/, "incidents", incidentPage],
  [/^\/actors$/, "actors", actorsPage],
  [/^\/blocks$/, "blocks", blocksPage],
  [/^\/spec$/, "spec", specPage],
];

const main = document.getElementById("main");
const runLine = document.getElementById("run");
const toastBox = document.getElementById("toast");
let current = null;
let live = false;
let signedOut = false;

function parseHash() {
  const raw = location.hash.replace(/^#/, "") || "/";
  const [route, search = ""] = raw.split("?");
  return { route, query: new URLSearchParams(search) };
}

/** A route segment as the page asked for it; a malformed escape is kept as written. */
function decodeSegment(segment) {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function notFound(route) {
  const el = h(
    "div",
    { class: "page" },
    h(
      "section",
      { class: "panel" },
      h("h1", null, "Not found"),
      h("p", null, "There is no page ", h("code", null, route), " in the console. "),
      h("a", { href: "#/" }, "Back to the overview"),
    ),
  );
  return { el, refresh: async () => {} };
}

/** What a page gets: its route parameters and query, and ways to change them or act. */
function context(route, query, params) {
  return {
    params,
    query,
    navigate: (hash) => {
      location.hash = hash;
    },
    setQuery: (changes) => {
      for (const [key, value] of Object.entries(changes)) {
        if (value === null || value === undefined || value === "") query.delete(key);
        else query.set(key, String(value));
      }
      const search = query.toString();
      history.replaceState(null, "", `#${route}${search ? `?${search}` : ""}`);
    },
    act,
  };
}

function show() {
  const { route, query } = parseHash();
  let page = null;
  let section = null;
  for (const [pattern, name, create] of ROUTES) {
    const match = pattern.exec(route);
    if (match) {
      const params = match.slice(1).map(decodeSegment);
      const ctx = context(route, query, params);
      page = create(ctx);
      ctx.reload = () => refreshPage(page);
      section = name;
      break;
    }
  }
  current = page ?? notFound(route);
  current.el.dataset.route = route;
  for (const a of document.querySelectorAll(".nav a")) {
    a.toggleAttribute("aria-current", a.dataset.section === section);
  }
  main.replaceChildren(current.el);
  window.scrollTo(0, 0);
  refreshPage(current);
}

/** Refreshes a page, one fetch at a time; `data-loaded` marks it once it has shown data. */
async function refreshPage(page) {
  if (signedOut) return;
  if (page.busy) {
    page.again = true; // a filter changed meanwhile: fetch once more when this one is done
    return;
  }
  page.busy = true;
  try {
    do {
      page.again = false;
      await page.refresh();
    } while (page.again);
    page.el.dataset.loaded = "1";
    if (page === current && !main.contains(page.el)) main.replaceChildren(page.el); // after an error
    main.classList.remove("stale");
  } catch (error) {
    if (page === current) failed(error);
  } finally {
    page.busy = false;
  }
}

function failed(error) {
  if (error instanceof Unauthorized) {
    signOut();
    return;
  }
  console.warn("apishield:", error);
  if (current && main.contains(current.el) && current.el.dataset.loaded) {
    main.classList.add("stale");
    toast(`Refresh failed: ${error.message}`, "error");
  } else {
    main.replaceChildren(
      h(
        "div",
        { class: "page" },
        h(
          "section",
          { class: "panel error-panel" },
          h("h1", null, "This page could not load"),
          h("p", null, error.message),
        ),
      ),
    );
  }
}

function signOut() {
  signedOut = true;
  current = loginPage();
  runLine.replaceChildren();
  main.replaceChildren(current.el);
  current.refresh();
}

/** Runs an action (block, unblock), says how it went; true when it succeeded. */
async function act(action, success) {
  try {
    await action();
    toast(success, "ok");
    return true;
  } catch (error) {
    if (error instanceof Unauthorized) signOut();
    else toast(error.message, "error");
    return false;
  }
}

let toastTimer = null;

function toast(message, tone = "ok") {
  toastBox.textContent = message;
  toastBox.className = `toast toast-${tone}`;
  toastBox.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    toastBox.hidden = true;
  }, 4000);
}

async function updateRun() {
  try {
    const overview = await get("/api/v1/overview");
    const run = overview?.run ?? {};
    live = Boolean(run.live);
    const when = live ? run.started_at : (run.finished_at ?? run.started_at);
    const span = when ? `${live ? "since" : "analysed"} ${time(when).slice(0, 16)} UTC` : "";
    // Event time, which a replayed log or the demo's simulated clock puts far from the wall's.
    const last = overview?.summary?.last_seen;
    const traffic = last ? `traffic to ${time(last).slice(0, 16)} UTC` : "";
    fill(
      runLine,
      live
        ? h("span", { class: "live" }, h("span", { class: "live-dot" }), "Live")
        : h("span", { class: "snapshot" }, "Snapshot"),
      h("span", null, `run ${run.id ?? "?"} · ${run.kind ?? ""}`),
      h("span", null, `${compact(run.events)} events`),
      span ? h("span", { class: "muted-light" }, span) : null,
      traffic ? h("span", { class: "muted-light" }, traffic) : null,
    );
  } catch (error) {
    if (error instanceof Unauthorized) signOut();
    else runLine.replaceChildren(h("span", { class: "muted-light" }, "server unreachable"));
  }
}

async function tick() {
  if (signedOut || document.hidden) return;
  await updateRun();
  if (live && current) {
    await refreshPage(current);
  }
}

document.getElementById("refresh").addEventListener("click", async () => {
  await updateRun();
  if (current) await refreshPage(current);
});
window.addEventListener("hashchange", show);

await updateRun();
if (!signedOut) show();
setInterval(tick, REFRESH_MS);

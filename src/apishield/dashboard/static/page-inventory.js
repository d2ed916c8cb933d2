// #/inventory : every endpoint with its state, risk, auth, data classes, traffic and latency.
// The state and search filters go to the API; the columns sort here. Both live in the URL, so
// they survive refreshes, reloads and the back button.

import { get, items } from "./api.js";
import { h, link, path, table } from "./dom.js";
import { STATES, counts, ms, num, percent } from "./format.js";
import { dataClasses, method, queryPager, risk, routeCode, state } from "./widgets.js";

const LIMIT = 500;

const SORTS = {
  method: (e) => e.method ?? "",
  template: (e) => `${e.template ?? ""} ${e.host ?? ""}`,
  state: (e) => e.state ?? "",
  risk: (e) => e.risk?.score ?? -1,
  unauth: (e) => e.unauthenticated_share ?? -1,
  requests: (e) => e.requests ?? -1,
  errors: (e) => e.server_errors ?? -1,
  p95: (e) => e.latency_p95_ms ?? -1,
};

export function inventoryPage(ctx) {
  const search = h("input", {
    type: "search",
    placeholder: "Filter by path or host",
    value: ctx.query.get("q") ?? "",
    "aria-label": "filter endpoints",
    class: "input",
  });
  const stateSelect = h(
    "select",
    { class: "input", "aria-label": "state" },
    h("option", { value: "" }, "All states"),
    STATES.map((s) => h("option", { value: s }, s)),
  );
  stateSelect.value = ctx.query.get("state") ?? "";
  const deprecated = h("input", { type: "checkbox" });
  deprecated.checked = ctx.query.get("deprecated") === "1";
  const count = h("span", { class: "muted" });
  const body = h("div", { class: "table-wrap" });
  const foot = h("div");
  let last = null;
  let offset = Number(ctx.query.get("offset")) || 0;

  let timer = null;
  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => update({ q: search.value, offset: null }), 250);
  });
  stateSelect.addEventListener("change", () => update({ state: stateSelect.value, offset: null }));
  deprecated.addEventListener("change", () => {
    ctx.setQuery({ deprecated: deprecated.checked ? "1" : null });
    if (last) render(last);
  });

  function update(changes) {
    if ("offset" in changes) offset = 0;
    ctx.setQuery(changes);
    ctx.reload();
  }

  const el = h(
    "div",
    { class: "page" },
    h("div", { class: "page-head" }, h("h1", null, "API inventory"), count),
    h(
      "div",
      { class: "toolbar" },
      search,
      stateSelect,
      h("label", { class: "check" }, deprecated, " deprecated only"),
    ),
    h("section", { class: "panel panel-flush" }, body),
    foot,
  );

  async function refresh() {
    const query = {
      sort: "risk",
      state: ctx.query.get("state"),
      q: ctx.query.get("q"),
      limit: LIMIT,
      offset,
    };
    last = await get("/api/v1/endpoints", query);
    render(last);
  }

  function render(answer) {
    let rows = items(answer);
    if (deprecated.checked) rows = rows.filter((e) => e.deprecated);
    const key = SORTS[ctx.query.get("sort")] ? ctx.query.get("sort") : "risk";
    const desc = ctx.query.get("dir") !== "asc";
    const sorted = [...rows].sort((a, b) => compare(SORTS[key](a), SORTS[key](b)) * (desc ? -1 : 1));
    const hosts = new Set(rows.map((e) => e.host));
    const oneHost = hosts.size === 1 ? ` on ${[...hosts][0]}` : "";
    count.textContent = `${num(answer?.total ?? rows.length)} endpoints${oneHost}`;
    body.replaceChildren(
      table(columns(hosts.size > 1), sorted, {
        sorted: { key, desc },
        onSort: (next) => {
          const dir =
            next === key
              ? desc
                ? "asc"
                : "desc"
              : ["template", "method", "state"].includes(next)
                ? "asc"
                : "desc";
          ctx.setQuery({ sort: next, dir });
          render(answer);
        },
        empty: "No endpoint matches these filters.",
      }),
    );
    foot.replaceChildren(
      queryPager(ctx, answer?.total ?? 0, offset, LIMIT, (next) => (offset = next)),
    );
  }

  return { el, refresh };
}

function compare(a, b) {
  if (typeof a === "number" && typeof b === "number") return a - b;
  return String(a).localeCompare(String(b));
}

function authCell(e) {
  const schemes = counts(e.auth).map(([name]) => name);
  return schemes.length
    ? schemes.map((s) => h("span", { class: s === "none" ? "chip chip-warn" : "chip" }, s))
    : h("span", { class: "muted" }, "–");
}

function unauthCell(e) {
  const share = e.unauthenticated_share;
  const tone = share >= 0.5 ? "tone-text-high" : share > 0 ? "tone-text-medium" : "muted";
  return h("span", { class: tone }, percent(share));
}

const columns = (showHost) => [
  { title: "Method", sort: "method", cell: (e) => method(e.method) },
  {
    title: "Endpoint",
    sort: "template",
    cell: (e) => [
      link(path("endpoints", e.id), routeCode(e.template)),
      showHost ? h("div", { class: "sub" }, e.host ?? "") : null,
    ],
  },
  {
    title: "State",
    sort: "state",
    cell: (e) => [
      state(e.state),
      e.deprecated ? h("span", { class: "badge badge-deprecated" }, "deprecated") : null,
    ],
  },
  { title: "Risk", sort: "risk", num: true, cell: (e) => risk(e.risk) },
  { title: "Auth", cell: authCell },
  {
    title: "Unauth.",
    sort: "unauth",
    num: true,
    cell: unauthCell,
    hint: "share of requests without credentials",
  },
  { title: "Data classes", cell: (e) => dataClasses(e.data_classes, 4) },
  { title: "Requests", sort: "requests", num: true, cell: (e) => num(e.requests) },
  { title: "5xx", sort: "errors", num: true, cell: (e) => num(e.server_errors) },
  { title: "p95", sort: "p95", num: true, cell: (e) => ms(e.latency_p95_ms) },
];

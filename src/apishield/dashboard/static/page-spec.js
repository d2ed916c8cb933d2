// #/spec : what the run's specification alone says is risky (`apishield spec audit`), beside
// the traffic each operation saw, so a risk the spec declares and the traffic exercises stands out.

import { get, items } from "./api.js";
import { h, table } from "./dom.js";
import { num } from "./format.js";
import { method, queryPager, routeCode, severity } from "./widgets.js";

const LIMIT = 50;

export function specPage(ctx) {
  const body = h("div", { class: "table-wrap" });
  const foot = h("div");
  const count = h("span", { class: "muted" });
  let offset = Number(ctx.query.get("offset")) || 0;
  const el = h(
    "div",
    { class: "page" },
    h("div", { class: "page-head" }, h("h1", null, "Specification audit"), count),
    h(
      "p",
      { class: "muted" },
      "What the OpenAPI document alone says is risky, with the requests each operation saw. " +
        "Analyses without a spec (--spec or inventory.spec) have nothing here.",
    ),
    h("section", { class: "panel panel-flush" }, body),
    foot,
  );

  async function refresh() {
    const page = await get("/api/v1/spec-audit", { limit: LIMIT, offset });
    count.textContent = `${num(page?.total ?? 0)} findings`;
    body.replaceChildren(table(COLUMNS, items(page), { empty: "No spec audit for this run." }));
    foot.replaceChildren(
      queryPager(ctx, page?.total ?? 0, offset, LIMIT, (next) => (offset = next)),
    );
  }

  return { el, refresh };
}

const COLUMNS = [
  { title: "Severity", cell: (f) => severity(f.severity) },
  {
    title: "Finding",
    cell: (f) => [h("div", null, f.title), h("code", { class: "sub" }, f.rule)],
  },
  {
    title: "Operation",
    class: "nowrap",
    cell: (f) => [method(f.method), " ", routeCode(f.path)],
  },
  {
    title: "Why, and the fix",
    cell: (f) => [h("div", null, f.detail), h("div", { class: "sub" }, `Fix: ${f.fix}`)],
  },
  { title: "Requests", num: true, cell: (f) => num(f.requests) },
  {
    title: "Without credentials",
    num: true,
    cell: (f) =>
      f.unauthenticated ? h("span", { class: "tone-text-high strong" }, num(f.unauthenticated)) : "0",
  },
  { title: "OWASP", class: "nowrap", cell: (f) => f.category },
];

// #/incidents : incidents, most severe then newest first, filtered by severity.

import { get, items, optional } from "./api.js";
import { h, path, table } from "./dom.js";
import { SEVERITIES, counts, duration, num, time } from "./format.js";
import { queryPager, segmented, severity } from "./widgets.js";

const LIMIT = 100;

export function incidentsPage(ctx) {
  const filters = h("div", { class: "toolbar" });
  const body = h("div", { class: "table-wrap" });
  const foot = h("div");
  const count = h("span", { class: "muted" });
  let offset = Number(ctx.query.get("offset")) || 0;
  const el = h(
    "div",
    { class: "page" },
    h("div", { class: "page-head" }, h("h1", null, "Incidents"), count),
    filters,
    h("section", { class: "panel panel-flush" }, body),
    foot,
  );

  async function refresh() {
    const chosen = ctx.query.get("severity") ?? "";
    const [overview, page] = await Promise.all([
      optional(get("/api/v1/overview")),
      get("/api/v1/incidents", { severity: chosen, limit: LIMIT, offset }),
    ]);
    const by = overview?.incidents?.by_severity ?? {};
    const options = [
      { value: "", label: "All", count: overview?.incidents?.total },
      ...SEVERITIES.map((s) => ({ value: s, label: s, count: by[s], tone: s })),
    ];
    filters.replaceChildren(
      segmented(options, chosen, (value) => {
        offset = 0;
        ctx.setQuery({ severity: value, offset: null });
        ctx.reload();
      }),
    );
    count.textContent = `${num(page?.total ?? 0)} ${chosen ? `${chosen} ` : ""}incidents`;
    body.replaceChildren(
      table(COLUMNS, items(page), {
        empty: "No incident.",
        onRow: (i) => ctx.navigate(path("incidents", i.id)),
      }),
    );
    foot.replaceChildren(
      queryPager(ctx, page?.total ?? 0, offset, LIMIT, (next) => (offset = next)),
    );
  }

  return { el, refresh };
}

function firstKeys(object, n) {
  const entries = counts(object);
  const shown = entries.slice(0, n).map(([key]) => h("code", { class: "chip" }, key));
  return entries.length > n ? [shown, h("span", { class: "muted" }, ` +${num(entries.length - n)}`)] : shown;
}

const COLUMNS = [
  { title: "Severity", cell: (i) => severity(i.severity) },
  { title: "#", num: true, cell: (i) => num(i.id) },
  {
    title: "Incident",
    cell: (i) => [
      h("a", { href: path("incidents", i.id), class: "strong" }, i.title ?? `incident ${i.id}`),
      h("div", { class: "sub" }, i.category ?? "", " · ", h("code", null, i.scope ?? "")),
    ],
  },
  { title: "Actors", cell: (i) => firstKeys(i.actors, 2) },
  { title: "Endpoints", num: true, cell: (i) => num(Object.keys(i.endpoints ?? {}).length) },
  { title: "Rules", num: true, cell: (i) => num(Object.keys(i.rules ?? {}).length) },
  { title: "First seen (UTC)", class: "nowrap", cell: (i) => time(i.first_seen) },
  { title: "Lasted", num: true, cell: (i) => duration((i.last_seen ?? 0) - (i.first_seen ?? 0)) },
];

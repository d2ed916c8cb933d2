// #/endpoints/{id} : one endpoint: traffic, errors and p95 latency per minute, its parameters,
// data classes, risk factors, the rules that fired on it and the incidents it took part in.

import { get, optional } from "./api.js";
import { COLORS, available, canvasOf, chartBox, perMinute, timeSeries } from "./charts.js";
import { h, keyValues, link, panel, path, table } from "./dom.js";
import { counts, ms, num, percent, plural, sum, time } from "./format.js";
import { dataClasses, method, risk, severity, stat, state } from "./widgets.js";

const CHARTS = [
  { name: "requests", title: "Requests per minute", color: COLORS.requests, unit: "", fill: 0 },
  { name: "errors", title: "Errors per minute (status ≥ 400)", color: COLORS.errors, unit: "", fill: 0 },
  { name: "p95_ms", title: "p95 latency (ms)", color: COLORS.p95, unit: " ms", fill: null },
];

export function endpointPage(ctx) {
  const id = ctx.params[0];
  const head = h("div", { class: "page-head endpoint-head" });
  const cards = h("div", { class: "stats" });
  const boxes = CHARTS.map((c) => chartBox(c.name, { label: c.title }));
  const details = h("div", { class: "stack-v" });
  const el = h(
    "div",
    { class: "page" },
    h("nav", { class: "crumbs" }, link("#/inventory", "Inventory"), " / ", h("span", null, "endpoint")),
    head,
    cards,
    h(
      "div",
      { class: "row row-3" },
      CHARTS.map((c, i) => panel(c.title, boxes[i])),
    ),
    details,
  );

  async function refresh() {
    const [endpoint, series] = await Promise.all([
      get(`/api/v1/endpoints/${encodeURIComponent(id)}`),
      optional(get(`/api/v1/endpoints/${encodeURIComponent(id)}/series`)),
    ]);
    head.replaceChildren(...title(endpoint));
    cards.replaceChildren(...figures(endpoint, series));
    drawCharts(series);
    details.replaceChildren(...sections(endpoint));
  }

  function drawCharts(series) {
    if (!available()) return;
    CHARTS.forEach((c, i) => {
      const points = perMinute(series?.minutes, series?.[c.name], c.fill);
      const style = { label: c.title, color: c.color, unit: c.unit, area: c.fill !== null };
      timeSeries(canvasOf(boxes[i]), points, style);
    });
  }

  return { el, refresh };
}

function title(e) {
  return [
    h(
      "div",
      null,
      h("h1", { class: "endpoint-title" }, method(e.method), " ", h("code", null, e.template ?? "?")),
      h(
        "div",
        { class: "sub" },
        e.host ?? "",
        " · first seen ",
        time(e.first_seen),
        " · last seen ",
        time(e.last_seen),
        " UTC",
      ),
    ),
    h(
      "div",
      { class: "head-badges" },
      state(e.state),
      e.deprecated ? h("span", { class: "badge badge-deprecated" }, "deprecated") : null,
      h("span", { class: "risk-box" }, h("span", { class: "muted" }, "risk "), risk(e.risk)),
    ),
  ];
}

function figures(e, series) {
  const statuses = e.statuses ?? {};
  const failed = sum(
    Object.entries(statuses)
      .filter(([code]) => Number(code) >= 400)
      .map(([, n]) => n),
  );
  const errors = series ? sum(series.errors ?? []) : failed;
  return [
    stat("requests", num(e.requests)),
    stat("errors (≥ 400)", num(errors), {
      sub: `${num(e.server_errors)} server errors (5xx)`,
      tone: e.server_errors ? "medium" : null,
    }),
    stat("p50 · p95 latency", `${ms(e.latency_p50_ms)} · ${ms(e.latency_p95_ms)}`),
    stat("without credentials", percent(e.unauthenticated_share), {
      tone: e.unauthenticated_share >= 0.5 ? "high" : null,
    }),
    stat("findings", num((e.findings ?? []).length), { sub: plural((e.incidents ?? []).length, "incident") }),
  ];
}

function sections(e) {
  const factors = e.risk?.factors ?? [];
  return [
    h(
      "div",
      { class: "row row-2" },
      panel(
        "Risk factors",
        factors.length
          ? table(
              [
                { title: "Points", num: true, cell: (f) => `+${num(f.points)}` },
                { title: "Factor", cell: (f) => f.name ?? "" },
                { title: "Why", cell: (f) => f.detail ?? "" },
              ],
              factors,
            )
          : h("p", { class: "muted" }, "No risk factor."),
        e.reasons?.length
          ? [
              h("h3", null, `Why ${e.state ?? "this state"}`),
              h(
                "ul",
                { class: "plain" },
                e.reasons.map((r) => h("li", null, r)),
              ),
            ]
          : null,
      ),
      panel(
        "Data",
        keyValues([
          ["Data classes", h("div", { class: "chips" }, dataClasses(e.data_classes))],
          [
            "Auth schemes",
            h(
              "div",
              { class: "chips" },
              counts(e.auth).map(([s, n]) =>
                h("span", { class: s === "none" ? "chip chip-warn" : "chip" }, `${s} × ${num(n)}`),
              ),
            ),
          ],
          [
            "Status codes",
            h(
              "div",
              { class: "chips" },
              counts(e.statuses).map(([code, n]) =>
                h("span", { class: Number(code) >= 500 ? "chip chip-warn" : "chip" }, `${code} × ${num(n)}`),
              ),
            ),
          ],
        ]),
        responseFields(e.response_fields),
      ),
    ),
    h(
      "div",
      { class: "row row-2 row-top" },
      panel(
        "Parameters",
        table(
          [
            { title: "In", cell: (p) => h("span", { class: "chip" }, p.in ?? "") },
            { title: "Name", cell: (p) => h("code", null, p.name ?? "") },
            { title: "Type", cell: (p) => p.type ?? "" },
            { title: "Seen", num: true, cell: (p) => num(p.seen) },
          ],
          e.params ?? [],
          { empty: "No parameters seen." },
        ),
      ),
      panel(
        "Findings on this endpoint",
        table(
          [
            { title: "Severity", cell: (f) => severity(f.severity) },
            {
              title: "Rule",
              cell: (f) => [
                h("span", null, f.title ?? ""),
                h("div", { class: "sub" }, h("code", null, f.rule_id ?? "")),
              ],
            },
            { title: "Requests", num: true, cell: (f) => num(f.requests) },
          ],
          e.findings ?? [],
          { empty: "No rule fired on this endpoint." },
        ),
        h("h3", null, "Incidents"),
        (e.incidents ?? []).length
          ? h(
              "ul",
              { class: "plain" },
              e.incidents.map((i) =>
                h(
                  "li",
                  null,
                  severity(i.severity),
                  " ",
                  link(path("incidents", i.id), `#${i.id} ${i.title ?? ""}`),
                ),
              ),
            )
          : h("p", { class: "muted" }, "None."),
      ),
    ),
  ];
}

function responseFields(fields) {
  const entries = Object.entries(fields ?? {});
  if (!entries.length) return null;
  return [
    h("h3", null, "Sensitive response fields"),
    table(
      [
        { title: "Field", cell: ([field]) => h("code", null, field) },
        {
          title: "Class",
          cell: ([, cls]) =>
            h("span", { class: "chip chip-pii" }, typeof cls === "string" ? cls : JSON.stringify(cls)),
        },
      ],
      entries.slice(0, 40),
    ),
    entries.length > 40 ? h("p", { class: "muted" }, `and ${num(entries.length - 40)} more`) : null,
  ];
}

// #/ : the run at a glance: headline figures, the threat-level mix of requests, incidents by
// severity, the inventory's states, the riskiest endpoints and documentation coverage.

import { get, items, optional } from "./api.js";
import { COLORS, available, canvasOf, chartBox, doughnut } from "./charts.js";
import { h, link, panel, path, table } from "./dom.js";
import { SEVERITIES, STATES, THREAT_LEVELS, compact, counts, num, percent, plural, sum } from "./format.js";
import { bars, dataClasses, method, risk, routeCode, severity, stat, state } from "./widgets.js";

export function overviewPage() {
  const cards = h("div", { class: "stats" });
  const threatChart = chartBox("threat-levels", { small: true, label: "threat level of requests" });
  const threatLegend = h("div", { class: "legend" });
  const bySeverity = h("div");
  const byState = h("div");
  const riskiest = h("div");
  const coverage = h("div");
  const rules = h("div");
  const el = h(
    "div",
    { class: "page" },
    h("div", { class: "page-head" }, h("h1", null, "Overview")),
    cards,
    h(
      "div",
      { class: "row row-3" },
      panel("Threat level of requests", h("div", { class: "donut" }, threatChart, threatLegend)),
      panel("Incidents by severity", bySeverity),
      panel("Inventory", byState),
    ),
    h(
      "div",
      { class: "row row-2-1" },
      panel("Riskiest endpoints", riskiest),
      panel("Documentation coverage", coverage),
    ),
    panel("Detections by rule", rules),
  );

  async function refresh() {
    const [overview, endpoints, findings] = await Promise.all([
      get("/api/v1/overview"),
      optional(get("/api/v1/endpoints", { sort: "risk", limit: 8 })),
      optional(get("/api/v1/findings")),
    ]);
    const summary = overview?.summary ?? {};
    cards.replaceChildren(...headline(overview, summary));
    drawThreats(overview?.threat_levels ?? findings?.threat_levels ?? {});
    bySeverity.replaceChildren(severityBars(overview?.incidents));
    byState.replaceChildren(stateBars(summary));
    riskiest.replaceChildren(riskyTable(items(endpoints)));
    coverage.replaceChildren(coverageView(overview?.coverage));
    rules.replaceChildren(rulesTable(findings?.rules ?? []));
  }

  function drawThreats(levels) {
    const values = THREAT_LEVELS.map((level) => levels[level] ?? 0);
    const total = sum(values);
    const canvas = canvasOf(threatChart);
    if (canvas && available())
      doughnut(
        canvas,
        THREAT_LEVELS,
        values,
        THREAT_LEVELS.map((l) => COLORS[l]),
      );
    threatLegend.replaceChildren(
      ...[...THREAT_LEVELS]
        .reverse()
        .map((level) =>
          h(
            "div",
            { class: "legend-row" },
            h("span", { class: `dot dot-${level}` }),
            h("span", { class: "legend-label" }, level),
            h("span", { class: "legend-value" }, num(levels[level] ?? 0)),
            h("span", { class: "legend-share" }, total ? percent((levels[level] ?? 0) / total, 1) : "–"),
          ),
        ),
      h("div", { class: "legend-total muted" }, `${num(total)} requests judged`),
    );
  }

  return { el, refresh };
}

function headline(overview, summary) {
  const byRisk = summary.by_risk ?? {};
  const byState = summary.by_state ?? {};
  const incidents = overview?.incidents ?? {};
  const severe = (incidents.by_severity?.critical ?? 0) + (incidents.by_severity?.high ?? 0);
  const has = (key) => typeof summary[key] === "number";
  return [
    stat("requests", compact(summary.requests ?? overview?.run?.events), {
      sub: `${num(overview?.run?.events)} events`,
    }),
    stat("endpoints", num(summary.endpoints), {
      href: "#/inventory",
      sub: has("hosts") ? `on ${plural(summary.hosts, "host")}` : null,
    }),
    stat("high-risk endpoints", num(byRisk.high ?? 0), {
      tone: byRisk.high ? "high" : null,
      href: "#/inventory",
      sub: `${num(byRisk.medium ?? 0)} medium risk`,
    }),
    stat("incidents", num(incidents.total ?? 0), {
      tone: severe ? "high" : null,
      href: "#/incidents",
      sub: `${num(severe)} critical or high`,
    }),
    stat("shadow · zombie", `${num(byState.shadow ?? 0)} · ${num(byState.zombie ?? 0)}`, {
      href: "#/inventory?state=shadow",
      sub: has("deprecated") ? `${num(summary.deprecated)} deprecated` : "undocumented · outdated",
    }),
    has("unauthenticated_with_personal_data")
      ? stat("personal data, no auth", num(summary.unauthenticated_with_personal_data), {
          tone: summary.unauthenticated_with_personal_data ? "high" : null,
          sub: has("with_personal_data")
            ? `${num(summary.with_personal_data)} endpoints serve personal data`
            : null,
        })
      : null,
    stat("active blocks", num(overview?.blocks ?? 0), { href: "#/blocks" }),
  ].filter(Boolean);
}

function severityBars(incidents) {
  const by = incidents?.by_severity ?? {};
  return h(
    "div",
    null,
    bars(
      SEVERITIES.map((level) => ({
        label: level,
        value: by[level] ?? 0,
        tone: level,
        href: `#/incidents?severity=${level}`,
      })),
    ),
    h("p", { class: "panel-foot" }, link("#/incidents", `All ${num(incidents?.total ?? 0)} incidents →`)),
  );
}

function stateBars(summary) {
  const by = summary.by_state ?? {};
  const known = STATES.filter((s) => by[s] !== undefined);
  const other = Object.keys(by).filter((s) => !STATES.includes(s));
  const rows = [...known, ...other].map((s) => ({
    label: s,
    value: by[s],
    tone: `state-${s}`,
    href: `#/inventory?state=${encodeURIComponent(s)}`,
  }));
  const classes = counts(summary.data_classes).slice(0, 10);
  return h(
    "div",
    null,
    rows.length ? bars(rows) : h("p", { class: "muted" }, "No endpoints yet."),
    classes.length
      ? [
          h("h3", null, "Data classes seen"),
          h("div", { class: "chips" }, dataClasses(Object.fromEntries(classes))),
        ]
      : null,
  );
}

function riskyTable(endpoints) {
  return table(
    [
      { title: "Risk", cell: (e) => risk(e.risk), num: true },
      { title: "Endpoint", cell: (e) => endpointName(e) },
      { title: "State", cell: (e) => state(e.state) },
      { title: "Data classes", cell: (e) => dataClasses(e.data_classes, 3) },
      { title: "Requests", cell: (e) => num(e.requests), num: true },
    ],
    endpoints,
    { empty: "No endpoints yet." },
  );
}

/** `GET /v2/x` linked to its page. */
export function endpointName(e) {
  return h(
    "span",
    { class: "endpoint" },
    method(e.method),
    " ",
    link(path("endpoints", e.id), routeCode(e.template)),
  );
}

function coverageView(coverage) {
  if (!coverage)
    return h(
      "p",
      { class: "muted" },
      "No specification was given: start the server (or analyze) with --spec to measure coverage.",
    );
  const unused = coverage.unused_operations ?? [];
  return h(
    "div",
    null,
    gauge(
      "of observed endpoints are documented",
      coverage.documented_percent,
      `${num(coverage.documented_endpoints)} of ${num(coverage.observed_endpoints)}`,
    ),
    gauge(
      "of documented operations were called",
      coverage.spec_used_percent,
      `${num(coverage.spec_operations_used)} of ${num(coverage.spec_operations)}`,
    ),
    unused.length
      ? [
          h("h3", null, "Documented, never called"),
          h(
            "ul",
            { class: "plain" },
            unused
              .slice(0, 8)
              .map((op) =>
                h(
                  "li",
                  null,
                  method(op.method),
                  " ",
                  h("code", null, op.path),
                  op.deprecated ? h("span", { class: "badge badge-deprecated" }, "deprecated") : null,
                ),
              ),
          ),
        ]
      : null,
  );
}

function gauge(label, value, detail) {
  const share = Math.max(0, Math.min(100, Number(value) || 0));
  const tone = share >= 80 ? "low" : share >= 50 ? "medium" : "high";
  return h(
    "div",
    { class: "gauge" },
    h(
      "div",
      { class: "gauge-top" },
      h("span", { class: `gauge-value tone-text-${tone}` }, `${share.toFixed(share % 1 ? 1 : 0)}%`),
      h("span", null, label),
    ),
    h(
      "span",
      { class: "bar-track" },
      h("span", { class: `bar-fill tone-${tone}`, style: { width: `${share}%` } }),
    ),
    h("span", { class: "muted" }, detail),
  );
}

function rulesTable(rules) {
  return table(
    [
      { title: "Severity", cell: (r) => severity(r.severity) },
      {
        title: "Rule",
        cell: (r) => [
          h("span", null, r.title ?? ""),
          h("br"),
          h("code", { class: "muted" }, r.rule_id ?? ""),
        ],
      },
      { title: "Category", cell: (r) => r.category ?? "" },
      {
        title: "Top endpoints",
        cell: (r) =>
          counts(r.endpoints)
            .slice(0, 2)
            .map(([e]) => h("code", { class: "chip" }, e)),
      },
      {
        title: "Top actors",
        cell: (r) =>
          counts(r.actors)
            .slice(0, 2)
            .map(([a]) => h("code", { class: "chip" }, a)),
      },
      { title: "Requests", cell: (r) => num(r.requests), num: true },
    ],
    rules.slice(0, 12),
    { empty: "No detections." },
  );
}

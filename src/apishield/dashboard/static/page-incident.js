// #/incidents/{id} : one incident: who, from where, against what, which rules, and its timeline
// with the evidence of each detection; its IP actors can be blocked from here.

import { actorIp, blockIp, endpointIds, get, optional } from "./api.js";
import { fill, h, keyValues, link, panel, path, table } from "./dom.js";
import { counts, duration, num, time } from "./format.js";
import { chips, routeCode, severity } from "./widgets.js";

export function incidentPage(ctx) {
  const id = ctx.params[0];
  const head = h("div", { class: "page-head" });
  const meta = h("div");
  const body = h("div", { class: "stack-v" });
  const el = h(
    "div",
    { class: "page" },
    h("nav", { class: "crumbs" }, link("#/incidents", "Incidents"), " / ", `#${id}`),
    head,
    meta,
    body,
  );
  let links = null;
  const view = { allEndpoints: false }; // kept across refreshes

  async function refresh() {
    const [incident, blocks] = await Promise.all([
      get(`/api/v1/incidents/${encodeURIComponent(id)}`),
      optional(get("/api/v1/blocks")),
    ]);
    // The server names each endpoint's id; an older one does not, so look them up then.
    links = incident.endpoint_ids
      ? new Map(Object.entries(incident.endpoint_ids))
      : (links ?? (await endpointIds()));
    const blocked = new Set((blocks?.items ?? []).filter((b) => b.kind === "ip").map((b) => b.value));
    head.replaceChildren(
      h(
        "h1",
        { class: "incident-title" },
        severity(incident.severity),
        " ",
        h("span", { class: "muted" }, `#${incident.id ?? id}`),
        " ",
        incident.title ?? "",
      ),
    );
    meta.replaceChildren(
      h(
        "section",
        { class: "panel" },
        keyValues(
          [
            ["Category", incident.category],
            ["Scope", h("code", null, incident.scope ?? "")],
            ["First seen", `${time(incident.first_seen)} UTC`],
            ["Last seen", `${time(incident.last_seen)} UTC`],
            ["Lasted", duration((incident.last_seen ?? 0) - (incident.first_seen ?? 0))],
            ["IPs", h("div", { class: "chips" }, chips(incident.ips, 24, incident.ips?.length))],
          ],
          { class: "kv kv-wide" },
        ),
      ),
    );
    body.replaceChildren(
      h(
        "div",
        { class: "row row-2" },
        panel("Actors", actorsTable(incident, blocked, ctx)),
        panel("Rules", rulesTable(incident)),
      ),
      panel("Endpoints", endpointsTable(incident.endpoints, links, view)),
      panel(
        `Timeline (${num((incident.timeline ?? []).length)} detections)`,
        timeline(incident.timeline ?? [], links),
      ),
    );
  }

  return { el, refresh };
}

function actorsTable(incident, blocked, ctx) {
  const rows = counts(incident.actors);
  return table(
    [
      { title: "Actor", cell: ([actor]) => h("code", null, actor) },
      { title: "Detections", num: true, cell: ([, n]) => num(n) },
      { title: "", cell: ([actor]) => blockCell(actor, incident, blocked, ctx) },
    ],
    rows,
    { empty: "No actor recorded." },
  );
}

function blockCell(actor, incident, blocked, ctx) {
  const ip = actorIp(actor);
  if (!ip) return null;
  if (blocked.has(ip)) return h("a", { href: "#/blocks", class: "badge badge-blocked" }, "blocked");
  return h(
    "button",
    {
      class: "btn btn-danger btn-small",
      "data-block": ip,
      onclick: async (event) => {
        event.stopPropagation();
        if (!window.confirm(`Block ${ip}? Guards refuse its requests until the block is lifted.`)) return;
        await ctx.act(
          () => blockIp(ip, `incident #${incident.id}: ${incident.title ?? ""}`),
          `Blocked ${ip}`,
        );
        await ctx.reload();
      },
    },
    "Block actor",
  );
}

function rulesTable(incident) {
  const detected = incident.detected_at ?? {};
  return table(
    [
      { title: "Rule", cell: ([rule]) => h("code", null, rule) },
      { title: "Requests", num: true, cell: ([, n]) => num(n) },
      { title: "Detected (UTC)", class: "nowrap", cell: ([rule]) => time(detected[rule]) },
    ],
    counts(incident.rules),
    { empty: "No rule recorded." },
  );
}

function endpointName(name, links) {
  const id = links?.get(name);
  return id ? link(path("endpoints", id), routeCode(name)) : routeCode(name ?? "");
}

const SHOWN_ENDPOINTS = 8;

/** The endpoints involved, the first few at once and the rest on demand. */
function endpointsTable(endpoints, links, view) {
  const rows = counts(endpoints);
  const box = h("div");
  const showAll = () => {
    view.allEndpoints = true;
    draw();
  };
  const draw = () => {
    const shown = view.allEndpoints ? rows : rows.slice(0, SHOWN_ENDPOINTS);
    const columns = [
      { title: "Endpoint", cell: ([name]) => endpointName(name, links) },
      { title: "Detections", num: true, cell: ([, n]) => num(n) },
    ];
    const more = rows.length - shown.length;
    fill(
      box,
      table(columns, shown, { empty: "No endpoint recorded." }),
      more > 0
        ? h("button", { class: "btn btn-small more", onclick: showAll }, `Show ${num(more)} more`)
        : null,
    );
  };
  draw();
  return box;
}

function timeline(entries, links) {
  if (!entries.length) return h("p", { class: "muted" }, "No detection recorded.");
  return h(
    "ol",
    { class: "timeline" },
    entries.map((entry) =>
      h(
        "li",
        { class: `tl tl-${entry.severity ?? "info"}` },
        h("div", { class: "tl-time" }, time(entry.time)),
        h(
          "div",
          { class: "tl-body" },
          h(
            "div",
            { class: "tl-head" },
            severity(entry.severity),
            " ",
            h("strong", null, entry.title ?? entry.rule_id ?? ""),
            " ",
            h("code", { class: "muted" }, entry.rule_id ?? ""),
          ),
          h(
            "div",
            { class: "sub" },
            "actor ",
            h("code", null, entry.actor ?? "–"),
            " · ",
            endpointName(entry.endpoint, links),
          ),
          evidence(entry.evidence),
        ),
      ),
    ),
  );
}

function evidence(value) {
  const entries = Object.entries(value ?? {});
  if (!entries.length) return null;
  return h(
    "dl",
    { class: "evidence" },
    entries.map(([key, v]) => [
      h("dt", null, key),
      h("dd", null, typeof v === "string" ? v : JSON.stringify(v)),
    ]),
  );
}

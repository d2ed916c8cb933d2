// #/actors : who sent the traffic: identity, addresses, endpoints, volume, threat mix. An actor
// key names its identity (`id:…`) when it has one, so the identity shows apart only if it differs.

import { actorIp, blockIp, get, items } from "./api.js";
import { h, table } from "./dom.js";
import { counts, num, time } from "./format.js";
import { chips, queryPager, segmented, threatBar } from "./widgets.js";

const LIMIT = 50;

export function actorsPage(ctx) {
  const toolbar = h("div", { class: "toolbar" });
  const body = h("div", { class: "table-wrap" });
  const foot = h("div");
  const count = h("span", { class: "muted" });
  let offset = Number(ctx.query.get("offset")) || 0;
  const el = h(
    "div",
    { class: "page" },
    h("div", { class: "page-head" }, h("h1", null, "Actors"), count),
    toolbar,
    h("section", { class: "panel panel-flush" }, body),
    foot,
  );

  async function refresh() {
    const sort = ctx.query.get("sort") === "risk" ? "risk" : "requests";
    const page = await get("/api/v1/actors", { sort, limit: LIMIT, offset });
    toolbar.replaceChildren(
      h("span", { class: "muted" }, "Sort by "),
      segmented(
        [
          { value: "requests", label: "requests" },
          { value: "risk", label: "risk" },
        ],
        sort,
        (value) => {
          offset = 0;
          ctx.setQuery({ sort: value, offset: null });
          ctx.reload();
        },
      ),
    );
    count.textContent = `${num(page?.total ?? 0)} actors`;
    body.replaceChildren(table(columns(ctx), items(page), { empty: "No actor yet." }));
    foot.replaceChildren(
      queryPager(ctx, page?.total ?? 0, offset, LIMIT, (next) => (offset = next)),
    );
  }

  return { el, refresh };
}

function topEndpoints(actor) {
  const entries = counts(actor.endpoints);
  if (!entries.length) return h("span", { class: "muted" }, "–");
  const [first] = entries;
  const rest = (actor.endpoint_count ?? entries.length) - 1;
  return h(
    "span",
    { title: entries.map(([e, n]) => `${e} × ${n}`).join("\n") },
    h("code", { class: "chip" }, first[0]),
    rest > 0 ? h("span", { class: "muted" }, ` +${num(rest)}`) : null,
  );
}

/** The actor's key, with its identity beneath when the key does not already say it. */
function actorCell(actor) {
  const key = String(actor.actor ?? "");
  const identity = actor.identity && !key.endsWith(`:${actor.identity}`) ? actor.identity : null;
  return [
    h("code", null, key),
    identity ? h("div", { class: "sub" }, "identity ", h("code", null, identity)) : null,
  ];
}

function columns(ctx) {
  return [
    { title: "Actor", class: "nowrap", cell: actorCell },
    { title: "IPs", class: "nowrap", cell: (a) => chips(a.ips, 1, a.ip_count) },
    { title: "Endpoints", cell: topEndpoints },
    { title: "Requests", num: true, cell: (a) => num(a.requests) },
    { title: "Errors", num: true, cell: (a) => num(a.errors) },
    {
      title: "Threat mix",
      cell: (a) =>
        h(
          "div",
          { class: "threat-cell" },
          threatBar(a.threat),
          a.threat?.high ? h("span", { class: "tone-text-high" }, `${num(a.threat.high)} high`) : null,
        ),
    },
    {
      title: "Incidents",
      num: true,
      cell: (a) => (a.incidents ? h("span", { class: "tone-text-high strong" }, num(a.incidents)) : "0"),
    },
    {
      title: "Last seen (UTC)",
      class: "nowrap",
      cell: (a) => h("span", { title: time(a.last_seen) }, time(a.last_seen).slice(5, 16)),
    },
    { title: "", cell: (a) => blockButton(a, ctx) },
  ];
}

function blockButton(actor, ctx) {
  const ip = actorIp(actor.actor);
  if (!ip) return null;
  return h(
    "button",
    {
      class: "btn btn-small btn-quiet",
      onclick: async () => {
        if (!window.confirm(`Block ${ip}? Guards refuse its requests until the block is lifted.`)) return;
        await ctx.act(() => blockIp(ip, "blocked from the actors page"), `Blocked ${ip}`);
        await ctx.reload();
      },
    },
    "Block",
  );
}

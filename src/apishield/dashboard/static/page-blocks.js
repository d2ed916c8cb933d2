// #/blocks : the blocks in force, each with Unblock, and a form to add one.

import { get, post, unblock } from "./api.js";
import { h, table } from "./dom.js";
import { num, until } from "./format.js";
import { queryPager } from "./widgets.js";

const KINDS = ["ip", "identity", "key", "session"];
const ACTIONS = ["block", "tarpit", "decoy"];
const DURATIONS = [
  ["3600", "1 hour"],
  ["86400", "1 day"],
  ["604800", "7 days"],
  ["", "until lifted"],
];

const LIMIT = 100;

export function blocksPage(ctx) {
  const body = h("div", { class: "table-wrap" });
  const foot = h("div");
  const count = h("span", { class: "muted" });
  const scope = h("p", { class: "muted" });
  let offset = Number(ctx.query.get("offset")) || 0;
  const el = h(
    "div",
    { class: "page" },
    h("div", { class: "page-head" }, h("h1", null, "Active blocks"), count),
    scope,
    h("section", { class: "panel panel-flush" }, body),
    foot,
    h("section", { class: "panel" }, h("h2", null, "Add a block"), addForm(ctx)),
  );

  async function refresh() {
    const answer = await get("/api/v1/blocks", { limit: LIMIT, offset });
    const rows = Array.isArray(answer?.items) ? answer.items : [];
    const total = typeof answer?.total === "number" ? answer.total : rows.length;
    count.textContent = `${num(total)} in force`;
    scope.textContent = answer?.shared
      ? "Shared with every guard on the same state (Redis): a change here applies everywhere."
      : "Kept by this server's own state: guards on other state do not see these blocks.";
    const now = typeof answer?.now === "number" ? answer.now : undefined;
    body.replaceChildren(table(columns(ctx, now), rows, { empty: "No block is in force." }));
    foot.replaceChildren(
      queryPager(ctx, total, offset, LIMIT, (next) => (offset = next)),
    );
  }

  return { el, refresh };
}

function columns(ctx, now) {
  return [
    { title: "Kind", cell: (b) => h("span", { class: "chip" }, b.kind ?? "") },
    { title: "Value", class: "nowrap", cell: (b) => h("code", null, b.value ?? "") },
    {
      title: "Action",
      cell: (b) =>
        h(
          "span",
          { class: `badge action-${ACTIONS.includes(b.action) ? b.action : "block"}` },
          b.action ?? "block",
        ),
    },
    { title: "Reason", cell: (b) => b.reason ?? "" },
    { title: "Until", class: "nowrap", cell: (b) => until(b.until, now) },
    {
      title: "",
      class: "actions",
      cell: (b) =>
        h(
          "button",
          {
            class: "btn btn-small",
            "data-unblock": `${b.kind}/${b.value}`,
            onclick: async () => {
              if (!window.confirm(`Lift the ${b.kind} block on ${b.value}?`)) return;
              await ctx.act(async () => {
                const lifted = await unblock(b.kind, b.value);
                return (
                  lifted ||
                  Promise.reject(new Error(`no ${b.kind} block on ${b.value} was in force any more`))
                );
              }, `Lifted the block on ${b.value}`);
              await ctx.reload();
            },
          },
          "Unblock",
        ),
    },
  ];
}

function addForm(ctx) {
  const kind = h(
    "select",
    { class: "input", "aria-label": "kind" },
    KINDS.map((k) => h("option", { value: k }, k)),
  );
  const value = h("input", {
    class: "input",
    required: true,
    maxlength: 256,
    placeholder: "203.0.113.7 or an identity",
    "aria-label": "value",
  });
  const action = h(
    "select",
    { class: "input", "aria-label": "action" },
    ACTIONS.map((a) => h("option", { value: a }, a)),
  );
  const seconds = h(
    "select",
    { class: "input", "aria-label": "duration" },
    DURATIONS.map(([v, label]) => h("option", { value: v }, label)),
  );
  const reason = h("input", {
    class: "input input-wide",
    maxlength: 200,
    placeholder: "reason (optional)",
    "aria-label": "reason",
  });
  return h(
    "form",
    {
      class: "toolbar",
      onsubmit: async (event) => {
        event.preventDefault();
        const body = { kind: kind.value, value: value.value.trim(), action: action.value };
        if (seconds.value) body.seconds = Number(seconds.value);
        if (reason.value.trim()) body.reason = reason.value.trim();
        const done = await ctx.act(() => post("/api/v1/blocks", body), `Blocked ${body.kind} ${body.value}`);
        if (done) value.value = "";
        await ctx.reload();
      },
    },
    kind,
    value,
    action,
    seconds,
    reason,
    h("button", { class: "btn btn-danger", type: "submit" }, "Add block"),
  );
}

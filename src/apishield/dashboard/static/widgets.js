// The console's small visual parts: badges, chips, bars, stat cards and the pager.

import { h, link } from "./dom.js";
import { SEVERITIES, STATES, THREAT_LEVELS, counts, num, sum } from "./format.js";

const DASH = "–";

/** A coloured severity label. */
export function severity(level) {
  const name = SEVERITIES.includes(level) ? level : "info";
  return h("span", { class: `sev sev-${name}` }, String(level ?? "unknown"));
}

/** An endpoint's inventory state. */
export function state(value) {
  const name = STATES.includes(value) ? value : "unknown";
  return h("span", { class: `badge state-${name}` }, String(value ?? "unknown"));
}

/** A route template as code that may wrap after a "/", so a long one breaks between segments
 * rather than inside a word. */
export function routeCode(template) {
  const segments = String(template ?? "?").split(/(?<=\/)(?=.)/);
  return h("code", null, segments.map((segment, i) => (i ? [h("wbr"), segment] : segment)));
}

export function method(value) {
  const name = String(value ?? "");
  const known = ["GET", "POST", "PUT", "PATCH", "DELETE"].includes(name) ? name.toLowerCase() : "other";
  return h("span", { class: `method method-${known}` }, name);
}

/** A risk score, coloured by its level. */
export function risk(value) {
  const level = ["high", "medium", "low"].includes(value?.level) ? value.level : "low";
  return h(
    "span",
    { class: `risk risk-${level}`, title: `${value?.level ?? "unknown"} risk` },
    num(value?.score),
  );
}

const SECRET_CLASSES = new Set(["password", "jwt", "api_key", "private_key", "secret", "token", "session"]);

/** Data-class chips, secrets marked apart from personal data. */
export function dataClasses(object, limit = Infinity) {
  const entries = counts(object);
  const chips = entries
    .slice(0, limit)
    .map(([name, n]) =>
      h(
        "span",
        { class: SECRET_CLASSES.has(name) ? "chip chip-secret" : "chip chip-pii", title: `${num(n)} seen` },
        name,
      ),
    );
  const more = entries.length > limit ? h("span", { class: "muted" }, ` +${entries.length - limit}`) : null;
  return entries.length ? [chips, more] : h("span", { class: "muted" }, DASH);
}

/** The low/medium/high mix as one stacked bar. */
export function threatBar(threat) {
  const total = sum(THREAT_LEVELS.map((level) => threat?.[level]));
  if (!total) return h("span", { class: "muted" }, DASH);
  const title = THREAT_LEVELS.map((level) => `${level}: ${num(threat?.[level] ?? 0)}`).join(", ");
  return h(
    "span",
    { class: "stack", title },
    THREAT_LEVELS.map((level) => {
      const share = (threat?.[level] ?? 0) / total;
      return share > 0 ? h("span", { class: `stack-${level}`, style: { width: `${share * 100}%` } }) : null;
    }),
  );
}

/** Horizontal bars: `[{label, value, tone, href}]`, scaled to the largest. */
export function bars(rows, options = {}) {
  const top = Math.max(1, ...rows.map((r) => r.value ?? 0));
  return h(
    "div",
    { class: "bars" },
    rows.map((row) => {
      const label = row.href ? link(row.href, row.label) : row.label;
      const width = `${((row.value ?? 0) / top) * 100}%`;
      return h(
        "div",
        { class: "bar-row" },
        h("span", { class: "bar-label" }, label),
        h(
          "span",
          { class: "bar-track" },
          h("span", { class: `bar-fill tone-${row.tone ?? "neutral"}`, style: { width } }),
        ),
        h("span", { class: "bar-value" }, options.format ? options.format(row.value) : num(row.value)),
      );
    }),
  );
}

/** A headline figure. */
export function stat(label, value, options = {}) {
  const body = [
    h("span", { class: `stat-value${options.tone ? ` tone-text-${options.tone}` : ""}` }, value),
    h("span", { class: "stat-label" }, label),
    options.sub ? h("span", { class: "stat-sub" }, options.sub) : null,
  ];
  return options.href
    ? h("a", { class: "stat", href: options.href }, body)
    : h("div", { class: "stat" }, body);
}

/** "51–100 of 230" with previous/next buttons; hidden when everything fits. */
export function pager(total, offset, limit, onChange) {
  if (!(total > limit) && !offset) return null;
  const last = Math.min(offset + limit, total ?? offset + limit);
  return h(
    "div",
    { class: "pager" },
    h("span", { class: "muted" }, `${num(offset + 1)}–${num(last)} of ${num(total)}`),
    h(
      "button",
      { class: "btn btn-small", disabled: offset <= 0, onclick: () => onChange(Math.max(0, offset - limit)) },
      "‹ Previous",
    ),
    h(
      "button",
      { class: "btn btn-small", disabled: last >= total, onclick: () => onChange(offset + limit) },
      "Next ›",
    ),
  );
}

/** A list page's pager: a move keeps the offset in the URL and reloads; `moved` tells the page. */
export function queryPager(ctx, total, offset, limit, moved) {
  return (
    pager(total, offset, limit, (next) => {
      moved(next);
      ctx.setQuery({ offset: next || null });
      ctx.reload();
    }) ?? ""
  );
}

/** A row of toggle buttons, one chosen: `[{value, label, count}]`. */
export function segmented(options, chosen, onChange) {
  return h(
    "div",
    { class: "segmented", role: "group" },
    options.map((o) =>
      h(
        "button",
        {
          class: `seg${o.value === chosen ? " seg-on" : ""}${o.tone ? ` seg-${o.tone}` : ""}`,
          "aria-pressed": o.value === chosen ? "true" : "false",
          "data-value": o.value,
          onclick: () => onChange(o.value),
        },
        o.label,
        o.count !== undefined ? h("span", { class: "seg-count" }, num(o.count)) : null,
      ),
    ),
  );
}

/** Chips for the first `limit` strings, with the rest counted. */
export function chips(values, limit, total, cls = "chip") {
  const list = (values ?? []).slice(0, limit);
  const rest = Math.max((total ?? values?.length ?? 0) - list.length, 0);
  if (!list.length) return h("span", { class: "muted" }, DASH);
  return [
    list.map((v) => h("code", { class: cls }, String(v))),
    rest ? h("span", { class: "muted" }, ` +${num(rest)}`) : null,
  ];
}

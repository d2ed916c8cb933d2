// Building the page from data that attackers shape (paths, identities, user agents): every
// string goes in as a text node or an attribute value, never as markup, and links only point
// inside the console.

/** An element with properties and children; strings become text nodes, null/false are dropped. */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props ?? {})) {
    setProp(el, key, value);
  }
  append(el, children);
  return el;
}

function setProp(el, key, value) {
  if (value === null || value === undefined || value === false) return;
  // Styles go through the CSSOM, which the CSP allows (a style attribute it would refuse).
  if (key === "class") el.className = value;
  else if (key === "style") Object.assign(el.style, value);
  else if (key === "dataset") Object.assign(el.dataset, value);
  else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
  else if (key === "href") el.setAttribute("href", route(value));
  else el.setAttribute(key, value === true ? "" : String(value));
}

/** Appends children as nodes or text, flattening arrays. */
export function append(el, children) {
  for (const child of [children].flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

/** Replaces `el`'s children the way `h` adds them: null and false are dropped, where
 * `replaceChildren` would show them as the text "null". */
export function fill(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** A console route (`#/...`) or a path of this server for an href; anything else (another
 * origin, a `javascript:` URL) becomes `#/`. */
export function route(value) {
  const text = String(value);
  const local = text.startsWith("#/") || (text.startsWith("/") && !text.startsWith("//"));
  return local ? text : "#/";
}

/** `#/segment/segment` with each segment encoded, for ids that come from the data. */
export function path(...segments) {
  return "#/" + segments.map((s) => encodeURIComponent(String(s))).join("/");
}

/** A link inside the console. */
export function link(href, ...children) {
  return h("a", { href }, ...children);
}

/** A table from column definitions: `{title, cell(row) -> node|text, num?, sort?}`. */
export function table(columns, rows, options = {}) {
  const head = h(
    "tr",
    null,
    columns.map((c) => headerCell(c, options)),
  );
  const body = rows.map((row) =>
    h(
      "tr",
      { onclick: options.onRow ? () => options.onRow(row) : null, class: options.onRow ? "clickable" : null },
      columns.map((c) => h("td", { class: c.num ? "num" : c.class }, c.cell(row))),
    ),
  );
  const empty = rows.length
    ? null
    : h(
        "tr",
        null,
        h("td", { class: "empty", colspan: columns.length }, options.empty ?? "Nothing to show."),
      );
  return h("table", { class: "grid" }, h("thead", null, head), h("tbody", null, body, empty));
}

function headerCell(column, options) {
  const sortable = options.onSort && column.sort;
  const active = sortable && options.sorted?.key === column.sort;
  const arrow = active ? (options.sorted.desc ? " ▾" : " ▴") : "";
  return h(
    "th",
    {
      class:
        [column.num ? "num" : "", sortable ? "sortable" : "", active ? "sorted" : ""].join(" ").trim() ||
        null,
      onclick: sortable ? () => options.onSort(column.sort) : null,
      title: column.hint ?? null,
      "aria-sort": active ? (options.sorted.desc ? "descending" : "ascending") : null,
    },
    column.title,
    arrow,
  );
}

/** A titled panel. */
export function panel(title, ...children) {
  return h("section", { class: "panel" }, title ? h("h2", null, title) : null, ...children);
}

/** A key/value list. */
export function keyValues(entries, options = {}) {
  const pairs = entries.filter(([, v]) => v !== null && v !== undefined && v !== "");
  if (!pairs.length) return h("p", { class: "muted" }, options.empty ?? "None.");
  return h(
    "dl",
    { class: options.class ?? "kv" },
    pairs.map(([k, v]) => [h("dt", null, k), h("dd", null, v)]),
  );
}

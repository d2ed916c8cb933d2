// The REST API of `apishield serve` (docs/api.md). The browser carries the token as the
// HttpOnly cookie `/login?token=` set; a 401 means it is missing or stale.

/** The server refused the token (or none was sent). */
export class Unauthorized extends Error {
  constructor() {
    super("the console needs the server's token");
  }
}

/** A 4xx/5xx answer other than 401, with the server's `detail`. */
export class ApiError extends Error {
  constructor(status, detail) {
    super(`${status}: ${detail}`);
    this.status = status;
  }
}

export const get = (path, query) => call("GET", withQuery(path, query));
export const post = (path, body) => call("POST", path, body);
export const remove = (path) => call("DELETE", path);

/** `path?key=value...` leaving out empty values. */
export function withQuery(path, query = {}) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== "") params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

async function call(method, path, body) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const answer = await fetch(path, init);
  if (answer.status === 401) throw new Unauthorized();
  const data = await answer.json().catch(() => null);
  if (!answer.ok) throw new ApiError(answer.status, detail(data) ?? answer.statusText);
  return data;
}

function detail(data) {
  const value = data?.detail;
  if (typeof value === "string") return value;
  if (Array.isArray(value)) return value.map((item) => item?.msg ?? JSON.stringify(item)).join("; ");
  return null;
}

/** `promise`, or null when it fails for any reason but the token: one missing part of the API
 * leaves its panel empty instead of breaking the page. */
export function optional(promise) {
  return promise.catch((error) => {
    if (error instanceof Unauthorized) throw error;
    console.warn("apishield:", error.message);
    return null;
  });
}

/** Lists answer `{total, items}`; anything else reads as an empty list. */
export function items(page) {
  return Array.isArray(page?.items) ? page.items : [];
}

/** Lifts a block: true when it was lifted, false when none was in force (404). */
export async function unblock(kind, value) {
  try {
    await remove(`/api/v1/blocks/${encodeURIComponent(kind)}/${encodeURIComponent(value)}`);
    return true;
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return false;
    throw error;
  }
}

/** The IP an actor key names (`ip:203.0.113.7`), or null for identities and keys, which the
 * console does not block: their keys may be keyed hashes rather than the values a block takes. */
export function actorIp(actor) {
  const text = String(actor ?? "");
  return text.startsWith("ip:") && text.length > 3 ? text.slice(3) : null;
}

/** Blocks an IP from the console; the answer is the block as stored. */
export function blockIp(ip, reason) {
  return post("/api/v1/blocks", { kind: "ip", value: ip, action: "block", reason: reason.slice(0, 200) });
}

/** Endpoint ids by the `METHOD host template` name incidents use, for links to their pages. */
export async function endpointIds() {
  const page = await optional(get("/api/v1/endpoints", { sort: "template", limit: 500 }));
  return new Map(items(page).map((e) => [`${e.method} ${e.host} ${e.template}`, e.id]));
}

// Shown on a 401: the console needs the server's token, which `apishield serve` printed as a
// /login?token=… URL. The form goes to that URL; the server sets the cookie and comes back.

import { h } from "./dom.js";

export function loginPage() {
  const input = h("input", {
    class: "input input-wide",
    type: "password",
    name: "token",
    required: true,
    autocomplete: "off",
    placeholder: "API token",
    "aria-label": "API token",
  });
  const el = h(
    "div",
    { class: "page login" },
    h(
      "section",
      { class: "panel login-panel" },
      h("h1", null, "Sign in to the console"),
      h(
        "p",
        null,
        "This server asks for its API token. ",
        h("code", null, "apishield serve"),
        " printed a link with it when it started (",
        h("code", null, "http://…/login?token=…"),
        "); open that link, or paste the token here. It is also kept in the file ",
        h("code", null, "token"),
        " of the server's data directory.",
      ),
      h(
        "form",
        { method: "get", action: "/login", class: "toolbar", id: "login-form" },
        input,
        h("button", { class: "btn btn-primary", type: "submit" }, "Open console"),
      ),
    ),
  );
  return { el, refresh: async () => input.focus() };
}

// Shared by the Users, Roles, Logged in and Devices pages: calls to the admin identity API
// (/api/users, /api/roles, /api/permissions, see users_pages.py; /api/live-sessions,
// /api/devices, see devices_pages.py), reporting their answers, and the polled table page.

import { el, errorNote } from "./live.mjs";

const REFRESH_MILLISECONDS = 2000;

/** Call the API (changes are POSTs of JSON): `{ok, status, data}`; a refusal's `data`
 * is `{error, field}`. */
export async function callApi(adminFetch, method, path, body) {
  const options = { method };
  if (body !== undefined) {
    options.body = JSON.stringify(body);
    options.headers = { "Content-Type": "application/json" };
  }
  const response = await adminFetch(path, options);
  let data;
  try {
    data = await response.json();
  } catch {
    data = { error: `the logic service answered ${response.status} ${response.statusText}` };
  }
  return { ok: response.ok, status: response.status, data };
}

/** A status line for the outcome of changes (screen readers hear it). */
export function statusLine(id) {
  return el("p", { id, class: "field-status", role: "status", "aria-live": "polite" });
}

/** Show `message` in `status`, green for `ok`, red otherwise. */
export function say(status, ok, message) {
  status.textContent = message;
  status.className = `field-status ${ok ? "ok" : "error"}`;
}

/**
 * Report an API answer in `status`. On a refusal, the element of `form` whose
 * `data-field` is the field at fault is marked invalid and focused.
 */
export function report(status, form, result) {
  for (const marked of form?.querySelectorAll('[aria-invalid="true"]') ?? []) {
    marked.setAttribute("aria-invalid", "false");
  }
  if (result.ok) {
    say(status, true, `Done: ${result.data.message}.`);
    return;
  }
  say(status, false, `Not changed: ${result.data.error}.`);
  const culprit = result.data.field && form?.querySelector(`[data-field="${result.data.field}"]`);
  if (culprit) {
    culprit.setAttribute("aria-invalid", "true");
    culprit.setAttribute("aria-describedby", status.id);
    (culprit.matches("input") ? culprit : culprit.querySelector("input"))?.focus();
  }
}

/** A labelled checkbox `{name, value}`, ticked when `checked`; `note` follows the label. */
export function checkbox(id, name, value, checked, ...note) {
  return el(
    "div",
    { class: "choice" },
    el("input", { type: "checkbox", id, name, value, checked }),
    el("label", { for: id }, el("code", {}, value), ...note),
  );
}

/** The values of the ticked checkboxes called `name` in `form`. */
export function ticked(form, name) {
  return [...form.querySelectorAll(`input[type="checkbox"][name="${name}"]:checked`)].map((box) => box.value);
}

/**
 * A page that lists what `path` answers (a JSON array) in a table, asked again every
 * REFRESH_MILLISECONDS: an `intro` paragraph, a status line `<name>-status` for the outcome
 * of changes, and a list `<name>-list` that holds the table `<name>-table` (captioned with
 * the count of `noun`s, drawn again only when the answer changed), `empty` when the array is
 * empty, or an error note when the API refuses. A subclass gives `row(item)`, the table
 * row of one item under `headings`; `stop()` ends the asking.
 */
export class PolledTablePage {
  constructor(container, adminFetch, { name, path, intro, empty, noun, headings }) {
    this.adminFetch = adminFetch;
    this.name = name;
    this.path = path;
    this.empty = empty;
    this.noun = noun;
    this.headings = headings;
    this.status = statusLine(`${name}-status`);
    this.list = el("div", { id: `${name}-list` });
    this.shown = null;
    container.replaceChildren(el("p", {}, intro), this.status, this.list);
    this.refresh();
    this.timer = setInterval(() => this.refresh(), REFRESH_MILLISECONDS);
  }

  stop() {
    clearInterval(this.timer);
  }

  async refresh() {
    const result = await callApi(this.adminFetch, "GET", this.path);
    if (!result.ok) {
      this.list.replaceChildren(errorNote(`The ${this.name} are not available: ${result.data.error}`));
      this.shown = null;
      return;
    }
    const text = JSON.stringify(result.data);
    if (text !== this.shown) {
      this.shown = text;
      this.list.replaceChildren(result.data.length ? this.table(result.data) : el("p", {}, this.empty));
    }
  }

  table(items) {
    return el(
      "table",
      { class: "data", id: `${this.name}-table` },
      el("caption", {}, `${items.length} ${this.noun}${items.length === 1 ? "" : "s"}`),
      el("thead", {}, el("tr", {}, this.headings.map((h) => el("th", { scope: "col" }, h)))),
      el(
        "tbody",
        {},
        items.map((item) => this.row(item)),
      ),
    );
  }

  /** POST `body` to `path`, report the answer in the status line, and refresh. */
  async post(path, body) {
    report(this.status, null, await callApi(this.adminFetch, "POST", path, body));
    this.refresh();
  }
}

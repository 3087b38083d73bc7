// Shared by the Users and Roles pages: calls to the admin identity API (/api/users,
// /api/roles, /api/permissions, see users_pages.py) and reporting their answers.

import { el } from "./live.mjs";

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

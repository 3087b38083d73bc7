// Peek admin page shell: session helpers and the section router.
//
// The shell (GET /) carries the session's CSRF token and user in <meta> tags. Each
// section (Overview, Plugins, Settings, Config, Logs, Users, Roles, Logged in, Devices)
// is an ES module at /static/pages/<section>.mjs exporting `render(container, context)`;
// the router imports it when its link (#/<section>) is chosen and hands it the
// <div id="page-content">.

/** The session's anti-forgery token; send it with every state-changing request. */
export function csrfToken() {
  return document.querySelector('meta[name="csrf-token"]')?.content ?? "";
}

/** The logged-in user's name. */
export function currentUser() {
  return document.querySelector('meta[name="peek-user"]')?.content ?? "";
}

/**
 * fetch() for the admin site: same-origin credentials and the X-CSRF-Token header.
 * A 401 answer means the session ended, so the browser goes to the login page.
 */
export async function adminFetch(url, options = {}) {
  const headers = new Headers(options.headers ?? {});
  headers.set("X-CSRF-Token", csrfToken());
  const response = await fetch(url, { ...options, headers, credentials: "same-origin" });
  if (response.status === 401) {
    const next = encodeURIComponent(location.pathname + location.hash);
    location.assign(`/login?next=${next}`);
  }
  return response;
}

const SECTIONS = new Map([
  ["overview", "Overview"],
  ["plugins", "Plugins"],
  ["settings", "Settings"],
  ["config", "Config"],
  ["logs", "Logs"],
  ["users", "Users"],
  ["roles", "Roles"],
  ["sessions", "Logged in"],
  ["devices", "Devices"],
]);

/** The section named by the location hash (#/plugins), Overview by default. */
export function sectionFromHash(hash) {
  const name = hash.replace(/^#\/?/, "").split("/")[0];
  return SECTIONS.has(name) ? name : "overview";
}

let shown = null;

async function showSection() {
  const section = sectionFromHash(location.hash);
  const title = document.getElementById("page-title");
  const content = document.getElementById("page-content");
  for (const link of document.querySelectorAll("nav.sections a[data-page]")) {
    if (link.dataset.page === section) {
      link.setAttribute("aria-current", "page");
    } else {
      link.removeAttribute("aria-current");
    }
  }
  title.textContent = SECTIONS.get(section);
  document.title = `${SECTIONS.get(section)} – Peek Admin`;
  if (shown?.stop) {
    shown.stop();
  }
  shown = null;
  content.replaceChildren();
  const context = { csrfToken: csrfToken(), user: currentUser(), adminFetch };
  try {
    const module = await import(`/static/pages/${section}.mjs`);
    if (sectionFromHash(location.hash) !== section) {
      return;
    }
    shown = (await module.render(content, context)) ?? null;
  } catch (error) {
    const message = document.createElement("p");
    message.setAttribute("role", "alert");
    message.textContent = `The ${SECTIONS.get(section)} page could not be shown: ${error.message}`;
    content.replaceChildren(message);
  }
}

window.addEventListener("hashchange", showSection);
showSection();

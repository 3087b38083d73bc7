// Plugins: per service, each plugin's version, state, load and start times and, when it
// failed, why; buttons disable, enable and restart a plugin on that one service process
// (POST /api/plugins/<action>, see plugins_pages.py). A plugin whose version differs
// between services is flagged, and the slowest plugins to load and start are listed first.
// When logic's plugin.allowUpload is true (GET /api/plugins/upload says so), a form uploads a
// wheel that logic installs, or upgrades the installed plugin with (plugin_upload.py).

import { el, errorNote, liveNote, observeAdmin } from "./live.mjs";
import { callApi, say, statusLine } from "./identity.mjs";

const SLOWEST_SHOWN = 10;
// States a plugin can be enabled from; any other state can be disabled and restarted.
const ENABLEABLE = new Set(["disabled", "failed", "stopped", "unloaded"]);

function milliseconds(seconds) {
  return seconds == null ? "—" : `${Math.round(seconds * 1000)} ms`;
}

/** Plugin name -> the set of versions the services run. */
function versionsByPlugin(services) {
  const versions = new Map();
  for (const service of services) {
    for (const plugin of service.plugins ?? []) {
      if (plugin.version == null) continue;
      if (!versions.has(plugin.name)) versions.set(plugin.name, new Set());
      versions.get(plugin.name).add(plugin.version);
    }
  }
  return versions;
}

class PluginsPage {
  constructor(container, adminFetch) {
    this.adminFetch = adminFetch;
    this.note = liveNote("plugins-note");
    this.status = statusLine("plugins-status");
    this.slowest = el("section", { "aria-labelledby": "plugins-slowest" });
    this.sections = el("div", { class: "service-sections" });
    this.uploadSection = el("div", { class: "plugin-upload" });
    container.replaceChildren(this.note, this.status, this.uploadSection, this.slowest, this.sections);
    this.updates = 0;
    this.busy = false;
    this.showUpload();
    this.stop = observeAdmin(
      "peek_platform.PlatformStatusTuple",
      (tuples) => this.show(tuples[0]?.services ?? []),
      (error) => container.replaceChildren(errorNote(`The plugin states are not available: ${error.message}`)),
    );
  }

  show(services) {
    const versions = versionsByPlugin(services);
    this.sections.replaceChildren(
      ...(services.length
        ? services.map((service) => this.serviceSection(service, versions))
        : [el("p", {}, "No service has reported yet.")]),
    );
    this.slowest.replaceChildren(...this.slowestTable(services));
    this.updates += 1;
    if (this.updates > 1) {
      this.note.textContent = `Plugin states updated at ${new Date().toLocaleTimeString()}.`;
    }
  }

  slowestTable(services) {
    const rows = services
      .flatMap((service) => (service.plugins ?? []).map((plugin) => ({ service, plugin })))
      .filter(({ plugin }) => plugin.loadSeconds != null || plugin.startSeconds != null)
      .sort(
        (a, b) =>
          (b.plugin.loadSeconds ?? 0) + (b.plugin.startSeconds ?? 0) -
          ((a.plugin.loadSeconds ?? 0) + (a.plugin.startSeconds ?? 0)),
      )
      .slice(0, SLOWEST_SHOWN);
    if (!rows.length) return [];
    return [
      el("h2", { id: "plugins-slowest" }, "Slowest to load and start"),
      el(
        "table",
        { class: "data slowest", "aria-labelledby": "plugins-slowest" },
        el("thead", {}, el("tr", {}, ["Plugin", "Service", "Load", "Start"].map((h) => el("th", { scope: "col" }, h)))),
        el(
          "tbody",
          {},
          rows.map(({ service, plugin }) =>
            el(
              "tr",
              { "data-plugin": plugin.name, "data-service": service.serviceKey },
              el("th", { scope: "row" }, plugin.name),
              el("td", {}, `${service.serviceKey} (${service.host} pid ${service.pid})`),
              el("td", {}, milliseconds(plugin.loadSeconds)),
              el("td", {}, milliseconds(plugin.startSeconds)),
            ),
          ),
        ),
      ),
    ];
  }

  serviceSection(status, versions) {
    const headingId = `plugins-${status.serviceKey}-${status.vortexUuid}`;
    const plugins = status.plugins ?? [];
    const linkText = status.connected ? "connected" : "disconnected";
    const headings = ["Plugin", "Version", "State", "Load", "Start", "Reason", "Actions"];
    const body = plugins.length
      ? el(
          "table",
          { class: "data", "aria-labelledby": headingId },
          el("thead", {}, el("tr", {}, headings.map((h) => el("th", { scope: "col" }, h)))),
          el("tbody", {}, plugins.map((plugin) => this.pluginRow(status, plugin, versions))),
        )
      : el("p", {}, "No plugins are enabled on this service.");
    return el(
      "section",
      { "data-service": status.serviceKey, "aria-labelledby": headingId },
      el("h2", { id: headingId }, `${status.serviceKey} (${linkText}, ${status.host} pid ${status.pid})`),
      body,
    );
  }

  pluginRow(status, plugin, versions) {
    const differs = (versions.get(plugin.name)?.size ?? 0) > 1;
    const version = differs
      ? [
          plugin.version,
          " ",
          el(
            "span",
            { class: "state state-failed version-differs", title: [...versions.get(plugin.name)].join(", ") },
            "differs between services",
          ),
        ]
      : (plugin.version ?? "—");
    return el(
      "tr",
      { "data-plugin": plugin.name, "data-state": plugin.state, "data-version-differs": String(differs) },
      el("th", { scope: "row" }, plugin.name),
      el("td", {}, version),
      el("td", {}, el("span", { class: `state state-${plugin.state}` }, plugin.state)),
      el("td", {}, milliseconds(plugin.loadSeconds)),
      el("td", {}, milliseconds(plugin.startSeconds)),
      el("td", { class: "reason" }, plugin.reason ? el("pre", {}, plugin.reason) : "—"),
      el("td", { class: "plugin-actions" }, status.connected ? this.buttons(status, plugin) : "—"),
    );
  }

  buttons(status, plugin) {
    if (plugin.state === "skipped") return "—";
    const actions = ENABLEABLE.has(plugin.state) ? ["enable"] : ["disable", "restart"];
    return actions.map((action) => {
      const where = `${status.serviceKey} pid ${status.pid}`;
      const button = el(
        "button",
        {
          type: "button",
          class: action === "disable" ? "danger" : "",
          "data-action": action,
          "aria-label": `${action} ${plugin.name} on ${where}`,
        },
        action[0].toUpperCase() + action.slice(1),
      );
      button.addEventListener("click", () => this.act(action, plugin.name, status, where));
      return button;
    });
  }

  async showUpload() {
    const result = await callApi(this.adminFetch, "GET", "/api/plugins/upload");
    if (!result.ok || !result.data.allowed) return;
    const input = el("input", { type: "file", accept: ".whl", id: "plugin-wheel", required: "" });
    const enable = el("input", { type: "checkbox", id: "plugin-wheel-enable" });
    const form = el(
      "form",
      { "aria-labelledby": "plugins-upload" },
      el("h2", { id: "plugins-upload" }, "Install or upgrade a plugin"),
      el("label", { for: "plugin-wheel" }, "Plugin wheel (.whl) "),
      input,
      el("label", { for: "plugin-wheel-enable" }, enable, " enable a new plugin on every service"),
      el("button", { type: "submit" }, "Upload and install"),
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.upload(input.files[0], enable.checked, result.data.maxBytes);
    });
    this.uploadSection.replaceChildren(form);
  }

  async upload(file, enable, maxBytes) {
    if (!file || this.busy) return;
    if (file.size > maxBytes) {
      say(this.status, false, `Not installed: ${file.name} is larger than the ${maxBytes} bytes allowed`);
      return;
    }
    this.busy = true;
    say(this.status, true, `Installing ${file.name}… (pip may take a minute)`);
    try {
      const response = await this.adminFetch(`/api/plugins/upload${enable ? "?enable=true" : ""}`, {
        method: "POST",
        body: file,
        headers: { "Content-Type": "application/octet-stream", "X-Wheel-Filename": file.name },
      });
      let data;
      try {
        data = await response.json();
      } catch {
        data = { error: `the logic service answered ${response.status} ${response.statusText}` };
      }
      say(this.status, response.ok && data.ok, response.ok ? data.message : `Not installed: ${data.error}`);
    } finally {
      this.busy = false;
    }
  }

  async act(action, pluginName, status, where) {
    if (this.busy) return;
    if (action === "disable" && !confirm(`Disable ${pluginName} on ${where}? The plugins that require it stop too.`)) {
      return;
    }
    this.busy = true;
    say(this.status, true, `${action} ${pluginName} on ${where}…`);
    try {
      const result = await callApi(this.adminFetch, "POST", `/api/plugins/${action}`, {
        plugin: pluginName,
        vortexUuid: status.vortexUuid,
      });
      const refused = result.ok && result.data.answers.some((answer) => !answer.ok);
      say(this.status, result.ok && !refused, result.ok ? result.data.message : `Not done: ${result.data.error}`);
    } finally {
      this.busy = false;
    }
  }
}

export function render(container, { adminFetch }) {
  const page = new PluginsPage(container, adminFetch);
  return { stop: () => page.stop() };
}

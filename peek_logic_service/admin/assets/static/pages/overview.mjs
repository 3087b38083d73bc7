// Overview: every Peek service, whether it is linked to logic, since when, where it runs
// and its plugins' states, updated live from the platform status; and charts of the last
// 15 minutes (messages/s through logic, RPC p50/p99, devices online, tasks/s), polled from
// /api/metrics-history (metrics_history.py) and drawn as SVG, no build step.

import { el, errorNote, liveNote, observeAdmin, timeElement } from "./live.mjs";

const SERVICE_KEYS = ["logic", "field", "office", "agent", "worker"];

function pluginSummary(plugins) {
  if (!plugins.length) {
    return "none";
  }
  return el(
    "ul",
    { class: "plugin-states" },
    plugins.map((p) =>
      el("li", { "data-plugin": p.name }, `${p.name}: `, el("span", { class: `state state-${p.state}` }, p.state)),
    ),
  );
}

function serviceRow(key, status) {
  if (!status) {
    return el(
      "tr",
      { "data-service": key, "data-link": "never" },
      el("th", { scope: "row" }, key),
      el("td", {}, el("span", { class: "state state-never" }, "not seen")),
      el("td", { colspan: 5 }, "This service has not reported to logic since logic started."),
    );
  }
  const link = status.connected ? "connected" : "disconnected";
  const since = status.connected ? status.connectedSince : status.disconnectedAt;
  return el(
    "tr",
    { "data-service": key, "data-link": link },
    el("th", { scope: "row" }, key),
    el("td", {}, el("span", { class: `state state-${link}` }, status.connected ? "Connected" : "Disconnected")),
    el("td", {}, timeElement(since)),
    el("td", {}, status.host),
    el("td", {}, String(status.pid)),
    el("td", {}, status.version),
    el("td", {}, pluginSummary(status.plugins ?? [])),
  );
}

/** Latest entry per service key (a restarted service appears once, connected first). */
function byService(services) {
  const result = new Map();
  for (const status of services) {
    const old = result.get(status.serviceKey);
    if (!old || (status.connected && !old.connected)) {
      result.set(status.serviceKey, status);
    }
  }
  return result;
}

const SVG = "http://www.w3.org/2000/svg";
const CHART_WIDTH = 300;
const CHART_HEIGHT = 80;
const HISTORY_SECONDS = 15 * 60;
const CHARTS = [
  { id: "messages", title: "Messages/s through logic", series: [["messagesPerSecond", "messages/s"]] },
  {
    id: "rpc",
    title: "RPC time on logic (ms)",
    series: [
      ["rpcP50Ms", "p50"],
      ["rpcP99Ms", "p99"],
    ],
  },
  { id: "devices", title: "Devices online", series: [["devicesOnline", "devices"]] },
  { id: "tasks", title: "Worker tasks/s", series: [["tasksPerSecond", "tasks/s"]] },
];

function svg(tag, attributes) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  return node;
}

function formatFigure(value) {
  if (value == null) return "—";
  return value >= 100 || Number.isInteger(value) ? String(Math.round(value)) : value.toFixed(1);
}

/** One chart: a line per series over the last 15 minutes, the newest values in words. */
function chart(spec, samples, now) {
  const values = spec.series.flatMap(([key]) => samples.map((s) => s[key]).filter((v) => v != null));
  const top = Math.max(1, ...values);
  const plot = svg("svg", {
    viewBox: `0 0 ${CHART_WIDTH} ${CHART_HEIGHT}`,
    width: CHART_WIDTH,
    height: CHART_HEIGHT,
    role: "img",
    "aria-label": `${spec.title}, last 15 minutes, highest ${formatFigure(top)}`,
    "data-chart": spec.id,
  });
  plot.append(svg("rect", { x: 0, y: 0, width: CHART_WIDTH, height: CHART_HEIGHT, class: "chart-frame" }));
  spec.series.forEach(([key], index) => {
    const points = samples
      .filter((s) => s[key] != null)
      .map((s) => {
        const x = CHART_WIDTH * (1 - Math.min(HISTORY_SECONDS, now - s.at) / HISTORY_SECONDS);
        const y = CHART_HEIGHT - 4 - (CHART_HEIGHT - 8) * (s[key] / top);
        return `${x.toFixed(1)},${y.toFixed(1)}`;
      });
    plot.append(svg("polyline", { points: points.join(" "), class: `chart-line chart-line-${index}`, "data-series": key }));
    if (points.length) {
      const [x, y] = points.at(-1).split(",");
      plot.append(svg("circle", { cx: x, cy: y, r: 3, class: `chart-dot chart-line-${index}` }));
    }
  });
  const latest = samples.at(-1);
  const legend = spec.series.map(([key, label]) => `${label} ${formatFigure(latest?.[key])}`).join(", ");
  return el(
    "figure",
    { class: "chart" },
    el("figcaption", {}, spec.title, el("span", { class: "chart-latest" }, latest ? ` — now ${legend}` : " — no sample yet")),
    plot,
  );
}

function chartsSection(adminFetch) {
  const section = el("section", { class: "charts", "aria-labelledby": "charts-heading" });
  const heading = el("h2", { id: "charts-heading" }, "Last 15 minutes");
  const body = el("div", { class: "chart-grid" });
  section.append(heading, body);
  let timer = null;
  let stopped = false;
  async function refresh() {
    try {
      const response = await adminFetch("/api/metrics-history");
      const history = await response.json();
      const now = Date.now() / 1000;
      body.replaceChildren(...CHARTS.map((spec) => chart(spec, history.samples, now)));
      body.dataset.samples = String(history.samples.length);
      if (!stopped) timer = setTimeout(refresh, history.periodSeconds * 1000);
    } catch (error) {
      body.replaceChildren(errorNote(`The charts are not available: ${error.message}`));
      if (!stopped) timer = setTimeout(refresh, 10000);
    }
  }
  refresh();
  return {
    section,
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

export function render(container, { adminFetch } = {}) {
  const note = liveNote("overview-note");
  const tbody = el("tbody");
  const table = el(
    "table",
    { class: "data", id: "services-table" },
    el("caption", {}, "Peek services and their link to the logic service"),
    el(
      "thead",
      {},
      el(
        "tr",
        {},
        ["Service", "Link", "Since", "Host", "PID", "Version", "Plugins"].map((h) => el("th", { scope: "col" }, h)),
      ),
    ),
    tbody,
  );
  const charts = adminFetch ? chartsSection(adminFetch) : null;
  container.replaceChildren(note, table, ...(charts ? [charts.section] : []));
  let previous = null;
  const stop = observeAdmin(
    "peek_platform.PlatformStatusTuple",
    (tuples) => {
      const services = byService(tuples[0]?.services ?? []);
      const keys = [...SERVICE_KEYS, ...[...services.keys()].filter((k) => !SERVICE_KEYS.includes(k))];
      tbody.replaceChildren(...keys.map((key) => serviceRow(key, services.get(key))));
      if (previous) {
        const changes = keys
          .filter((key) => (previous.get(key)?.connected ?? null) !== (services.get(key)?.connected ?? null))
          .map((key) => `${key} ${services.get(key)?.connected ? "connected" : "disconnected"}`);
        if (changes.length) {
          note.textContent = `Changed: ${changes.join(", ")}.`;
        }
      }
      previous = services;
    },
    (error) => container.replaceChildren(errorNote(`The platform status is not available: ${error.message}`)),
  );
  return {
    stop() {
      stop();
      charts?.stop();
    },
  };
}

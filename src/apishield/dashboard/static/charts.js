// Chart.js (from npm, served as /vendor/chart.js) drawing the console's charts. Without it (no
// `make assets`) /vendor/chart.js sets APISHIELD_NO_CHARTS and each chart says so instead.

import { h } from "./dom.js";
import { clock, num, time } from "./format.js";

export const COLORS = {
  requests: "#2563eb",
  errors: "#dc2626",
  p95: "#7c3aed",
  low: "#94a3b8",
  medium: "#f59e0b",
  high: "#dc2626",
};

const STEPS = [60, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];
const MAX_DENSE = 10080;

export function available() {
  return typeof window.Chart === "function" && !window.APISHIELD_NO_CHARTS;
}

let configured = false;

function configure() {
  if (configured) return;
  const defaults = window.Chart.defaults;
  defaults.font.family = getComputedStyle(document.body).fontFamily;
  defaults.font.size = 11;
  defaults.color = "#64748b";
  defaults.animation = false;
  defaults.maintainAspectRatio = false;
  configured = true;
}

/** A chart's frame: a canvas, or the note that charts need `make assets`. */
export function chartBox(name, options = {}) {
  const body = available()
    ? h(
        "div",
        { class: options.small ? "chart chart-small" : "chart" },
        h("canvas", { "data-chart": name, role: "img", "aria-label": options.label ?? name }),
      )
    : h("p", { class: "no-charts" }, "Charts need ", h("code", null, "make assets"), " (Chart.js from npm).");
  return body;
}

/** The canvas inside a chart box, or null when charts are unavailable. */
export function canvasOf(box) {
  return box.querySelector("canvas");
}

/** Points `{x: seconds, y}` for every minute from the first to the last (missing minutes are
 * `fill`), so that a quiet stretch shows as such rather than as a straight line across it. */
export function perMinute(minutes, values, fill) {
  const points = [];
  const given = new Map();
  (minutes ?? []).forEach((t, i) => given.set(t, values?.[i] ?? fill));
  if (!given.size) return points;
  const first = minutes[0];
  const last = minutes[minutes.length - 1];
  if ((last - first) / 60 > MAX_DENSE) {
    return minutes.map((t, i) => ({ x: t, y: values?.[i] ?? fill }));
  }
  for (let t = first; t <= last; t += 60) points.push({ x: t, y: given.has(t) ? given.get(t) : fill });
  return points;
}

/** A point with no neighbour (a lone minute of latency) is drawn as a dot, or it would not show. */
function isolated(context) {
  const data = context.dataset.data;
  const i = context.dataIndex;
  const present = (k) => data[k] !== undefined && data[k].y !== null;
  return present(i) && !present(i - 1) && !present(i + 1) ? 2.5 : 0;
}

/** Draws (or redraws with new data) a per-minute line chart on `canvas`; `area` shades under
 * the line, which suits counts, not a series with gaps (a gauge like p95), where it would draw
 * slivers. */
export function timeSeries(canvas, points, { label, color, unit, area = true }) {
  configure();
  const existing = window.Chart.getChart(canvas);
  const span = points.length ? points[points.length - 1].x - points[0].x : 0;
  const step = STEPS.find((s) => span / s <= 8) ?? 86400 * Math.ceil(span / 86400 / 8);
  const withDay = span > 86400;
  const dataset = {
    label,
    data: points,
    borderColor: color,
    backgroundColor: `${color}22`,
    borderWidth: 1.5,
    pointRadius: isolated,
    pointBackgroundColor: color,
    pointBorderWidth: 0,
    pointHoverRadius: 3,
    fill: area,
    spanGaps: false,
    tension: 0,
  };
  if (existing) {
    existing.data.datasets[0].data = points;
    existing.options.scales.x.ticks.stepSize = step;
    existing.update("none");
    return existing;
  }
  return new window.Chart(canvas, {
    type: "line",
    data: { datasets: [dataset] },
    options: {
      parsing: false,
      normalized: true,
      interaction: { mode: "index", intersect: false },
      plugins: {
        legend: { display: false },
        tooltip: {
          callbacks: {
            title: (items) => (items.length ? `${time(items[0].parsed.x)} UTC` : ""),
            label: (item) =>
              `${label}: ${item.parsed.y === null ? "–" : num(Math.round(item.parsed.y * 10) / 10)}${unit ?? ""}`,
          },
        },
      },
      scales: {
        x: {
          type: "linear",
          grid: { display: false },
          ticks: {
            stepSize: step,
            maxRotation: 0,
            autoSkipPadding: 12,
            callback: (value) => clock(value, withDay),
          },
        },
        y: { beginAtZero: true, grid: { color: "#eef2f7" }, ticks: { precision: 0, maxTicksLimit: 5 } },
      },
    },
  });
}

/** A doughnut of named counts, redrawn in place on refresh. */
export function doughnut(canvas, labels, values, colors) {
  configure();
  const existing = window.Chart.getChart(canvas);
  if (existing) {
    existing.data.datasets[0].data = values;
    existing.update("none");
    return existing;
  }
  return new window.Chart(canvas, {
    type: "doughnut",
    data: {
      labels,
      datasets: [{ data: values, backgroundColor: colors, borderWidth: 1, borderColor: "#fff" }],
    },
    options: {
      cutout: "62%",
      plugins: {
        legend: { display: false },
        tooltip: { callbacks: { label: (item) => `${item.label}: ${num(item.parsed)}` } },
      },
    },
  });
}

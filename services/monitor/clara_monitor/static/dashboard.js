// CLARA Monitor dashboard: reads the JSON API and draws it with the vendored Chart.js. No build step.
"use strict";

(function () {
  const METRICS = ["precision", "accuracy", "recall", "f1"];
  const CLASS_METRICS = ["precision", "recall", "f1"];
  const METRIC_LABELS = { precision: "Precision", accuracy: "Accuracy", recall: "Recall", f1: "F1" };
  const METRIC_COLORS = { precision: "#2563eb", accuracy: "#1f7a55", recall: "#d97706", f1: "#9333ea" };
  const TABS = ["main", "metrics", "samples", "class-metrics", "training", "drift"];
  // What the page shares with the API (GET /api/vocabulary), asked for before anything is drawn: the drift
  // features, their names and what a class's share is a share of; the API's default and longest range, the
  // years it accepts and its averages; the low-count threshold's default, until /api/metrics gives the
  // logger's.
  let vocabulary = null;
  const DRIFT_CATEGORIES = {
    drift: { label: "drift", color: "#dc2626", pointStyle: "triangle", radius: 6 },
    no_drift: { label: "no drift", color: "#1f7a55", pointStyle: "circle", radius: 3.5 },
    in_reference: { label: "in the reference window", color: "#94a3b8", pointStyle: "rect", radius: 3.5 },
    insufficient_data: { label: "insufficient data", color: "#9ca3af", pointStyle: "circle", radius: 4.5 },
  };
  const ALERT_KINDS = { performance: "Performance", drift: "Drift", traffic: "Traffic" };
  const TRAFFIC_METRICS = { predictions: "no predictions", reviews: "no reviews" };
  const REFERENCE_FILL = "rgba(31, 122, 85, 0.13)";
  const TRAFFIC_COLORS = { reviewed: "#1f7a55", awaiting: "#e3b341", hours: "#2563eb" };
  const ALERT_COLOR = "#dc2626";
  const HOLLOW = "#ffffff";
  const THRESHOLD_COLOR = "#a4262c";
  // Legacy reviews that said "wrong" without naming the class: counted as validated, in no class.
  const UNKNOWN_CLASS = "rejected, class unknown";
  const UNKNOWN_COLOR = "#b4bcb8";
  // What each request loads, in the words of the error banner.
  const SOURCES = {
    metrics: "the metrics",
    alerts: "the alerts",
    drift: "the drift results",
    confusion: "the confusion matrix",
    classDaily: "the per-class metrics",
    training: "the training-set counts",
    dateRange: "the days with data",
    calibration: "the calibration",
    estimate: "the estimated accuracy",
    traffic: "the predictions per day",
  };
  // Answers that a monitor of an earlier release does not serve: its 404 is said in place, not as an error.
  const NOT_SERVED = { traffic: "This monitor does not serve /api/traffic: no traffic chart." };
  // Loaded with every range too, but served from the history alone (as of the logger's last tick).
  const HISTORY_KEYS = ["calibration", "estimate"];
  const RANGE_KEYS = ["metrics", "alerts", "drift", "confusion", "classDaily", "traffic"];
  const TYPING_PAUSE_MS = 1000; // a typed date is applied after this pause (or at once on Enter, blur, a whole date)
  const MAX_RETRY_SECONDS = 60;
  const REFRESH_CHOICES = ["off", "60", "300"]; // seconds between automatic refreshes
  const POINT_ROOM = 8; // px past the plot where a point on its edge (6 px, 8 hovered) is still drawn whole
  const DAY_LABEL_WIDTH = 52; // px a day's tick ("Nov 30") needs, with room around it
  const MAX_DAY_LABELS = 8;
  // The per-class lines' point styles: a cue beside the colour, for classes of like colours (green, green_point).
  // rectRounded last: at a few pixels it reads as a circle.
  const CLASS_POINT_STYLES = ["circle", "rect", "triangle", "rectRot", "star", "crossRot", "cross", "rectRounded"];
  // Why the header's controls are disabled on a tab (they change nothing there).
  const AVERAGE_ELSEWHERE = "The average applies to Main and Metrics only.";
  const CONTROL_REASONS = {
    samples: AVERAGE_ELSEWHERE,
    "class-metrics": AVERAGE_ELSEWHERE,
    drift: AVERAGE_ELSEWHERE,
    training: "Training data does not depend on the range or the average.",
  };

  // Chart instances by canvas id, and the last answers: the browser tests read both.
  const charts = {};
  const state = {
    metrics: null,
    training: null,
    dateRange: null,
    drift: null,
    alerts: null,
    confusion: null,
    classDaily: null,
    traffic: null,
    classMetric: "recall",
    classFocus: "", // the class drawn with its reference on "Metrics by class" ("" for all)
    confusionView: "counts",
    ranges: {}, // the range (and time) each answer was loaded for
    firstDay: null, // the first day of the range with data, when the range starts earlier
    loads: 0,
    updatedAt: null,
  };
  window.claraCharts = charts;
  window.claraState = state;

  const $ = (id) => document.getElementById(id);
  const startInput = $("start-date");
  const endInput = $("end-date");
  const averageSelect = $("average");
  const classMetricSelect = $("class-metric");
  const classFocusSelect = $("class-focus");
  const autoRefreshSelect = $("auto-refresh");

  const percent = (value) => (value === null || value === undefined ? "–" : `${(value * 100).toFixed(1)}%`);
  // Whole percentages, as the incidents' own texts give them ("87% → 48%").
  const wholePercent = (value) => `${Math.round(value * 100)}%`;
  const isNumber = (value) => typeof value === "number" && Number.isFinite(value);
  const isoDay = (d) => d.toISOString().slice(0, 10);
  const addDays = (day, n) => {
    const d = new Date(`${day}T00:00:00Z`);
    d.setUTCDate(d.getUTCDate() + n);
    return isoDay(d);
  };
  const plural = (n, word) => `${n.toLocaleString()} ${word}${n === 1 ? "" : "s"}`;
  const listOf = (items) => (items.length < 2 ? items.join("") : `${items.slice(0, -1).join(", ")} and ${items.at(-1)}`);
  // "20 Nov 2026" in the reader's language: notices name days the way the date fields show them.
  const longDay = (day) =>
    new Date(`${day}T00:00:00Z`).toLocaleDateString(undefined, { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" });

  // A request that failed: why, in the API's words, and whether trying again later can help.
  class LoadError extends Error {
    constructor(reason, status) {
      super(reason);
      this.reason = reason;
      this.status = status;
      this.retryable = status === 0 || status === 429 || status >= 500;
    }
  }

  async function getJson(url) {
    let answer;
    try {
      answer = await fetch(url, { headers: { Accept: "application/json" } });
    } catch (err) {
      throw new LoadError("the monitor cannot be reached (is it running?)", 0);
    }
    let body = null;
    try {
      body = await answer.json();
    } catch (err) {
      body = null;
    }
    if (!answer.ok) {
      const reason = body && body.error ? body.error : `the monitor answered ${answer.status} ${answer.statusText}`.trim();
      throw new LoadError(reason, answer.status);
    }
    if (body === null) throw new LoadError("the monitor's answer was not JSON", answer.status);
    return body;
  }

  // Times in the days' time zone (the API's TIMEZONE), so that a time and its day agree.
  function formatTime(iso) {
    if (!iso) return "never";
    const zone = (state.metrics && state.metrics.timezone) || (state.drift && state.drift.timezone) || undefined;
    const options = { dateStyle: "medium", timeStyle: "short", timeZone: zone };
    try {
      return new Date(iso).toLocaleString(undefined, options);
    } catch (err) {
      return new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
    }
  }

  function element(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = text;
    if (className) node.className = className;
    return node;
  }

  function swatch(color) {
    const node = element("span", null, "swatch");
    node.style.background = color;
    return node;
  }

  // -- low-sample days and alerts, shared by the charts over days ---------------------------------

  const lowSampleThreshold = () => {
    const threshold = state.metrics && state.metrics.low_sample_threshold;
    return Number.isInteger(threshold) ? threshold : vocabulary.low_sample_threshold;
  };
  const isLowCount = (count) => count > 0 && count < lowSampleThreshold();

  // Days with few validated predictions: hollow points and dashed segments (Chart.js scriptables).
  // `color` is a colour or a function of the scriptable context.
  function lowConfidenceStyle(counts, color, radius, pointStyle = "circle") {
    const low = (index) => isLowCount(counts[index]);
    const paint = typeof color === "function" ? color : () => color;
    return {
      counts, // read by the tooltips and the browser tests
      pointStyle,
      pointRadius: (ctx) => (low(ctx.dataIndex) ? Math.max(radius, 3) : radius),
      pointHoverRadius: (ctx) => (low(ctx.dataIndex) ? Math.max(radius, 3) : radius) + 2,
      pointBorderColor: paint,
      pointBackgroundColor: (ctx) => (low(ctx.dataIndex) ? HOLLOW : paint(ctx)),
      pointBorderWidth: (ctx) => (low(ctx.dataIndex) ? 1.5 : 1),
      segment: { borderDash: (ctx) => (low(ctx.p0DataIndex) || low(ctx.p1DataIndex) ? [5, 4] : undefined) },
    };
  }

  function countLine(count) {
    if (count === undefined || count === null) return "";
    const note = isLowCount(count) ? ` · fewer than ${lowSampleThreshold()}: low confidence` : "";
    return `${plural(count, "validated prediction")}${note}`;
  }

  // A CSS colour (a name, rgb() or hex: the class file's) made translucent, through the canvas' parser.
  const colorParser = document.createElement("canvas").getContext("2d");
  function translucent(color) {
    colorParser.fillStyle = "#000000";
    colorParser.fillStyle = color;
    const hex = colorParser.fillStyle;
    return /^#[0-9a-f]{6}$/i.test(hex) ? `${hex}38` : color;
  }

  // Hovering a legend entry fades the other lines: one class among seven stands out.
  const legendEmphasis = {
    onHover: (event, item, legend) => {
      if (legend.chart.$emphasis === item.datasetIndex) return;
      legend.chart.$emphasis = item.datasetIndex;
      legend.chart.update("none");
    },
    onLeave: (event, item, legend) => {
      legend.chart.$emphasis = legend.chart.$focus; // the class chosen, if any, stays forward
      legend.chart.update("none");
    },
  };
  const emphasised = (color) => (ctx) => {
    const focus = ctx.chart.$emphasis;
    return focus === undefined || focus === ctx.datasetIndex ? color : translucent(color);
  };

  const cleanAlertText = (text) => (text || "").replace(/:[a-z_]+:\s*/g, "").trim();

  function alertsByDay() {
    const byDay = new Map();
    for (const alert of state.alerts ? state.alerts.alerts : []) {
      if (!byDay.has(alert.day)) byDay.set(alert.day, []);
      byDay.get(alert.day).push(alert);
    }
    return byDay;
  }

  // The tooltip line of the day an incident opened.
  const alertSummary = (alert) => `${ALERT_KINDS[alert.kind] || alert.kind}: ${cleanAlertText(alert.text)}`;

  const alertTooltipLines = (day) => (alertsByDay().get(day) || []).map((alert) => `⚠ ${alertSummary(alert)}`);

  // A red band and a red triangle on each alert day; the days drawn are kept on the chart ($alertDays).
  const alertMarkers = {
    id: "alertMarkers",
    beforeDatasetsDraw(chart, args, options) {
      chart.$alertDays = [];
      const days = options.days || [];
      const x = chart.scales.x;
      const area = chart.chartArea;
      if (!days.length || !x || !area) return;
      const labels = chart.data.labels;
      const step = labels.length > 1 ? Math.abs(x.getPixelForValue(1) - x.getPixelForValue(0)) : area.right - area.left;
      const width = Math.max(3, Math.min(step * 0.7, 28));
      const ctx = chart.ctx;
      ctx.save();
      for (const day of days) {
        const index = labels.indexOf(day);
        if (index < 0) continue;
        const center = x.getPixelForValue(index);
        ctx.fillStyle = "rgba(220, 38, 38, 0.09)";
        ctx.fillRect(center - width / 2, area.top, width, area.bottom - area.top);
        ctx.fillStyle = ALERT_COLOR;
        ctx.beginPath();
        ctx.moveTo(center - 5, area.top);
        ctx.lineTo(center + 5, area.top);
        ctx.lineTo(center, area.top + 8);
        ctx.closePath();
        ctx.fill();
        chart.$alertDays.push(day);
      }
      ctx.restore();
    },
  };

  // -- charts -------------------------------------------------------------------------------------

  // Points on the plot's edge (a value of 100%, a p-value of 1) are drawn whole: a dataset may reach
  // POINT_ROOM px past the plot (Chart.js cuts it at an axis' set min and max), and the layout leaves that
  // room above the plot.
  function withRoomForPoints(config) {
    if (config.type === "pie") return config;
    for (const dataset of config.data.datasets) if (dataset.clip === undefined) dataset.clip = POINT_ROOM;
    const layout = config.options.layout || {};
    const padding = layout.padding || {};
    config.options.layout = { ...layout, padding: { ...padding, top: Math.max(padding.top || 0, POINT_ROOM) } };
    return config;
  }

  function draw(id, config) {
    withRoomForPoints(config);
    if (charts[id]) {
      charts[id].data = config.data;
      charts[id].options = config.options;
      charts[id].update();
      return charts[id];
    }
    charts[id] = new Chart($(id), config);
    return charts[id];
  }

  // A fresh object per chart: Chart.js writes into the options it is given.
  const unitAxis = () => ({
    min: 0,
    max: 1,
    beginAtZero: true,
    ticks: { callback: (v) => `${Math.round(v * 100)}%` },
    grid: { color: "#eef2f0" },
  });
  // A percentage axis that fits the values drawn: padded, on whole steps (5% or, over a wide spread, 10%),
  // within 0% and 100%, so that an 87% → 80% slide is seen, not flattened against a 0–100% axis.
  function fittedAxis(datasets) {
    const values = datasets.flatMap((dataset) => dataset.data).filter(isNumber);
    if (!values.length) return unitAxis();
    const low = Math.min(...values);
    const high = Math.max(...values);
    const pad = Math.max((high - low) * 0.15, 0.03);
    const steps = high - low > 0.3 ? 10 : 20;
    return {
      ...unitAxis(),
      beginAtZero: false,
      min: Math.max(0, Math.floor((low - pad) * steps) / steps),
      max: Math.min(1, Math.ceil((high + pad) * steps) / steps),
    };
  }

  // A reference level ({value, low, high} from /api/metrics) over every day: its 90% band shaded, the level
  // dashed. Marked `reference`: the tooltips and the legend leave the band's lower edge out.
  function referenceDatasets(level, days, color, name) {
    if (!level || !isNumber(level.value)) return [];
    const flat = (value) => days.map(() => value);
    const common = { pointRadius: 0, pointHoverRadius: 0, pointHitRadius: 0, spanGaps: false, reference: level };
    const datasets = [];
    if (isNumber(level.low) && isNumber(level.high)) {
      datasets.push(
        { ...common, label: `${name} reference band (low)`, data: flat(level.low), borderWidth: 0, fill: false },
        { ...common, label: `${name} reference, 90% band`, data: flat(level.high), borderWidth: 0,
          backgroundColor: REFERENCE_FILL, borderColor: REFERENCE_FILL, fill: "-1" },
      );
    }
    datasets.push({ ...common, label: `${name} reference`, data: flat(level.value), borderColor: color,
      backgroundColor: color, borderDash: [2, 3], borderWidth: 1.5 });
    return datasets;
  }

  const referenceLine = (level) =>
    `reference ${percent(level.value)}` + (isNumber(level.low) && isNumber(level.high) ? ` (90% band ${percent(level.low)}–${percent(level.high)})` : "");

  // Days in one format: ticks say "Nov 4" (shortDay), tooltips and notes add the year (longDay); never the ISO day.
  const shortDay = (day) =>
    new Date(`${day}T00:00:00Z`).toLocaleDateString(undefined, { month: "short", day: "numeric", timeZone: "UTC" });
  const dayTitle = (items) => (items.length ? longDay(items[0].label) : "");
  // A tick every `step` days back from the last, the step set by the number of days and the chart's width
  // alone (not by Chart.js' skipping, which follows the width of the value axis): charts side by side
  // label the same days.
  const dayStep = (count, width) =>
    Math.ceil(count / Math.max(2, Math.min(MAX_DAY_LABELS, Math.floor(width / DAY_LABEL_WIDTH))));
  const dayAxis = () => ({
    ticks: {
      maxRotation: 0,
      autoSkip: false,
      callback(value, index) {
        const count = this.chart.data.labels.length;
        return (count - 1 - index) % dayStep(count, this.chart.width) === 0 ? shortDay(this.getLabelForValue(value)) : null;
      },
    },
    grid: { display: false },
  });
  // The days a chart draws: from the first with data (state.firstDay) where the range starts earlier.
  const fromFirstDay = (days) => (state.firstDay ? days.filter((d) => (d.day || d) >= state.firstDay) : days);
  const tooltipPercent = {
    callbacks: { label: (ctx) => `${ctx.dataset.label}: ${percent(ctx.parsed.y ?? ctx.parsed)}` },
  };

  // A line chart over days, with low-sample days hollow and dashed, and the days incidents opened marked.
  // Reference datasets (referenceDatasets) say their level once in the tooltip's footer.
  function dayLineConfig(days, datasets, tooltipCallbacks, showLegend) {
    const references = [...new Set(datasets.filter((d) => d.reference).map((d) => d.reference))];
    return {
      type: "line",
      data: { labels: days, datasets },
      plugins: [alertMarkers],
      options: {
        responsive: true,
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        scales: { y: fittedAxis(datasets), x: dayAxis() },
        plugins: {
          legend: {
            display: showLegend || references.length > 0,
            position: "bottom",
            labels: { usePointStyle: true, boxHeight: 7, filter: (item, data) => !data.datasets[item.datasetIndex].label.endsWith("(low)") },
            ...legendEmphasis,
          },
          tooltip: {
            filter: (item) => !item.dataset.reference,
            callbacks: { title: dayTitle, footer: () => references.map(referenceLine), ...tooltipCallbacks },
          },
          alertMarkers: { days: days.filter((day) => alertsByDay().has(day)) },
        },
      },
    };
  }

  // The whole model's reference levels, as the logger judged with them (null before its first judgement).
  const modelReference = () => (state.metrics && state.metrics.reference) || null;

  function lineConfig(days, series) {
    const daily = state.metrics.daily_metrics;
    const counts = days.map((day) => daily[day].entries);
    const radius = days.length > 60 ? 0 : 2.5;
    const datasets = series.map((metric) => ({
      label: METRIC_LABELS[metric],
      data: days.map((day) => daily[day][metric]),
      borderColor: METRIC_COLORS[metric],
      backgroundColor: METRIC_COLORS[metric],
      borderWidth: 2,
      cubicInterpolationMode: "monotone", // smooth without overshooting 0 % or 100 %
      spanGaps: false, // a day without validated predictions is a gap, never a carried value
      ...lowConfidenceStyle(counts, METRIC_COLORS[metric], radius),
    }));
    if (series.includes("accuracy")) {
      const reference = modelReference();
      datasets.push(...referenceDatasets(reference && reference.accuracy, days, METRIC_COLORS.accuracy, "Accuracy"));
    }
    return dayLineConfig(days, datasets, {
      afterTitle: (items) => countLine(counts[items[0].dataIndex]),
      label: (ctx) => `${ctx.dataset.label}: ${percent(ctx.parsed.y)}`,
      afterBody: (items) => alertTooltipLines(days[items[0].dataIndex]),
    }, series.length > 1);
  }

  function barConfig(labels, values, colors, label, unit, notes) {
    const callbacks = unit ? { ...tooltipPercent.callbacks } : {};
    if (notes) callbacks.afterLabel = (ctx) => notes[ctx.dataIndex];
    return {
      type: "bar",
      data: { labels, datasets: [{ label, data: values, backgroundColor: colors, borderRadius: 6 }] },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        scales: unit ? { y: unitAxis(), x: { grid: { display: false } } } : { y: { beginAtZero: true, grid: { color: "#eef2f0" } }, x: { grid: { display: false } } },
        plugins: { legend: { display: false }, tooltip: { callbacks } },
      },
    };
  }

  // Slices say their share in the legend and the tooltip: a pie's angles are hard to read.
  function pieConfig(labels, values, colors) {
    const total = values.reduce((a, b) => a + b, 0);
    const share = (value) => (total > 0 ? percent(value / total) : "–");
    const narrow = window.matchMedia("(max-width: 600px)").matches;
    return {
      type: "pie",
      data: { labels, datasets: [{ data: values, backgroundColor: colors, borderColor: "#fff", borderWidth: 2 }] },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        plugins: {
          legend: {
            position: narrow ? "bottom" : "right",
            labels: {
              generateLabels: (chart) =>
                Chart.overrides.pie.plugins.legend.labels
                  .generateLabels(chart)
                  .map((item) => ({ ...item, text: `${item.text}  ${share(values[item.index])}` })),
            },
          },
          tooltip: {
            callbacks: { label: (ctx) => `${ctx.label}: ${ctx.parsed.toLocaleString()} (${share(ctx.parsed)})` },
          },
        },
      },
    };
  }

  // The legacy rejections without a class, by the class the model predicted (from /api/confusion).
  function unknownClassLines() {
    const lines = ["legacy reviews that rejected the prediction", "without naming the true class"];
    const c = state.confusion;
    const m = state.metrics;
    if (!c || c.start_date !== m.start_date || c.end_date !== m.end_date) return lines;
    const predicted = c.names.filter((name) => c.rejected[name] > 0).map((name) => `${name} ${c.rejected[name].toLocaleString()}`);
    return predicted.length ? [...lines, `predicted: ${predicted.join(", ")}`] : lines;
  }

  // Validated predictions by true class, plus a bar for those without one, so that the bars add up to the KPI.
  function classCounts(m) {
    const names = Object.keys(m.class_counts);
    const values = names.map((n) => m.class_counts[n]);
    const colors = names.map((n) => m.color_dict[n] || "#888");
    const unknown = Math.max(0, m.total_validated - values.reduce((a, b) => a + b, 0));
    if (unknown > 0) {
      names.push(UNKNOWN_CLASS);
      values.push(unknown);
      colors.push(UNKNOWN_COLOR);
    }
    const share = (n) => (m.total_validated > 0 ? `${percent(n / m.total_validated)} of the validated` : "");
    const notes = names.map((name, i) => (name === UNKNOWN_CLASS ? [share(values[i]), ...unknownClassLines()] : share(values[i])));
    return { names, values, colors, notes, unknown };
  }

  function renderLowCountNote(m, days) {
    const threshold = lowSampleThreshold();
    const low = days.filter((day) => isLowCount(m.daily_metrics[day].entries));
    let text = "";
    if (m.total_validated > 0 && m.total_validated < threshold) {
      text = `Only ${plural(m.total_validated, "validated prediction")} in this range: ` +
        "percentages over so few reviews can be far from the classifier's real performance.";
    } else if (low.length) {
      const listed = low.slice(0, 5).map((day) => `${shortDay(day)}: n = ${m.daily_metrics[day].entries}`);
      const more = low.length > 5 ? `, and ${low.length - 5} more` : "";
      text = `${plural(low.length, "day")} of this range had fewer than ${threshold} validated predictions ` +
        `(${listed.join(", ")}${more}): a daily percentage over so few can swing widely. ` +
        "The charts draw these days hollow and dashed.";
    }
    $("kpi-note").textContent = text;
    $("kpi-note").hidden = !text;
  }

  function dataBoundsText() {
    const bounds = state.dateRange;
    if (!bounds) return "";
    if (!bounds.min_date) return "There are no validated predictions yet.";
    return `Validated predictions run from ${longDay(bounds.min_date)} to ${longDay(bounds.max_date)}.`;
  }

  function renderMetrics() {
    const m = state.metrics;
    const names = Object.keys(m.class_counts);
    const colors = names.map((name) => m.color_dict[name] || "#888");
    const days = fromFirstDay(Object.keys(m.daily_metrics));
    const empty = m.total_validated === 0;
    for (const panel of ["main", "metrics", "samples", "class-metrics"]) {
      const section = $(`panel-${panel}`);
      section.querySelector(".empty").hidden = !empty;
      section.querySelector(".empty-bounds").textContent = dataBoundsText();
      section.querySelector(".with-data").hidden = empty;
    }
    $("kpi-total").textContent = m.total_validated.toLocaleString();
    $("kpi-invalid").textContent = m.invalid_records.toLocaleString();
    for (const metric of METRICS) $(`kpi-${metric}`).textContent = percent(m.metrics[metric]);
    for (const node of document.querySelectorAll(".low-threshold")) node.textContent = String(lowSampleThreshold());
    $("footnote").textContent =
      `${longDay(m.start_date)} to ${longDay(m.end_date)} · days in ${m.timezone} · ${m.average} average · ` +
      `undefined values are left out and shown as gaps`;
    renderLowCountNote(m, days);
    if (empty) return;
    const byClass = classCounts(m);
    for (const note of document.querySelectorAll(".class-total-note")) {
      note.hidden = byClass.unknown === 0;
      note.textContent = byClass.unknown === 0 ? "" :
        `With “${UNKNOWN_CLASS}” in grey, the classes add up to the ${m.total_validated.toLocaleString()} validated: ` +
        `${plural(byClass.unknown, "legacy review")} rejected the prediction without naming the true class.`;
    }
    draw("chart-daily", lineConfig(days, METRICS));
    draw("chart-main-classes", barConfig(byClass.names, byClass.values, byClass.colors, "Validated", false, byClass.notes));
    for (const metric of METRICS) draw(`chart-${metric}`, lineConfig(days, [metric]));
    draw("chart-samples-pie", pieConfig(byClass.names, byClass.values, byClass.colors));
    draw("chart-samples-bar", barConfig(byClass.names, byClass.values, byClass.colors, "Validated", false, byClass.notes));
    for (const metric of CLASS_METRICS) {
      const values = names.map((n) => m.class_metrics[n][metric]);
      const supports = names.map((n) => `support ${m.class_metrics[n].support.toLocaleString()}`);
      draw(`chart-class-${metric}`, barConfig(names, values, colors, METRIC_LABELS[metric], true, supports));
    }
  }

  function renderLedger() {
    const ledger = state.metrics && state.metrics.ledger;
    const banner = $("ledger");
    const lagging = Boolean(ledger) && (ledger.state === "behind" || ledger.state === "absent");
    banner.hidden = !lagging;
    if (!lagging) return;
    banner.dataset.state = ledger.state;
    banner.querySelector(".banner-title").textContent =
      ledger.state === "absent" ? "The logger has not built its history yet." : "The logger is behind.";
    $("ledger-message").textContent = ledger.message;
    $("ledger-details").textContent = ledger.last_tick_at
      ? `Last logger run, local time: ${formatTime(ledger.last_tick_at)}.`
      : `${plural(ledger.backlog, "validated prediction")} waiting for the logger.`;
  }

  function renderTraining() {
    const t = state.training;
    const names = Object.keys(t.class_counts);
    draw("chart-training", pieConfig(names, names.map((n) => t.class_counts[n]), names.map((n) => t.color_dict[n] || "#888")));
    const body = $("training-table").querySelector("tbody");
    body.replaceChildren(
      ...names.map((name) => {
        const row = document.createElement("tr");
        const label = element("td");
        label.append(swatch(t.color_dict[name]), name);
        row.append(label, element("td", t.class_counts[name].toLocaleString()));
        return row;
      })
    );
  }

  // -- per-class metrics over time ----------------------------------------------------------------

  function classDailyConfig(metric) {
    const answer = state.classDaily;
    const rows = fromFirstDay(answer.days);
    const days = rows.map((d) => d.day);
    const counts = rows.map((d) => d.count);
    const radius = days.length > 60 ? 2 : 2.5; // points even over many days: their style tells like colours apart
    const datasets = answer.names.map((name, i) => {
      const color = answer.color_dict[name] || "#888";
      return {
        label: name,
        data: rows.map((d) => (d.classes[name] ? d.classes[name][metric] : null)),
        support: rows.map((d) => (d.classes[name] ? d.classes[name].support : 0)),
        borderColor: emphasised(color),
        backgroundColor: color,
        borderWidth: 2,
        tension: 0, // straight segments: a class's day-to-day noise is not smoothed into waves
        spanGaps: false,
        ...lowConfidenceStyle(counts, emphasised(color), radius, CLASS_POINT_STYLES[i % CLASS_POINT_STYLES.length]),
      };
    });
    const focus = state.classFocus;
    if (focus && answer.names.includes(focus)) {
      const reference = modelReference();
      const level = reference && reference.classes && reference.classes[focus] ? reference.classes[focus][metric] : null;
      datasets.push(...referenceDatasets(level, days, answer.color_dict[focus] || "#888", focus));
    }
    return dayLineConfig(days, datasets, {
      afterTitle: (items) => countLine(counts[items[0].dataIndex]),
      label: (ctx) => `${ctx.dataset.label}: ${percent(ctx.parsed.y)} (support ${ctx.dataset.support[ctx.dataIndex]})`,
      afterBody: (items) => alertTooltipLines(days[items[0].dataIndex]),
    }, true);
  }

  // The class chooser lists the answer's classes; a class it does not know falls back to all.
  function fillClassFocus(names) {
    const kept = [...classFocusSelect.options].slice(1).map((option) => option.value);
    if (kept.join("\n") !== names.join("\n")) {
      classFocusSelect.replaceChildren(classFocusSelect.options[0], ...names.map((name) => new Option(name, name)));
    }
    if (state.classFocus && !names.includes(state.classFocus)) state.classFocus = "";
    classFocusSelect.value = state.classFocus;
  }

  function renderClassDaily() {
    const metric = state.classMetric;
    const names = state.classDaily.names;
    fillClassFocus(names);
    const focus = state.classFocus;
    $("class-daily-title").textContent = focus
      ? `${METRIC_LABELS[metric]} of ${focus}, day by day, beside the other classes`
      : `${METRIC_LABELS[metric]} by class, day by day`;
    const chart = draw("chart-class-daily", classDailyConfig(metric));
    // The class chosen stays forward; pointing at the legend brings another forward for a while.
    chart.$focus = focus ? names.indexOf(focus) : undefined;
    chart.$emphasis = chart.$focus;
    chart.update("none");
  }

  // -- confusion matrix ---------------------------------------------------------------------------

  // The shade is the share of the true class in both views, so that the errors show in counts too;
  // off the diagonal on a square-root scale, so that a 10 % confusion stands out.
  function confusionCell(value, rowTotal, diagonal, description) {
    const share = rowTotal > 0 ? value / rowTotal : null;
    const rows = state.confusionView === "rows";
    const cell = element("td", rows ? percent(share) : value.toLocaleString(), `cell ${diagonal ? "hit" : "miss"}`);
    cell.dataset.value = String(rows ? share : value);
    const heat = !share ? 0 : diagonal ? share : Math.max(Math.sqrt(share), 0.06);
    cell.style.setProperty("--heat", heat.toFixed(3)); // style.css keeps the darkest shade readable in ink
    cell.title = `${description}: ${plural(value, "prediction")} (${percent(share)} of the true class)`;
    return cell;
  }

  // A name may break after its underscores ("green_" "point") where style.css lets the header wrap (a phone).
  function classHeader(name, color, scope) {
    const cell = element("th");
    cell.scope = scope;
    const parts = name.split(/(?<=_)/); // "green_point": "green_", "point"
    cell.append(swatch(color), ...parts.flatMap((part, i) => (i ? [element("wbr"), part] : [part])));
    return cell;
  }

  function renderConfusion() {
    const c = state.confusion;
    const table = $("confusion-table");
    const headRow = element("tr");
    const corner = element("th", "True ↓ · predicted →", "corner");
    corner.scope = "col";
    headRow.append(corner, ...c.names.map((name, j) => classHeader(name, c.colors[j], "col")), element("th", "Total"));
    headRow.lastChild.scope = "col";
    table.tHead.replaceChildren(headRow);

    const rows = c.matrix.map((counts, i) => {
      const total = counts.reduce((a, b) => a + b, 0);
      const row = element("tr");
      row.dataset.trueClass = String(c.labels[i]);
      row.append(
        classHeader(c.names[i], c.colors[i], "row"),
        ...counts.map((n, j) => confusionCell(n, total, i === j, `true ${c.names[i]}, predicted ${c.names[j]}`)),
        element("td", total.toLocaleString(), "total")
      );
      return row;
    });
    table.tBodies[0].replaceChildren(...rows);

    const rejectedCounts = c.names.map((name) => c.rejected[name] || 0);
    const rejectedTotal = rejectedCounts.reduce((a, b) => a + b, 0);
    const foot = element("tr", null, "rejected");
    const label = element("th", "Rejected, class not named");
    label.scope = "row";
    foot.append(
      label,
      ...rejectedCounts.map((n) => element("td", n.toLocaleString(), "count")),
      element("td", rejectedTotal.toLocaleString(), "total")
    );
    table.tFoot.replaceChildren(foot);

    for (const button of document.querySelectorAll("#card-confusion .toggle button")) {
      button.setAttribute("aria-pressed", String(button.dataset.view === state.confusionView));
    }
    $("confusion-note").textContent =
      `${plural(c.total, "validated prediction")} in this range. ` +
      "Rows: the class a reviewer named; columns: the predicted class. " +
      (state.confusionView === "rows" ? "Each row shows shares of its true class. " : "") +
      "The last row counts legacy reviews that rejected the prediction without naming the class " +
      `(${rejectedTotal.toLocaleString()}), by predicted class, always as counts: they have no row of their own.`;
  }

  // -- drift and alerts ---------------------------------------------------------------------------

  function driftValue(result) {
    if (!result) return null;
    return result.algorithm === "hellinger" ? result.statistic : result.p_value;
  }
  const driftStyle = (category) => DRIFT_CATEGORIES[category] || DRIFT_CATEGORIES.no_drift;

  function formatP(value) {
    if (value === null || value === undefined) return "–";
    return value >= 0.001 ? value.toPrecision(2) : value.toExponential(1);
  }

  const SUPERSCRIPT_DIGITS = "⁰¹²³⁴⁵⁶⁷⁸⁹";
  const powerOfTen = (power) =>
    `10${power < 0 ? "⁻" : ""}${[...String(Math.abs(power))].map((digit) => SUPERSCRIPT_DIGITS[digit]).join("")}`;

  // p-values on a log axis (drift is below the threshold); PSI and Hellinger distances go on a linear one.
  // Its ticks in one format: decimals (0.001 to 1) on an axis that stops there, powers of ten (10⁻⁴ to 10⁰)
  // on one that goes lower.
  function pValueAxis(values) {
    const positive = values.filter((v) => v !== null && v > 0);
    const smallest = Math.min(1e-3, ...positive);
    const min = Math.max(1e-16, 10 ** Math.floor(Math.log10(smallest)));
    return {
      type: "logarithmic",
      min,
      max: 1,
      grid: { color: "#eef2f0" },
      ticks: {
        autoSkip: true,
        callback: (v) => {
          const power = Math.round(Math.log10(v));
          if (Math.abs(Math.log10(v) - power) > 1e-9) return "";
          return min < 1e-3 ? powerOfTen(power) : String(10 ** power);
        },
      },
    };
  }

  // A day's drift shifts in words: "yellow 25% → 40%, red 12% → 6% of predictions".
  function shiftText(feature, shifts) {
    if (!shifts || !shifts.length) return "";
    const moves = shifts.map((s) => `${s.class} ${wholePercent(s.reference)} → ${wholePercent(s.current)}`);
    return `${moves.join(", ")} ${vocabulary.drift_share_of[feature] || ""}`.trim();
  }

  // Days judged with an effect size (PSI) are drawn by it, against each day's own PSI threshold; days
  // judged by an earlier release by their p-value (or Hellinger distance) and the threshold they stored.
  const judgedByPsi = (results) => results.some((r) => r && isNumber(r.psi));

  function driftConfig(feature) {
    const drift = state.drift;
    const rows = fromFirstDay(drift.days);
    const days = rows.map((d) => d.day);
    const counts = rows.map((d) => d.count);
    const results = rows.map((d) => d.features[feature] || null);
    const psi = judgedByPsi(results);
    const hellinger = !psi && drift.thresholds.algorithm === "hellinger";
    const fallback = hellinger ? drift.thresholds.hellinger_threshold : drift.thresholds.p_value;
    const categories = results.map((r) => (r ? r.category : null));
    const values = results.map((r) => (!r ? null : psi ? (isNumber(r.psi) ? r.psi : null) : driftValue(r)));
    // Each day's own threshold; a day without a result has none.
    const thresholds = results.map((r) => {
      if (!r) return null;
      if (psi) return isNumber(r.psi_threshold) ? r.psi_threshold : null;
      return isNumber(r.threshold) ? r.threshold : fallback;
    });
    const valueName = psi ? "PSI" : hellinger ? "Hellinger distance" : "p-value";
    const style = (ctx) => driftStyle(categories[ctx.dataIndex]);
    const measured = {
      label: valueName,
      data: values,
      categories, // read by the tooltips and the browser tests
      algorithms: results.map((r) => (r ? r.algorithm : null)),
      borderColor: "#b6c2bc",
      borderWidth: 1.5,
      spanGaps: false,
      pointStyle: (ctx) => style(ctx).pointStyle,
      pointRadius: (ctx) => style(ctx).radius,
      pointHoverRadius: (ctx) => style(ctx).radius + 2,
      pointBackgroundColor: (ctx) => style(ctx).color,
      pointBorderColor: (ctx) => style(ctx).color,
    };
    const thresholdLine = {
      label: psi ? "PSI threshold" : "threshold",
      data: thresholds,
      borderColor: THRESHOLD_COLOR,
      borderDash: [6, 4],
      borderWidth: 1.5,
      pointRadius: 0,
      pointHitRadius: 0,
      stepped: "middle", // a changed setting shows as a step on the day it took effect
      spanGaps: false,
    };
    // Untested days have no value: a hollow grey point on the "no evidence" edge of the axis.
    const edge = psi || hellinger ? 0 : 1;
    const insufficient = {
      label: "insufficient data",
      data: categories.map((c) => (c === "insufficient_data" ? edge : null)),
      showLine: false,
      pointStyle: "circle",
      pointRadius: DRIFT_CATEGORIES.insufficient_data.radius,
      pointBackgroundColor: HOLLOW,
      pointBorderColor: DRIFT_CATEGORIES.insufficient_data.color,
      pointBorderWidth: 1.5,
      clip: false, // drawn on the axis' edge: not cut in half
    };
    const describe = (ctx) => {
      const i = ctx.dataIndex;
      if (ctx.datasetIndex === 2) {
        return `insufficient data: fewer than ${drift.thresholds.min_samples} predictions, not tested`;
      }
      const r = results[i];
      const test = r && isNumber(r.p_value) ? `p ${formatP(r.p_value)}` + (isNumber(r.alpha) ? ` (α ${formatP(r.alpha)})` : "") : "";
      const own = isNumber(thresholds[i]) ? ` (threshold ${formatP(thresholds[i])})` : "";
      const measure = `${valueName} ${formatP(ctx.parsed.y)}${own}`;
      return `${[measure, test].filter(Boolean).join(", ")} · ${measured.algorithms[i]} · ${driftStyle(categories[i]).label}`;
    };
    const upper = [...values, ...thresholds].filter(isNumber);
    const axis = psi || hellinger
      ? { min: 0, suggestedMax: Math.max(...upper, 0.1) * 1.2, grid: { color: "#eef2f0" } }
      : pValueAxis(values);
    return {
      type: "line",
      data: { labels: days, datasets: [measured, thresholdLine, insufficient] },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        layout: { padding: { top: 6 } },
        scales: { y: axis, x: dayAxis() },
        plugins: {
          legend: { display: false },
          tooltip: {
            filter: (item) => item.datasetIndex !== 1 && item.parsed.y !== null,
            callbacks: {
              title: dayTitle,
              afterTitle: (items) => plural(counts[items[0].dataIndex], "validated prediction"),
              label: describe,
              afterBody: (items) => {
                const r = results[items[0].dataIndex];
                const moved = r ? shiftText(feature, r.shifts) : "";
                return moved ? [`moved: ${moved}`] : [];
              },
            },
          },
        },
      },
    };
  }

  // Under each drift chart: the classes that moved on the range's last drifting day of that feature.
  function renderDayShifts(feature) {
    const note = $(`drift-shift-${feature}`);
    const last = [...state.drift.days].reverse().find((d) => {
      const r = d.features[feature];
      return r && r.category === "drift" && r.shifts && r.shifts.length;
    });
    note.hidden = !last;
    note.textContent = last ? `On ${longDay(last.day)}, the last drifting day: ${shiftText(feature, last.features[feature].shifts)}.` : "";
  }

  // The drift notices of the range, each with the classes that moved.
  function renderShiftNotices() {
    const notices = state.alerts.alerts.filter((a) => a.kind === "drift");
    $("shifts-empty").hidden = notices.length > 0;
    $("shifts-list").replaceChildren(
      ...notices.map((notice) => {
        const item = element("li");
        item.dataset.alertId = notice.id;
        const name = vocabulary.drift_feature_names[notice.metric] || notice.metric || "drift";
        const span = notice.status === "open" ? "open" : `resolved ${longDay(notice.resolved_day)}`;
        const head = element("strong", `${name[0].toUpperCase()}${name.slice(1)}, since ${longDay(notice.since)} (${span})`);
        const moved = shiftText(notice.metric, notice.shifts);
        item.append(head, element("span", moved ? `: ${moved}.` : `: ${cleanAlertText(notice.text)}`, "shift-text"));
        if (notice.legacy) item.append(" ", element("span", "legacy", "badge off"));
        return item;
      })
    );
  }

  function renderDrift() {
    const drift = state.drift;
    const t = drift.thresholds;
    const evaluated = drift.days.some((d) => Object.keys(d.features).length > 0);
    const byPsi = drift.days.some((d) => Object.values(d.features).some((r) => r && isNumber(r.psi)));
    const how = byPsi
      ? "PSI (population stability index) of each day's window against the reference. A day drifts when its PSI " +
        "reaches the threshold it was judged with (the dashed line, each day's own) and its test is significant at " +
        "the level α corrected for the number of tests (Bonferroni; in the tooltip)."
      : t.algorithm === "hellinger"
        ? `Hellinger distance of each day from the reference; above the day's threshold is drift.`
        : "p-value of each day's test against the reference (chi-square for the classes, " +
          "Kolmogorov–Smirnov for confidence); below the day's threshold is drift.";
    $("drift-explainer").textContent =
      `${how} Days with fewer than ${t.min_samples} predictions are not tested.` +
      (evaluated ? "" : " The logger has not evaluated any day of this range yet.");
    for (const feature of vocabulary.drift_features) {
      draw(`chart-drift-${feature}`, driftConfig(feature));
      renderDayShifts(feature);
    }
  }

  function deliveryCell(delivered) {
    let [text, kind] = ["webhook off", "off"]; // null: no ALERT_WEBHOOK_URL
    if (delivered === true) [text, kind] = ["delivered", "ok"];
    if (delivered === false) [text, kind] = ["pending", "warn"];
    const cell = element("td");
    cell.append(element("span", text, `badge ${kind}`));
    return cell;
  }

  // A figure of an incident in its metric's unit: a percentage, a PSI, or a plain number (traffic).
  function incidentFigure(alert, value) {
    if (alert.kind === "performance") return wholePercent(value);
    if (alert.kind === "drift") return value.toFixed(2);
    return value.toLocaleString(undefined, { maximumFractionDigits: 0 }); // events seen, events expected
  }

  // "48% (ref. 87%)", "PSI 0.21 (threshold 0.10)", or what of it is known; "–" only when neither is.
  function incidentValue(alert) {
    const unit = alert.kind === "drift" ? "PSI " : "";
    const value = isNumber(alert.value) ? `${unit}${incidentFigure(alert, alert.value)}` : "";
    if (!isNumber(alert.reference)) return value || "–";
    const reference = incidentFigure(alert, alert.reference);
    const word = { drift: "threshold", traffic: "expected" }[alert.kind] || (alert.legacy ? "threshold" : "ref.");
    return value ? `${value} (${word} ${reference})` : `${word} ${reference}`;
  }

  // What an incident is about, in a few words: "green recall", "accuracy", "predicted class drift".
  function incidentSubject(alert) {
    if (alert.kind === "drift") return `${vocabulary.drift_feature_names[alert.metric] || alert.metric} drift`;
    if (alert.kind === "traffic") return TRAFFIC_METRICS[alert.metric] || `${alert.metric} stopped`;
    return alert.class ? `${alert.class} ${alert.metric}` : alert.metric;
  }

  // A day as every date on the page reads ("Dec 1, 2026"), its ISO form in `datetime`.
  function dayElement(day) {
    const time = element("time", day ? longDay(day) : "–");
    if (day) time.dateTime = day;
    return time;
  }

  function stateCell(alert) {
    const cell = element("td", null, "day");
    const open = alert.status === "open";
    const state = element("span", open ? "open" : "resolved ", `badge ${open ? "state-open" : "ok"}`);
    if (!open) state.append(dayElement(alert.resolved_day));
    cell.append(state);
    return cell;
  }

  function alertRow(alert) {
    const row = element("tr", null, `alert-${alert.kind}${alert.legacy ? " legacy" : ""}`);
    row.dataset.alertId = alert.id;
    const kind = element("td");
    kind.append(element("span", ALERT_KINDS[alert.kind] || alert.kind, `badge kind-${alert.kind}`));
    if (alert.legacy) kind.append(" ", element("span", "legacy", "badge off"));
    const metric = alert.kind === "drift" ? vocabulary.drift_feature_names[alert.metric] || alert.metric : alert.metric;
    const whole = alert.kind === "performance" ? "whole model" : "–";
    const opened = element("td", null, "day");
    const time = dayElement(alert.day);
    if (alert.created_at) time.title = `recorded ${formatTime(alert.created_at)}`;
    opened.append(time);
    const since = element("td", null, "day");
    since.append(dayElement(alert.since));
    const value = element("td", incidentValue(alert), "number");
    if (Number.isInteger(alert.count)) value.title = `over ${plural(alert.count, "reviewed prediction")}`;
    const text = cleanAlertText(alert.text);
    const moved = alert.kind === "drift" ? shiftText(alert.metric, alert.shifts) : "";
    row.append(
      kind,
      element("td", metric || "–"),
      element("td", alert.class || whole),
      since,
      opened,
      stateCell(alert),
      value,
      deliveryCell(alert.delivered),
      element("td", moved && !text.includes(moved) ? [text, moved].filter(Boolean).join(" · ") : text, "details")
    );
    return row;
  }

  // On a phone the table's rows are cards (style.css lays its parts out as blocks, which drops a table's
  // semantics in some browsers): its roles are stated, and each cell carries its column's name, which
  // the card writes before the value (the header row is then read by screen readers only).
  function keepTableSemantics(table) {
    const names = [...table.tHead.rows[0].cells].map((cell) => cell.textContent);
    table.setAttribute("role", "table");
    for (const group of [table.tHead, ...table.tBodies]) group.setAttribute("role", "rowgroup");
    for (const row of table.rows) {
      row.setAttribute("role", "row");
      [...row.cells].forEach((cell, i) => {
        cell.setAttribute("role", cell.tagName === "TH" ? "columnheader" : "cell");
        cell.dataset.label = names[i];
      });
    }
  }

  function renderAlerts() {
    const list = state.alerts.alerts;
    $("alerts-empty").hidden = list.length > 0;
    $("alerts-table").hidden = list.length === 0;
    $("alerts-table").tBodies[0].replaceChildren(...list.map(alertRow));
    keepTableSemantics($("alerts-table"));
    renderShiftNotices();
    renderVerdict();
  }

  // -- the verdict, the predictions awaiting review, the traffic -----------------------------------

  // Where an incident is seen best: its class and metric on "Metrics by class", the whole model's
  // accuracy on Metrics, traffic on Main's traffic chart, drift on "Drift & alerts".
  function incidentPlace(alert) {
    if (alert.kind === "drift") return { tab: "drift", card: "card-shifts", name: "Drift & alerts" };
    if (alert.kind === "traffic") return { tab: "main", card: "card-traffic", name: "traffic chart" };
    if (alert.class) return { tab: "class-metrics", card: "card-class-daily", name: "Metrics by class" };
    return { tab: "metrics", card: "card-accuracy", name: "Metrics" };
  }

  function followIncident(alert) {
    const place = incidentPlace(alert);
    if (place.tab === "class-metrics") {
      state.classFocus = alert.class;
      state.classMetric = CLASS_METRICS.includes(alert.metric) ? alert.metric : state.classMetric;
      classMetricSelect.value = state.classMetric;
      if (state.classDaily) renderClassDaily();
    }
    selectTab(place.tab);
    const card = $(place.card);
    card.scrollIntoView({ block: "start" });
    card.focus({ preventScroll: true });
  }

  function incidentLink(alert, notice) {
    const note = notice ? " (notice)" : alert.status === "resolved" ? ` (resolved ${shortDay(alert.resolved_day)})` : "";
    const place = incidentPlace(alert);
    const params = new URLSearchParams(location.search);
    params.set("tab", place.tab);
    if (place.tab === "class-metrics") {
      params.set("class", alert.class);
      if (CLASS_METRICS.includes(alert.metric)) params.set("class_metric", alert.metric);
    }
    const link = element("a", `${incidentSubject(alert)}${note}`, "verdict-link");
    link.href = `?${params}`;
    link.dataset.alertId = alert.id;
    link.append(element("span", ` → ${place.name}`, "verdict-place"));
    link.addEventListener("click", (event) => {
      event.preventDefault();
      followIncident(alert);
    });
    const item = element("li");
    item.append(link);
    return item;
  }

  function renderVerdict() {
    const verdict = state.alerts.verdict;
    const box = $("verdict");
    box.hidden = !verdict;
    if (!verdict) return;
    const degraded = verdict.state === "degraded";
    box.dataset.state = verdict.state;
    $("verdict-mark").textContent = degraded ? "⚠" : "✓";
    $("verdict-text").textContent = verdict.text || (degraded ? "Degraded" : "Healthy");
    const byId = new Map(state.alerts.alerts.map((a) => [a.id, a]));
    // Every incident behind the verdict, the open ones first (the API's order); drift notices still open.
    const incidents = verdict.incidents.map((id) => byId.get(id)).filter(Boolean);
    const notices = verdict.notices.map((id) => byId.get(id)).filter((a) => a && a.status === "open");
    $("verdict-links").replaceChildren(...incidents.map((a) => incidentLink(a, false)), ...notices.map((a) => incidentLink(a, true)));
    $("verdict-links").hidden = incidents.length + notices.length === 0;
  }

  // "1,234 awaiting review · est. accuracy 84% (81–87%)", from /api/estimated-performance's total.
  function renderAwaiting() {
    const total = state.estimate && state.estimate.total;
    $("awaiting").hidden = !total;
    if (!total) return;
    $("awaiting-count").textContent = total.unreviewed.toLocaleString();
    let estimate = "awaiting review";
    if (total.unreviewed > 0 && isNumber(total.estimated_accuracy)) {
      estimate += ` · est. accuracy ${wholePercent(total.estimated_accuracy)}`;
      if (isNumber(total.lower) && isNumber(total.upper)) {
        estimate += ` (${Math.round(total.lower * 100)}–${wholePercent(total.upper)})`;
      }
    } else if (total.unreviewed > 0) {
      estimate += " · no estimate yet (too few reviews with a confidence)";
    }
    $("awaiting-estimate").textContent = estimate;
  }

  // Predictions per day of prediction: reviewed and awaiting stacked, the median time to review beside.
  function trafficConfig(traffic) {
    const rows = fromFirstDay(traffic.days);
    const days = rows.map((d) => d.day);
    const series = (key) => rows.map((d) => d[key]);
    return {
      type: "bar",
      data: {
        labels: days,
        datasets: [
          { label: "Reviewed", data: series("reviewed"), backgroundColor: TRAFFIC_COLORS.reviewed, stack: "predictions", order: 2 },
          { label: "Awaiting review", data: series("awaiting"), backgroundColor: TRAFFIC_COLORS.awaiting, stack: "predictions", order: 2 },
          { label: "Median hours to review", data: series("median_review_hours"), type: "line", yAxisID: "hours",
            borderColor: TRAFFIC_COLORS.hours, backgroundColor: TRAFFIC_COLORS.hours, borderWidth: 2,
            pointRadius: days.length > 60 ? 0 : 2.5, spanGaps: false, order: 1 },
        ],
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        scales: {
          x: { ...dayAxis(), stacked: true },
          y: { stacked: true, beginAtZero: true, grid: { color: "#eef2f0" }, title: { display: true, text: "predictions" } },
          hours: { position: "right", beginAtZero: true, grid: { drawOnChartArea: false }, title: { display: true, text: "hours" } },
        },
        plugins: {
          legend: { position: "bottom", labels: { usePointStyle: true, boxHeight: 7 } },
          tooltip: {
            callbacks: {
              title: dayTitle,
              afterTitle: (items) => plural(rows[items[0].dataIndex].predictions, "prediction"),
              label: (ctx) => ctx.dataset.yAxisID === "hours"
                ? `${ctx.dataset.label}: ${ctx.parsed.y === null ? "–" : ctx.parsed.y.toFixed(1)}`
                : `${ctx.dataset.label}: ${ctx.parsed.y.toLocaleString()}`,
            },
          },
        },
      },
    };
  }

  function renderTraffic() {
    const traffic = state.traffic;
    $("traffic-chart").hidden = false;
    draw("chart-traffic", trafficConfig(traffic));
    const total = traffic.days.reduce((sum, d) => sum + d.predictions, 0);
    $("traffic-note").textContent =
      `${plural(total, "prediction")} made in this range, by day of prediction (${traffic.timezone}); ` +
      "the line is the median time from a prediction to its review, over the day's reviewed predictions.";
  }

  // A monitor without the route: the card says so, the rest of the page is drawn as usual.
  function renderNotServed(key) {
    if (key !== "traffic") return;
    $("traffic-chart").hidden = true;
    $("traffic-note").textContent = NOT_SERVED.traffic;
  }

  // -- the range: days as YYYY-MM-DD, what is applied, what the address asks for ------------------

  // The range on screen. The date fields may hold an edit in progress; this is what was loaded.
  const applied = { start: "", end: "" };

  const isDay = (text) => {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(text || "")) return false;
    const time = Date.parse(`${text}T00:00:00Z`);
    return !Number.isNaN(time) && isoDay(new Date(time)) === text;
  };
  // While a year is being typed the field reads 0002, 0020, 0202: not a date anyone means.
  const isComplete = (text) => isDay(text) && Number(text.slice(0, 4)) >= 1000;
  const daysBetween = (a, b) => Math.round((Date.parse(`${b}T00:00:00Z`) - Date.parse(`${a}T00:00:00Z`)) / 86400000);
  const todayDay = () => (state.dateRange ? state.dateRange.today : isoDay(new Date()));
  const lastDay = () => (state.dateRange && state.dateRange.max_date) || todayDay();

  // A range the API answers: reversed dates are swapped, and a range over the API's longest keeps the
  // date just set (`kept`) and moves the other. Each change is said in `notes`; nothing else changes,
  // so a range before the first data or after the last stays as asked (and shows as empty).
  function fitRange(start, end, kept) {
    const notes = [];
    const moved = new Set(); // "start", "end": the fields changed here, not by the reader
    if (start > end) {
      notes.push(`From (${longDay(start)}) was after To (${longDay(end)}), so the two dates were swapped.`);
      [start, end] = [end, start];
      moved.add("start").add("end");
    }
    const span = daysBetween(start, end) + 1;
    if (span > vocabulary.max_range_days) {
      const limit = `The range asked for spans ${span.toLocaleString()} days and at most ${vocabulary.max_range_days} can be shown`;
      if (kept === start && kept !== end) {
        const asked = end;
        end = addDays(start, vocabulary.max_range_days - 1);
        notes.push(`${limit}, so To moved from ${longDay(asked)} to ${longDay(end)}.`);
        moved.add("end");
      } else {
        const asked = start;
        start = addDays(end, -(vocabulary.max_range_days - 1));
        notes.push(`${limit}, so From moved from ${longDay(asked)} to ${longDay(start)}.`);
        moved.add("start");
      }
    }
    return { start, end, notes, moved };
  }

  // A control's description: the notice, on a date field the page moved; the reason, on a disabled control.
  function describeControl(control) {
    const ids = [control.classList.contains("moved") && "notice-message", control.disabled && "controls-note"].filter(Boolean);
    if (ids.length) control.setAttribute("aria-describedby", ids.join(" "));
    else control.removeAttribute("aria-describedby");
  }

  // A date field the page moved (not the reader) is outlined and described by the notice that says why.
  function markMoved(keys) {
    for (const { input, key } of FIELDS) {
      input.classList.toggle("moved", keys.has(key));
      describeControl(input);
    }
  }

  // Show `start`..`end` (fitted) in the fields; return whether the applied range changed.
  function applyRange(start, end, notes, kept) {
    const fitted = fitRange(start, end, kept);
    startInput.value = fitted.start;
    endInput.value = fitted.end;
    markMoved(fitted.moved);
    showNotice([...notes, ...fitted.notes].join(" "));
    if (fitted.start === applied.start && fitted.end === applied.end) return false;
    applied.start = fitted.start;
    applied.end = fitted.end;
    return true;
  }

  function showNotice(message) {
    $("notice-message").textContent = message;
    $("notice").hidden = !message;
  }

  // -- typed, picked and pasted dates ---------------------------------------------------------------
  // Chrome changes a date field's value (and fires input and change) at every typed digit once the
  // field holds a date: a month typed before the day, a year read as 0002, 0020, 0202 on its way to
  // 2026. A keyboard edit is applied on Enter, on leaving the field, once a whole date has been typed
  // (eight digits), or after a pause; a date picked in the calendar or pasted is applied at once.

  const FIELDS = [
    { input: startInput, key: "start", name: "From" },
    { input: endInput, key: "end", name: "To" },
  ];
  const EDIT_KEYS = /^(\d|Backspace|Delete|ArrowUp|ArrowDown|PageUp|PageDown)$/;
  const typing = new Map(); // input -> { digits, timer }: a keyboard edit not applied yet

  function stopTyping() {
    for (const edit of typing.values()) clearTimeout(edit.timer);
    typing.clear();
  }

  function commitDates(changed) {
    stopTyping();
    const notes = [];
    for (const { input, key, name } of FIELDS) {
      if (!isComplete(input.value) && applied[key]) {
        notes.push(`${name} was not a complete date, so it is back to ${longDay(applied[key])}.`);
        input.value = applied[key];
      }
    }
    if (startInput.value === applied.start && endInput.value === applied.end) {
      if (notes.length) showNotice(notes.join(" "));
      return;
    }
    if (applyRange(startInput.value, endInput.value, notes, changed.value)) load();
  }

  // The order in which this browser writes a day's parts, e.g. ["month", "day", "year"].
  function dayPartOrder() {
    const parts = new Intl.DateTimeFormat(undefined, { year: "numeric", month: "2-digit", day: "2-digit" })
      .formatToParts(new Date(Date.UTC(2026, 10, 20)));
    return parts.map((part) => part.type).filter((type) => ["year", "month", "day"].includes(type));
  }

  // A pasted date: 2026-11-20 (a time after it is ignored), the field's own order (11/20/2026 in
  // English, 20.11.2026 in German), or words ("20 Nov 2026"). Null when it is none of these.
  function parsePastedDay(text) {
    const trimmed = text.trim();
    let parts = null;
    const iso = /^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ].*)?$/.exec(trimmed);
    const numeric = /^(\d{1,4})[./ -](\d{1,2})[./ -](\d{1,4})$/.exec(trimmed);
    if (iso) {
      parts = { year: iso[1], month: iso[2], day: iso[3] };
    } else if (numeric) {
      const order = numeric[1].length === 4 ? ["year", "month", "day"] : dayPartOrder();
      parts = Object.fromEntries(order.map((type, i) => [type, numeric[i + 1]]));
    } else if (/[a-z]/i.test(trimmed) && !Number.isNaN(Date.parse(trimmed))) {
      const date = new Date(Date.parse(trimmed));
      parts = { year: date.getFullYear(), month: date.getMonth() + 1, day: date.getDate() };
    }
    if (!parts) return null;
    const day = [String(parts.year).padStart(4, "0"), String(parts.month).padStart(2, "0"), String(parts.day).padStart(2, "0")].join("-");
    return isComplete(day) ? day : null;
  }

  function watchDateField({ input, key }) {
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault();
        commitDates(input);
      } else if (event.key === "Escape" && typing.has(input)) {
        stopTyping();
        input.value = applied[key];
      } else if (EDIT_KEYS.test(event.key)) {
        const edit = typing.get(input) || { digits: 0, timer: null };
        if (/^\d$/.test(event.key)) edit.digits += 1;
        typing.set(input, edit);
      }
    });
    const onValue = () => {
      const edit = typing.get(input);
      if (!edit) {
        commitDates(input); // picked in the calendar (or set by a script): apply at once
        return;
      }
      clearTimeout(edit.timer);
      if (!isComplete(input.value)) return; // a segment is still being typed
      if (edit.digits >= 8) commitDates(input); // a whole date: month, day and a four-digit year
      else edit.timer = setTimeout(() => commitDates(input), TYPING_PAUSE_MS);
    };
    input.addEventListener("input", onValue);
    input.addEventListener("change", onValue);
    input.addEventListener("blur", () => {
      if (typing.has(input) || input.value !== applied[key]) commitDates(input);
    });
    // Chrome does not paste into a date field: read the text and apply it ourselves.
    input.addEventListener("paste", (event) => {
      const text = event.clipboardData ? event.clipboardData.getData("text") : "";
      event.preventDefault();
      const day = parsePastedDay(text);
      if (!day) {
        showNotice(`“${text.trim().slice(0, 40)}” is not a date the dashboard can read: paste it as YYYY-MM-DD.`);
        return;
      }
      stopTyping();
      input.value = day;
      commitDates(input);
    });
  }

  // Why the API would refuse a day of the address, in its words (api.parse_day); null when it would not.
  function dayProblem(name, text) {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return `${name} must be a date written YYYY-MM-DD, got '${text.slice(0, 40)}'`;
    if (!isDay(text)) return `${name} is not a calendar date: '${text}'`;
    const year = Number(text.slice(0, 4));
    if (year < vocabulary.first_year || year > vocabulary.last_year) return `${name} must be a date in the years ${vocabulary.first_year} to ${vocabulary.last_year}, got ${text}`;
    return null;
  }

  // Dates and average from the address, checked here: a value the API would refuse is never sent; it is
  // named, in the API's words, and replaced by the default. A reversed or too long range is fitted. All
  // of it is said in one notice, after `notes`. Returns whether the applied range changed.
  function rangeFromAddress(params, notes = []) {
    const asked = {};
    for (const name of ["start_date", "end_date", "average"]) {
      if (params.get(name)) asked[name] = params.get(name);
    }
    const reasons = ["start_date", "end_date"].filter((name) => name in asked).map((name) => dayProblem(name, asked[name])).filter(Boolean);
    const badDates = reasons.length > 0;
    const badAverage = "average" in asked && !vocabulary.averages.includes(asked.average);
    if (badAverage) reasons.push(`average must be one of ${vocabulary.averages.join(", ")}, got '${asked.average.slice(0, 40)}'`);
    notes = [...notes];
    if (reasons.length) notes.push(`The address asks for something the monitor cannot show: ${reasons.join("; ")}.`);
    averageSelect.value = badAverage || !asked.average ? "macro" : asked.average;
    let end = lastDay();
    let start = addDays(end, -(vocabulary.default_days - 1));
    if (badDates) {
      notes.push(`Showing the default range instead: ${longDay(start)} to ${longDay(end)}.`);
    } else {
      // As the API: a start alone ends on the last day with data, or on itself when it is later.
      if (asked.end_date) end = asked.end_date;
      else if (asked.start_date && asked.start_date > end) end = asked.start_date;
      start = asked.start_date || addDays(end, -(vocabulary.default_days - 1));
    }
    if (badAverage) notes.push("Showing the macro average instead.");
    return applyRange(start, end, notes, asked.end_date ? end : asked.start_date);
  }

  // The view from the address: the tab, the per-class metric and class, the refresh. A tab or metric the
  // page does not have is said (added to `notes`) and replaced by the default.
  function viewFromAddress(params, notes) {
    const tab = params.get("tab");
    if (tab && !TABS.includes(tab)) {
      notes.push(`The address asks for the tab “${tab.slice(0, 40)}”, which the dashboard does not have: showing Main.`);
    }
    const metric = params.get("class_metric");
    if (metric && !CLASS_METRICS.includes(metric)) {
      notes.push(`The address asks for the per-class metric “${metric.slice(0, 40)}”; the chart draws ` +
        `${listOf(CLASS_METRICS)} only: showing recall.`);
    }
    state.classMetric = CLASS_METRICS.includes(metric) ? metric : "recall";
    classMetricSelect.value = state.classMetric;
    state.classFocus = params.get("class") || ""; // checked against the classes when they are drawn
    if (state.classDaily) renderClassDaily();
    if ((params.get("refresh") || "off") !== autoRefreshSelect.value) setAutoRefresh(params.get("refresh"));
    selectTab(TABS.includes(tab) ? tab : "main", false);
  }

  // -- tabs and the address -----------------------------------------------------------------------

  // The address holds the view. A change of range, average, tab, metric or class the reader makes is a
  // history entry of its own (Back returns to the view before it, popstate restores it); the view set from
  // the address (at start, on Back and Forward) replaces the entry instead.
  let restoring = true;

  function writeUrl(tab, push = !restoring) {
    const params = new URLSearchParams({
      start_date: applied.start,
      end_date: applied.end,
      average: averageSelect.value,
      class_metric: state.classMetric,
      tab,
    });
    if (state.classFocus) params.set("class", state.classFocus);
    if (autoRefreshSelect.value !== "off") params.set("refresh", autoRefreshSelect.value);
    const query = `?${params}`;
    if (query !== location.search) {
      if (push) history.pushState(null, "", query);
      else history.replaceState(null, "", query);
    }
    updateExportLinks();
  }

  // The Metrics tab's CSV downloads: the range and average shown, as /api/metrics takes them.
  function updateExportLinks() {
    const params = new URLSearchParams({ start_date: applied.start, end_date: applied.end, average: averageSelect.value });
    $("export-daily").href = `/api/metrics.csv?${params}`;
    $("export-classes").href = `/api/class-metrics.csv?${params}`;
  }

  function currentTab() {
    const selected = document.querySelector('.tabs [aria-selected="true"]');
    return selected ? selected.dataset.tab : "main";
  }

  // The header's controls stay on every tab; where they change nothing they are disabled, and a note
  // beside them says why.
  function setControlsFor(tab) {
    const reason = CONTROL_REASONS[tab] || "";
    const rangeOff = tab === "training";
    for (const control of [startInput, endInput, ...document.querySelectorAll(".presets button")]) control.disabled = rangeOff;
    averageSelect.disabled = !["main", "metrics"].includes(tab);
    $("controls-note").textContent = reason;
    $("controls-note").hidden = !reason;
    for (const control of [startInput, endInput, averageSelect]) describeControl(control);
  }

  function selectTab(tab, write = true) {
    if (!TABS.includes(tab)) tab = "main";
    document.body.dataset.tab = tab;
    setControlsFor(tab);
    for (const button of document.querySelectorAll(".tabs [role=tab]")) {
      button.setAttribute("aria-selected", String(button.dataset.tab === tab));
    }
    for (const name of TABS) $(`panel-${name}`).hidden = name !== tab;
    // Charts drawn while their panel was hidden have no size yet.
    for (const canvas of $(`panel-${tab}`).querySelectorAll("canvas")) {
      const chart = charts[canvas.id];
      if (chart) {
        chart.resize();
        chart.update("none"); // no grow-in animation from a zero-sized hidden canvas
      }
    }
    if (write) writeUrl(tab);
  }

  // -- loading, outages and retries ---------------------------------------------------------------

  // Loaded with the next range besides its own answers: the training counts at first, and the days
  // with data whenever they may have changed (after an outage, at each automatic refresh).
  const stale = new Set(["training"]);

  function requestsToMake() {
    const dates = { start_date: applied.start, end_date: applied.end };
    const range = new URLSearchParams(dates);
    const withAverage = new URLSearchParams({ ...dates, average: averageSelect.value });
    const all = {
      metrics: `/api/metrics?${withAverage}`,
      alerts: `/api/alerts?${range}`,
      drift: `/api/drift?${range}`,
      confusion: `/api/confusion?${range}`,
      classDaily: `/api/class-metrics/daily?${range}`,
      training: "/api/training-data",
      dateRange: "/api/date-range",
      calibration: `/api/calibration?${range}`,
      estimate: `/api/estimated-performance?${range}`,
      traffic: `/api/traffic?${range}`,
    };
    return Object.fromEntries(Object.entries(all).filter(
      ([key]) => RANGE_KEYS.includes(key) || HISTORY_KEYS.includes(key) || stale.has(key)));
  }

  function applyBounds(bounds) {
    state.dateRange = bounds;
    if (!bounds.min_date) return;
    const top = bounds.max_date > bounds.today ? bounds.max_date : bounds.today;
    for (const input of [startInput, endInput]) {
      input.min = bounds.min_date;
      input.max = top;
    }
  }

  // Alerts before metrics: the metric charts mark the alert days.
  function renderAnswers(loaded) {
    if (loaded.includes("metrics")) {
      renderMetrics();
      renderLedger();
    } else if (loaded.includes("alerts") && state.metrics) {
      renderMetrics();
    }
    if (loaded.includes("alerts")) renderAlerts();
    if (loaded.includes("drift")) renderDrift();
    if (loaded.includes("confusion")) renderConfusion();
    if (loaded.includes("classDaily")) renderClassDaily();
    if (loaded.includes("training")) renderTraining();
    if (loaded.includes("calibration")) renderCalibration();
    if (loaded.includes("estimate")) {
      renderEstimate();
      renderAwaiting();
    }
    if (loaded.includes("traffic")) renderTraffic();
  }

  // The reliability diagram: accuracy against mean confidence per bin, beside the diagonal.
  function renderCalibration() {
    const c = state.calibration;
    const filled = c.bins.filter((b) => b.count > 0);
    $("calibration-ece").textContent = c.ece === null ? "–" : percent(c.ece);
    const missing = c.days_without_bins.length;
    $("calibration-note").textContent =
      `${c.with_confidence.toLocaleString()} validated predictions with a confidence, ` +
      `${c.without_confidence.toLocaleString()} without; as of the logger's last tick` +
      (missing ? `; ${plural(missing, "day")} logged before the bins existed left out (clara-logger --reconcile fills them)` : "");
    draw("chart-calibration", {
      type: "scatter",
      data: {
        datasets: [
          { label: "Accuracy", data: filled.map((b) => ({ x: b.mean_confidence, y: b.accuracy, n: b.count })),
            borderColor: "#1f6f5c", backgroundColor: "#1f6f5c", showLine: true, pointRadius: 3 },
          { label: "Perfect calibration", data: [{ x: 0, y: 0 }, { x: 1, y: 1 }], borderColor: "#999",
            borderDash: [4, 4], showLine: true, pointRadius: 0 },
        ],
      },
      options: {
        maintainAspectRatio: false,
        scales: { x: { min: 0, max: 1, title: { display: true, text: "mean confidence" } }, y: unitAxis() },
        plugins: { tooltip: { callbacks: { label: (ctx) => ctx.raw.n === undefined ? ctx.dataset.label :
          `confidence ${percent(ctx.raw.x)}, accuracy ${percent(ctx.raw.y)} (${ctx.raw.n.toLocaleString()} predictions)` } } },
      },
    });
  }

  // Realised accuracy (days of validation) and the estimate for the predictions not reviewed yet (days of prediction).
  function renderEstimate() {
    const e = state.estimate;
    const days = fromFirstDay(e.days);
    const labels = days.map((d) => d.day);
    const band = (key) => days.map((d) => d[key]);
    // The band is said on its estimate's line, not as two lines of its own.
    const bandText = (i) =>
      isNumber(days[i].lower) && isNumber(days[i].upper) ? ` (90% band ${percent(days[i].lower)}–${percent(days[i].upper)})` : "";
    const config = () => ({
      type: "line",
      data: {
        labels,
        datasets: [
          { label: "Realised accuracy", data: band("realised_accuracy"), borderColor: METRIC_COLORS.accuracy,
            backgroundColor: METRIC_COLORS.accuracy, borderWidth: 2, spanGaps: false },
          { label: "Estimated, not reviewed yet", data: band("estimated_accuracy"), borderColor: "#7a4fb5",
            backgroundColor: "#7a4fb5", borderDash: [6, 4], borderWidth: 2, spanGaps: false },
          { label: "90% band (low)", data: band("lower"), borderColor: "rgba(122, 79, 181, 0.2)", pointRadius: 0,
            borderWidth: 1, fill: false, spanGaps: false },
          { label: "90% band", data: band("upper"), borderColor: "rgba(122, 79, 181, 0.2)", pointRadius: 0,
            borderWidth: 1, backgroundColor: "rgba(122, 79, 181, 0.15)", fill: "-1", spanGaps: false },
        ],
      },
      options: {
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false }, // both lines answer where their points meet
        scales: {
          y: fittedAxis(["realised_accuracy", "estimated_accuracy", "lower", "upper"].map((key) => ({ data: band(key) }))),
          x: dayAxis(),
        },
        plugins: { legend: { labels: { filter: (item) => item.text !== "90% band (low)" } },
          tooltip: { filter: (item) => item.datasetIndex < 2 && item.parsed.y !== null,
            callbacks: { title: dayTitle,
              label: (ctx) => `${ctx.dataset.label}: ${percent(ctx.parsed.y)}${ctx.datasetIndex === 1 ? bandText(ctx.dataIndex) : ""}`,
            afterBody: (items) => { const d = days[items[0].dataIndex];
              return [`${d.unreviewed.toLocaleString()} not reviewed, ${d.validated.toLocaleString()} validated`]; } } } },
      },
    });
    const window = e.calibration_window;
    const note = `Estimate calibrated on the ${window.validated_with_confidence.toLocaleString()} validated predictions ` +
      `with a confidence of ${longDay(window.start_date)} to ${longDay(window.end_date)}; as of the logger's last tick.`;
    for (const where of ["main", "metrics"]) {
      draw(`chart-estimate-${where}`, config());
      $(`estimate-note-${where}`).textContent = note;
    }
  }

  // "Could not load the drift results and the alerts: the database is unavailable", one sentence per reason.
  function describeFailures(failures) {
    const byReason = new Map();
    for (const { key, error } of failures) {
      // The banner says when it retries: the API's "try again shortly" would say it twice.
      const reason = error.retryable ? error.reason.replace(/;\s*try again shortly\.?$/i, "") : error.reason;
      if (!byReason.has(reason)) byReason.set(reason, []);
      byReason.get(reason).push(key);
    }
    return [...byReason]
      .map(([reason, keys]) => {
        const what = RANGE_KEYS.every((key) => keys.includes(key)) ? "the dashboard's data" : listOf(keys.map((key) => SOURCES[key]));
        return `Could not load ${what}: ${reason}`;
      })
      .join(". ");
  }

  // Retries after an outage wait 2, 4, 8 … up to MAX_RETRY_SECONDS; a load that works resets them.
  const retry = { attempt: 0, timer: null, ticker: null, due: 0 };

  function stopRetry() {
    clearTimeout(retry.timer);
    clearInterval(retry.ticker);
    retry.timer = null;
    retry.ticker = null;
    $("retry-now").hidden = true;
  }

  function showError(message, retryable) {
    stopRetry();
    $("error-message").textContent = message;
    $("error").hidden = !message;
    if (!message || !retryable) {
      retry.attempt = 0;
      $("error-retry").textContent = message ? "." : "";
      return;
    }
    const seconds = Math.min(2 ** (retry.attempt + 1), MAX_RETRY_SECONDS);
    retry.attempt += 1;
    retry.due = Date.now() + seconds * 1000;
    const countdown = () => {
      const left = Math.max(0, Math.ceil((retry.due - Date.now()) / 1000));
      $("error-retry").textContent = `; retrying in ${left} s.`;
    };
    countdown();
    retry.ticker = setInterval(countdown, 1000);
    retry.timer = setTimeout(load, seconds * 1000);
    $("retry-now").hidden = false;
  }

  const isApplied = (range) => Boolean(range) && range.start === applied.start && range.end === applied.end;
  const rangeText = (range) => `${longDay(range.start)} – ${longDay(range.end)}`;

  // The answers drawn that are of another range than the one in the date fields (its load failed), by range.
  function answersOfOtherRanges() {
    const byRange = new Map();
    for (const key of [...RANGE_KEYS, ...HISTORY_KEYS]) {
      const range = state.ranges[key];
      if (!state[key] || isApplied(range)) continue;
      const text = rangeText(range);
      if (!byRange.has(text)) byRange.set(text, { keys: [], at: range.at });
      byRange.get(text).keys.push(key);
    }
    return byRange;
  }

  // What the page shows: never one range's numbers under another range's dates without saying so.
  function statusLine(anyLoaded) {
    const others = answersOfOtherRanges();
    $("status").classList.toggle("stale", others.size > 0);
    if (others.size) {
      const drawn = [...RANGE_KEYS, ...HISTORY_KEYS].filter((key) => state[key]);
      const shown = [...others].map(([range, { keys, at }]) => {
        const what = drawn.every((key) => keys.includes(key)) ? "" : ` (${listOf(keys.map((key) => SOURCES[key]))})`;
        return `Showing ${range}${what}, as loaded at ${at.toLocaleTimeString()}`;
      });
      return `${shown.join("; ")}: ${rangeText(applied)} could not be loaded yet.`;
    }
    if (!state.updatedAt) return anyLoaded ? "" : "Nothing loaded yet.";
    const time = state.updatedAt.toLocaleTimeString();
    if (!anyLoaded) return `Showing ${rangeText(applied)} as loaded at ${time}.`;
    const every = { 60: "every minute", 300: "every 5 minutes" }[autoRefreshSelect.value];
    return `Updated ${time}` + (every ? ` · refreshes ${every}` : "");
  }

  // The days with something to draw in an answer: a review, a prediction, a tested day.
  const DAYS_WITH_DATA = {
    metrics: (a) => Object.keys(a.daily_metrics).filter((day) => a.daily_metrics[day].entries > 0),
    classDaily: (a) => a.days.filter((d) => d.count > 0).map((d) => d.day),
    drift: (a) => a.days.filter((d) => d.count > 0).map((d) => d.day),
    traffic: (a) => a.days.filter((d) => d.predictions > 0).map((d) => d.day),
    estimate: (a) => a.days.filter((d) => d.validated + d.unreviewed > 0).map((d) => d.day),
  };

  // The first day of the range with data in any answer of it; null when that is the range's first day,
  // or when no day has any (the page says the range is empty).
  function firstDataDay() {
    const firsts = Object.entries(DAYS_WITH_DATA)
      .filter(([key]) => state[key] && isApplied(state.ranges[key]))
      .map(([key, days]) => days(state[key])[0])
      .filter(Boolean);
    if (!firsts.length) return null;
    const first = firsts.reduce((a, b) => (a < b ? a : b));
    return first > applied.start ? first : null;
  }

  // The charts over days start at the first day with data: the note says that the days before hold none.
  function renderRangeNote() {
    const first = state.firstDay;
    $("range-note").hidden = !first;
    $("range-note").textContent = first
      ? `No data on the range's first ${plural(daysBetween(applied.start, first), "day")} ` +
        `(${longDay(applied.start)} to ${longDay(addDays(first, -1))}): the charts start on ${longDay(first)}.`
      : "";
  }

  let pending = 0;
  async function load() {
    if (!applied.start || !applied.end) {
      $("status").textContent = "";
      return;
    }
    const ticket = ++pending;
    const asked = { start: applied.start, end: applied.end };
    const retrying = retry.timer !== null || retry.attempt > 0;
    stopRetry();
    if (retrying && !$("error").hidden) $("error-retry").textContent = "; retrying now…";
    writeUrl(currentTab());
    $("status").textContent = "Loading…";
    const requests = requestsToMake();
    const keys = Object.keys(requests);
    try {
      const outcomes = await Promise.allSettled(keys.map((key) => getJson(requests[key])));
      if (ticket !== pending) return; // a newer range was asked for meanwhile
      const loaded = [];
      const failures = [];
      outcomes.forEach((outcome, i) => {
        if (outcome.status === "fulfilled") {
          state[keys[i]] = outcome.value;
          state.ranges[keys[i]] = { ...asked, at: new Date() };
          stale.delete(keys[i]);
          loaded.push(keys[i]);
        } else {
          const error = outcome.reason instanceof LoadError ? outcome.reason : new LoadError(String(outcome.reason), 0);
          if (error.status === 404 && keys[i] in NOT_SERVED) {
            renderNotServed(keys[i]);
            return;
          }
          failures.push({ key: keys[i], error });
          if (error.retryable && !RANGE_KEYS.includes(keys[i])) stale.add(keys[i]);
        }
      });
      if (failures.some(({ error }) => error.retryable)) stale.add("dateRange"); // it may have moved meanwhile
      if (loaded.includes("dateRange")) applyBounds(state.dateRange);
      state.firstDay = firstDataDay();
      renderRangeNote();
      renderAnswers(loaded);
      selectTab(currentTab());
      showError(describeFailures(failures), failures.some(({ error }) => error.retryable));
      if (loaded.length) state.updatedAt = new Date();
      $("status").textContent = statusLine(loaded.length > 0);
    } catch (err) {
      if (ticket !== pending) return;
      console.error(err);
      // A bug in drawing, not in loading: say so rather than fail silently.
      showError(`The dashboard could not draw the data: ${err.message}`, false);
      $("status").textContent = "";
      $("status").classList.remove("stale");
    } finally {
      if (ticket === pending) {
        state.loads += 1;
        document.body.dataset.loads = String(state.loads);
      }
    }
  }

  // An optional refresh every minute or five, for a wall display; kept in the address (refresh=60).
  let autoTimer = null;
  function setAutoRefresh(value) {
    const choice = REFRESH_CHOICES.includes(value) ? value : "off";
    autoRefreshSelect.value = choice;
    clearInterval(autoTimer);
    autoTimer = choice === "off" ? null : setInterval(() => {
      if (retry.timer !== null) return; // the retries after an outage are on it already
      stale.add("training");
      stale.add("dateRange");
      load();
    }, Number(choice) * 1000);
  }

  function setConfusionView(view) {
    state.confusionView = view;
    if (state.confusion) renderConfusion();
  }

  function setClassFocus(name) {
    state.classFocus = name;
    if (state.classDaily) renderClassDaily();
    writeUrl(currentTab());
  }

  function setClassMetric(metric) {
    state.classMetric = CLASS_METRICS.includes(metric) ? metric : "recall";
    classMetricSelect.value = state.classMetric;
    if (state.classDaily) renderClassDaily();
    writeUrl(currentTab());
  }

  // The API's vocabulary, asked for until it answers: nothing is drawn without it.
  async function loadVocabulary() {
    for (let wait = 1; ; wait = Math.min(wait * 2, MAX_RETRY_SECONDS)) {
      try {
        return await getJson("/api/vocabulary");
      } catch (err) {
        $("status").textContent = `Cannot load the page (${err.reason}); trying again in ${wait} s…`;
        await new Promise((resolve) => setTimeout(resolve, wait * 1000));
      }
    }
  }

  async function start() {
    const params = new URLSearchParams(location.search);
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    Chart.defaults.color = "#5f6f68";
    // Short animations: charts on hidden tabs play theirs when first shown.
    Chart.defaults.animation.duration = 250;
    $("status").textContent = "Loading…";
    vocabulary = await loadVocabulary();
    const notes = []; // what the address asks for that the page cannot show, said with the range's notes
    viewFromAddress(params, notes);

    for (const field of FIELDS) watchDateField(field);
    $("range-form").addEventListener("submit", (event) => event.preventDefault());
    averageSelect.addEventListener("change", load);
    autoRefreshSelect.addEventListener("change", () => {
      setAutoRefresh(autoRefreshSelect.value);
      writeUrl(currentTab(), false); // a setting of the page, not a view: no history entry
      if (state.updatedAt) $("status").textContent = statusLine(true);
    });
    classMetricSelect.addEventListener("change", () => setClassMetric(classMetricSelect.value));
    classFocusSelect.addEventListener("change", () => setClassFocus(classFocusSelect.value));
    for (const button of document.querySelectorAll("#card-confusion .toggle button")) {
      button.addEventListener("click", () => setConfusionView(button.dataset.view));
    }
    for (const button of document.querySelectorAll(".presets button")) {
      button.addEventListener("click", () => {
        stopTyping();
        const end = endInput.max || todayDay();
        if (applyRange(addDays(end, -(Number(button.dataset.days) - 1)), end, [], end)) load();
      });
    }
    for (const button of document.querySelectorAll(".tabs [role=tab]")) {
      button.addEventListener("click", () => selectTab(button.dataset.tab));
    }
    $("retry-now").addEventListener("click", load);
    $("notice-close").addEventListener("click", () => {
      showNotice("");
      markMoved(new Set());
    });
    window.addEventListener("popstate", restoreView);

    try {
      applyBounds(await getJson("/api/date-range"));
    } catch (err) {
      stale.add("dateRange"); // loaded again with the range; the banner will say why it failed
    }
    rangeFromAddress(params, notes);
    const loading = load(); // writes the address it loads (replacing the entry) before its first await
    restoring = false;
    await loading;
  }

  // Back and Forward: the view of the address, loaded again where its range or average differs.
  function restoreView() {
    restoring = true;
    try {
      stopTyping();
      const params = new URLSearchParams(location.search);
      const average = averageSelect.value;
      const notes = [];
      viewFromAddress(params, notes);
      if (rangeFromAddress(params, notes) || averageSelect.value !== average) load();
    } finally {
      restoring = false;
    }
  }

  document.addEventListener("DOMContentLoaded", start);
})();

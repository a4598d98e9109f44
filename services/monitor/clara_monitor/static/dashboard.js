// CLARA Monitor dashboard: reads the JSON API and draws it with the vendored Chart.js. No build step.
"use strict";

(function () {
  const METRICS = ["precision", "accuracy", "recall", "f1"];
  const CLASS_METRICS = ["precision", "recall", "f1"];
  const METRIC_LABELS = { precision: "Precision", accuracy: "Accuracy", recall: "Recall", f1: "F1" };
  const METRIC_COLORS = { precision: "#2563eb", accuracy: "#1f7a55", recall: "#d97706", f1: "#9333ea" };
  const TABS = ["main", "metrics", "samples", "class-metrics", "training", "drift"];
  const DRIFT_FEATURES = ["predicted_class", "true_class", "confidence"];
  const DRIFT_CATEGORIES = {
    drift: { label: "drift", color: "#dc2626", pointStyle: "triangle", radius: 6 },
    no_drift: { label: "no drift", color: "#1f7a55", pointStyle: "circle", radius: 3.5 },
    in_reference: { label: "in the reference window", color: "#94a3b8", pointStyle: "rect", radius: 3.5 },
    insufficient_data: { label: "insufficient data", color: "#9ca3af", pointStyle: "circle", radius: 4.5 },
  };
  const ALERT_KINDS = { accuracy: "Accuracy", drift: "Drift" };
  const ALERT_COLOR = "#dc2626";
  const HOLLOW = "#ffffff";
  const THRESHOLD_COLOR = "#a4262c";
  const DEFAULT_LOW_SAMPLES = 50; // ALERT_MIN_SAMPLES' default, until /api/metrics says otherwise

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
    classMetric: "recall",
    confusionView: "counts",
    loads: 0,
  };
  window.claraCharts = charts;
  window.claraState = state;

  const $ = (id) => document.getElementById(id);
  const startInput = $("start-date");
  const endInput = $("end-date");
  const averageSelect = $("average");
  const classMetricSelect = $("class-metric");

  const percent = (value) => (value === null || value === undefined ? "–" : `${(value * 100).toFixed(1)}%`);
  const isoDay = (d) => d.toISOString().slice(0, 10);
  const addDays = (day, n) => {
    const d = new Date(`${day}T00:00:00Z`);
    d.setUTCDate(d.getUTCDate() + n);
    return isoDay(d);
  };
  const plural = (n, word) => `${n.toLocaleString()} ${word}${n === 1 ? "" : "s"}`;

  function showError(message) {
    const banner = $("error");
    banner.textContent = message;
    banner.hidden = !message;
  }

  async function getJson(url) {
    let answer;
    try {
      answer = await fetch(url, { headers: { Accept: "application/json" } });
    } catch (err) {
      throw new Error("The monitor cannot be reached. Is the server running?");
    }
    let body = null;
    try {
      body = await answer.json();
    } catch (err) {
      body = null;
    }
    if (!answer.ok) {
      const reason = body && body.error ? body.error : `${answer.status} ${answer.statusText}`;
      throw new Error(`Could not load ${url.split("?")[0]}: ${reason}`);
    }
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
    return Number.isInteger(threshold) ? threshold : DEFAULT_LOW_SAMPLES;
  };
  const isLowCount = (count) => count > 0 && count < lowSampleThreshold();

  // Days with few validated predictions: hollow points and dashed segments (Chart.js scriptables).
  // `color` is a colour or a function of the scriptable context.
  function lowConfidenceStyle(counts, color, radius) {
    const low = (index) => isLowCount(counts[index]);
    const paint = typeof color === "function" ? color : () => color;
    return {
      counts, // read by the tooltips and the browser tests
      pointStyle: "circle",
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
      legend.chart.$emphasis = undefined;
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

  function alertSummary(alert) {
    if (alert.kind === "accuracy" && alert.value !== null) {
      return `Alert: accuracy ${percent(alert.value)}, below ${percent(alert.threshold)}`;
    }
    return `Alert: ${cleanAlertText(alert.text)}`;
  }

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

  function draw(id, config) {
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
  // Ticks say "4 Nov"; the tooltips keep the ISO day.
  const shortDay = (day) =>
    new Date(`${day}T00:00:00Z`).toLocaleDateString(undefined, { month: "short", day: "numeric", timeZone: "UTC" });
  const dayAxis = () => ({
    ticks: {
      maxRotation: 0,
      autoSkip: true,
      autoSkipPadding: 14,
      maxTicksLimit: 8,
      callback(value) {
        return shortDay(this.getLabelForValue(value));
      },
    },
    grid: { display: false },
  });
  const tooltipPercent = {
    callbacks: { label: (ctx) => `${ctx.dataset.label}: ${percent(ctx.parsed.y ?? ctx.parsed)}` },
  };

  // A line chart over days, with low-sample days hollow and dashed, and alert days marked.
  function dayLineConfig(days, datasets, tooltipCallbacks, showLegend) {
    return {
      type: "line",
      data: { labels: days, datasets },
      plugins: [alertMarkers],
      options: {
        responsive: true,
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        scales: { y: unitAxis(), x: dayAxis() },
        plugins: {
          legend: {
            display: showLegend,
            position: "bottom",
            labels: { usePointStyle: true, boxHeight: 7 },
            ...legendEmphasis,
          },
          tooltip: { callbacks: tooltipCallbacks },
          alertMarkers: { days: days.filter((day) => alertsByDay().has(day)) },
        },
      },
    };
  }

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

  function pieConfig(labels, values, colors) {
    return {
      type: "pie",
      data: { labels, datasets: [{ data: values, backgroundColor: colors, borderColor: "#fff", borderWidth: 2 }] },
      options: { responsive: true, maintainAspectRatio: false, plugins: { legend: { position: "right" } } },
    };
  }

  function renderMetrics() {
    const m = state.metrics;
    const names = Object.keys(m.class_counts);
    const colors = names.map((name) => m.color_dict[name] || "#888");
    const days = Object.keys(m.daily_metrics);
    const empty = m.total_validated === 0;
    for (const panel of ["main", "metrics", "samples", "class-metrics"]) {
      const section = $(`panel-${panel}`);
      section.querySelector(".empty").hidden = !empty;
      section.querySelector(".with-data").hidden = empty;
    }
    $("kpi-total").textContent = m.total_validated.toLocaleString();
    $("kpi-invalid").textContent = m.invalid_records.toLocaleString();
    for (const metric of METRICS) $(`kpi-${metric}`).textContent = percent(m.metrics[metric]);
    for (const node of document.querySelectorAll(".low-threshold")) node.textContent = String(lowSampleThreshold());
    $("footnote").textContent =
      `${m.start_date} to ${m.end_date} · days in ${m.timezone} · ${m.average} average · ` +
      `undefined values are left out and shown as gaps`;
    if (empty) return;
    draw("chart-daily", lineConfig(days, METRICS));
    draw("chart-main-classes", barConfig(names, names.map((n) => m.class_counts[n]), colors, "Validated", false));
    for (const metric of METRICS) draw(`chart-${metric}`, lineConfig(days, [metric]));
    draw("chart-samples-pie", pieConfig(names, names.map((n) => m.class_counts[n]), colors));
    draw("chart-samples-bar", barConfig(names, names.map((n) => m.class_counts[n]), colors, "Validated", false));
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
    const days = answer.days.map((d) => d.day);
    const counts = answer.days.map((d) => d.count);
    const radius = days.length > 60 ? 0 : 2.5;
    const datasets = answer.names.map((name) => {
      const color = answer.color_dict[name] || "#888";
      return {
        label: name,
        data: answer.days.map((d) => (d.classes[name] ? d.classes[name][metric] : null)),
        support: answer.days.map((d) => (d.classes[name] ? d.classes[name].support : 0)),
        borderColor: emphasised(color),
        backgroundColor: color,
        borderWidth: 2,
        tension: 0, // straight segments: a class's day-to-day noise is not smoothed into waves
        spanGaps: false,
        ...lowConfidenceStyle(counts, emphasised(color), radius),
      };
    });
    return dayLineConfig(days, datasets, {
      afterTitle: (items) => countLine(counts[items[0].dataIndex]),
      label: (ctx) => `${ctx.dataset.label}: ${percent(ctx.parsed.y)} (support ${ctx.dataset.support[ctx.dataIndex]})`,
      afterBody: (items) => alertTooltipLines(days[items[0].dataIndex]),
    }, true);
  }

  function renderClassDaily() {
    const metric = state.classMetric;
    $("class-daily-title").textContent = `${METRIC_LABELS[metric]} by class, day by day`;
    draw("chart-class-daily", classDailyConfig(metric));
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
    cell.style.setProperty("--heat", heat.toFixed(3));
    if (heat > 0.55) cell.classList.add("dark");
    cell.title = `${description}: ${plural(value, "prediction")} (${percent(share)} of the true class)`;
    return cell;
  }

  function classHeader(name, color, scope) {
    const cell = element("th");
    cell.scope = scope;
    cell.append(swatch(color), name);
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

  // p-values on a log axis (drift is below the threshold), Hellinger distances on a linear one (above).
  function driftAxis(hellinger, values, threshold) {
    if (hellinger) {
      const largest = Math.max(threshold * 2, ...values.filter((v) => v !== null));
      return { min: 0, suggestedMax: largest, grid: { color: "#eef2f0" } };
    }
    const positive = values.filter((v) => v !== null && v > 0);
    const smallest = Math.min(1e-3, ...positive);
    return {
      type: "logarithmic",
      min: Math.max(1e-16, 10 ** Math.floor(Math.log10(smallest))),
      max: 1,
      grid: { color: "#eef2f0" },
      ticks: {
        autoSkip: true,
        callback: (v) => {
          const power = Math.round(Math.log10(v));
          if (Math.abs(Math.log10(v) - power) > 1e-9) return "";
          return power >= -3 ? String(10 ** power) : `1e${power}`;
        },
      },
    };
  }

  function driftConfig(feature) {
    const drift = state.drift;
    const hellinger = drift.thresholds.algorithm === "hellinger";
    const threshold = hellinger ? drift.thresholds.hellinger_threshold : drift.thresholds.p_value;
    const days = drift.days.map((d) => d.day);
    const counts = drift.days.map((d) => d.count);
    const results = drift.days.map((d) => d.features[feature] || null);
    const categories = results.map((r) => (r ? r.category : null));
    const values = results.map(driftValue);
    const style = (ctx) => driftStyle(categories[ctx.dataIndex]);
    const measured = {
      label: hellinger ? "Hellinger distance" : "p-value",
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
      label: `threshold ${threshold}`,
      data: days.map(() => threshold),
      borderColor: THRESHOLD_COLOR,
      borderDash: [6, 4],
      borderWidth: 1.5,
      pointRadius: 0,
      pointHitRadius: 0,
    };
    // Untested days have no value: a hollow grey point on the "no evidence" edge of the axis.
    const insufficient = {
      label: "insufficient data",
      data: categories.map((c) => (c === "insufficient_data" ? (hellinger ? 0 : 1) : null)),
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
      const name = hellinger ? "Hellinger distance" : "p-value";
      return `${name} ${formatP(ctx.parsed.y)} (${measured.algorithms[i]}) · ${driftStyle(categories[i]).label}`;
    };
    return {
      type: "line",
      data: { labels: days, datasets: [measured, thresholdLine, insufficient] },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        layout: { padding: { top: 6 } },
        scales: { y: driftAxis(hellinger, values, threshold), x: dayAxis() },
        plugins: {
          legend: { display: false },
          tooltip: {
            filter: (item) => item.datasetIndex !== 1 && item.parsed.y !== null,
            callbacks: {
              afterTitle: (items) => plural(counts[items[0].dataIndex], "validated prediction"),
              label: describe,
              footer: () => `threshold ${threshold}`,
            },
          },
        },
      },
    };
  }

  function renderDrift() {
    const drift = state.drift;
    const t = drift.thresholds;
    const evaluated = drift.days.some((d) => Object.keys(d.features).length > 0);
    const how = t.algorithm === "hellinger"
      ? `Hellinger distance of each day from the reference; above ${t.hellinger_threshold} is drift.`
      : "p-value of each day's test against the reference (chi-square for the classes, " +
        `Kolmogorov–Smirnov for confidence); below ${t.p_value} is drift.`;
    $("drift-explainer").textContent =
      `${how} Days with fewer than ${t.min_samples} predictions are not tested.` +
      (evaluated ? "" : " The logger has not evaluated any day of this range yet.");
    for (const feature of DRIFT_FEATURES) draw(`chart-drift-${feature}`, driftConfig(feature));
  }

  function deliveryCell(delivered) {
    let [text, kind] = ["webhook off", "off"]; // null: no ALERT_WEBHOOK_URL
    if (delivered === true) [text, kind] = ["delivered", "ok"];
    if (delivered === false) [text, kind] = ["pending", "warn"];
    const cell = element("td");
    cell.append(element("span", text, `badge ${kind}`));
    return cell;
  }

  function alertValue(alert, value) {
    if (value === null || value === undefined) return "–";
    return alert.kind === "accuracy" ? percent(value) : formatP(value);
  }

  function alertRow(alert) {
    const row = element("tr", null, `alert-${alert.kind}`);
    row.dataset.alertId = alert.id;
    const raised = element("td");
    const time = element("time", formatTime(alert.created_at));
    time.dateTime = alert.created_at;
    raised.append(time);
    const kind = element("td");
    kind.append(element("span", ALERT_KINDS[alert.kind] || alert.kind, `badge kind-${alert.kind}`));
    row.append(
      raised,
      kind,
      element("td", alert.day, "day"),
      element("td", alertValue(alert, alert.value), "number"),
      element("td", alertValue(alert, alert.threshold), "number"),
      deliveryCell(alert.delivered),
      element("td", cleanAlertText(alert.text), "details")
    );
    return row;
  }

  function renderAlerts() {
    const list = state.alerts.alerts;
    $("alerts-empty").hidden = list.length > 0;
    $("alerts-table").hidden = list.length === 0;
    $("alerts-table").tBodies[0].replaceChildren(...list.map(alertRow));
  }

  // -- state: range, tab, URL ---------------------------------------------------------------------

  function writeUrl(tab) {
    const params = new URLSearchParams({
      start_date: startInput.value,
      end_date: endInput.value,
      average: averageSelect.value,
      class_metric: state.classMetric,
      tab,
    });
    history.replaceState(null, "", `?${params}`);
  }

  function currentTab() {
    const selected = document.querySelector('.tabs [aria-selected="true"]');
    return selected ? selected.dataset.tab : "main";
  }

  function selectTab(tab) {
    if (!TABS.includes(tab)) tab = "main";
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
    writeUrl(tab);
  }

  function clampRange(changed) {
    const { min, max } = startInput;
    for (const input of [startInput, endInput]) {
      if (min && input.value && input.value < min) input.value = min;
      if (max && input.value && input.value > max) input.value = max;
    }
    if (startInput.value && endInput.value && startInput.value > endInput.value) {
      if (changed === startInput) endInput.value = startInput.value;
      else startInput.value = endInput.value;
    }
  }

  // What a range loads, by the state key each answer is kept under.
  function rangeRequests() {
    const dates = { start_date: startInput.value, end_date: endInput.value };
    const range = new URLSearchParams(dates);
    const withAverage = new URLSearchParams({ ...dates, average: averageSelect.value });
    return {
      metrics: `/api/metrics?${withAverage}`,
      alerts: `/api/alerts?${range}`,
      drift: `/api/drift?${range}`,
      confusion: `/api/confusion?${range}`,
      classDaily: `/api/class-metrics/daily?${range}`,
    };
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
  }

  let pending = 0;
  async function refresh() {
    if (!startInput.value || !endInput.value) return;
    const ticket = ++pending;
    writeUrl(currentTab());
    $("status").textContent = "Loading…";
    const requests = rangeRequests();
    const keys = Object.keys(requests);
    try {
      const outcomes = await Promise.allSettled(keys.map((key) => getJson(requests[key])));
      if (ticket !== pending) return; // a newer range was asked for meanwhile
      const loaded = [];
      const failures = [];
      outcomes.forEach((outcome, i) => {
        if (outcome.status === "fulfilled") {
          state[keys[i]] = outcome.value;
          loaded.push(keys[i]);
        } else {
          failures.push(outcome.reason.message);
        }
      });
      renderAnswers(loaded);
      selectTab(currentTab());
      const others = failures.length > 1 ? ` (and ${plural(failures.length - 1, "more request")} failed)` : "";
      showError(failures.length ? failures[0] + others : "");
      $("status").textContent = loaded.length ? `Updated ${new Date().toLocaleTimeString()}` : "";
    } catch (err) {
      if (ticket !== pending) return;
      console.error(err);
      showError(err.message); // a bug in drawing, not in loading: say so rather than fail silently
      $("status").textContent = "";
    } finally {
      if (ticket === pending) {
        state.loads += 1;
        document.body.dataset.loads = String(state.loads);
      }
    }
  }

  async function loadTraining() {
    try {
      state.training = await getJson("/api/training-data");
      renderTraining();
    } catch (err) {
      showError(err.message);
    }
  }

  function setConfusionView(view) {
    state.confusionView = view;
    if (state.confusion) renderConfusion();
  }

  function setClassMetric(metric) {
    state.classMetric = CLASS_METRICS.includes(metric) ? metric : "recall";
    classMetricSelect.value = state.classMetric;
    if (state.classDaily) renderClassDaily();
    writeUrl(currentTab());
  }

  async function start() {
    const params = new URLSearchParams(location.search);
    averageSelect.value = ["macro", "weighted", "micro"].includes(params.get("average")) ? params.get("average") : "macro";
    state.classMetric = CLASS_METRICS.includes(params.get("class_metric")) ? params.get("class_metric") : "recall";
    classMetricSelect.value = state.classMetric;
    let bounds = null;
    $("status").textContent = "Loading…";
    try {
      bounds = await getJson("/api/date-range");
      state.dateRange = bounds;
    } catch (err) {
      showError(err.message);
    }
    const today = bounds ? bounds.today : isoDay(new Date());
    const last = bounds && bounds.max_date ? bounds.max_date : today;
    if (bounds && bounds.min_date) {
      for (const input of [startInput, endInput]) {
        input.min = bounds.min_date;
        input.max = bounds.max_date > today ? bounds.max_date : today;
      }
    }
    endInput.value = params.get("end_date") || last;
    startInput.value = params.get("start_date") || addDays(endInput.value, -6);
    clampRange(endInput);

    startInput.addEventListener("change", () => { clampRange(startInput); refresh(); });
    endInput.addEventListener("change", () => { clampRange(endInput); refresh(); });
    averageSelect.addEventListener("change", refresh);
    classMetricSelect.addEventListener("change", () => setClassMetric(classMetricSelect.value));
    for (const button of document.querySelectorAll("#card-confusion .toggle button")) {
      button.addEventListener("click", () => setConfusionView(button.dataset.view));
    }
    for (const button of document.querySelectorAll(".presets button")) {
      button.addEventListener("click", () => {
        endInput.value = endInput.max || today;
        startInput.value = addDays(endInput.value, -(Number(button.dataset.days) - 1));
        clampRange(endInput);
        refresh();
      });
    }
    for (const button of document.querySelectorAll(".tabs [role=tab]")) {
      button.addEventListener("click", () => selectTab(button.dataset.tab));
    }
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    Chart.defaults.color = "#5f6f68";
    // Short animations: charts on hidden tabs play theirs when first shown.
    Chart.defaults.animation.duration = 250;
    selectTab(params.get("tab") || "main");
    await Promise.all([refresh(), loadTraining()]);
  }

  document.addEventListener("DOMContentLoaded", start);
})();

// CLARA Monitor dashboard: reads the JSON API and draws it with the vendored Chart.js. No build step.
"use strict";

(function () {
  const METRICS = ["precision", "accuracy", "recall", "f1"];
  const METRIC_LABELS = { precision: "Precision", accuracy: "Accuracy", recall: "Recall", f1: "F1" };
  const METRIC_COLORS = { precision: "#2563eb", accuracy: "#1f7a55", recall: "#d97706", f1: "#9333ea" };
  const TABS = ["main", "metrics", "samples", "class-metrics", "training"];

  // Chart instances by canvas id, and the last answers: the browser tests read both.
  const charts = {};
  const state = { metrics: null, training: null, dateRange: null, loads: 0 };
  window.claraCharts = charts;
  window.claraState = state;

  const $ = (id) => document.getElementById(id);
  const startInput = $("start-date");
  const endInput = $("end-date");
  const averageSelect = $("average");

  const percent = (value) => (value === null || value === undefined ? "–" : `${(value * 100).toFixed(1)}%`);
  const isoDay = (d) => d.toISOString().slice(0, 10);
  const addDays = (day, n) => {
    const d = new Date(`${day}T00:00:00Z`);
    d.setUTCDate(d.getUTCDate() + n);
    return isoDay(d);
  };

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
  const tooltipPercent = {
    callbacks: { label: (ctx) => `${ctx.dataset.label}: ${percent(ctx.parsed.y ?? ctx.parsed)}` },
  };

  function lineConfig(days, series) {
    return {
      type: "line",
      data: {
        labels: days,
        datasets: series.map((metric) => ({
          label: METRIC_LABELS[metric],
          data: days.map((day) => state.metrics.daily_metrics[day][metric]),
          borderColor: METRIC_COLORS[metric],
          backgroundColor: METRIC_COLORS[metric],
          pointRadius: days.length > 60 ? 0 : 2.5,
          borderWidth: 2,
          cubicInterpolationMode: "monotone", // smooth without overshooting 0 % or 100 %
          spanGaps: false, // a day without validated predictions is a gap, never a carried value
        })),
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        scales: { y: unitAxis(), x: { ticks: { maxRotation: 0, autoSkip: true, maxTicksLimit: 8 }, grid: { display: false } } },
        plugins: { legend: { display: series.length > 1, position: "bottom" }, tooltip: tooltipPercent },
      },
    };
  }

  function barConfig(labels, values, colors, label, unit) {
    return {
      type: "bar",
      data: { labels, datasets: [{ label, data: values, backgroundColor: colors, borderRadius: 6 }] },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        scales: unit ? { y: unitAxis(), x: { grid: { display: false } } } : { y: { beginAtZero: true, grid: { color: "#eef2f0" } }, x: { grid: { display: false } } },
        plugins: { legend: { display: false }, tooltip: unit ? tooltipPercent : {} },
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
    $("footnote").textContent =
      `${m.start_date} to ${m.end_date} · days in ${m.timezone} · ${m.average} average · ` +
      `undefined values are left out and shown as gaps`;
    if (empty) return;
    draw("chart-daily", lineConfig(days, METRICS));
    draw("chart-main-classes", barConfig(names, names.map((n) => m.class_counts[n]), colors, "Validated", false));
    for (const metric of METRICS) draw(`chart-${metric}`, lineConfig(days, [metric]));
    draw("chart-samples-pie", pieConfig(names, names.map((n) => m.class_counts[n]), colors));
    draw("chart-samples-bar", barConfig(names, names.map((n) => m.class_counts[n]), colors, "Validated", false));
    for (const metric of ["precision", "recall", "f1"]) {
      draw(`chart-class-${metric}`, barConfig(names, names.map((n) => m.class_metrics[n][metric]), colors, METRIC_LABELS[metric], true));
    }
  }

  function renderTraining() {
    const t = state.training;
    const names = Object.keys(t.class_counts);
    draw("chart-training", pieConfig(names, names.map((n) => t.class_counts[n]), names.map((n) => t.color_dict[n] || "#888")));
    const body = $("training-table").querySelector("tbody");
    body.replaceChildren(
      ...names.map((name) => {
        const row = document.createElement("tr");
        const label = document.createElement("td");
        const swatch = document.createElement("span");
        swatch.className = "swatch";
        swatch.style.background = t.color_dict[name];
        label.append(swatch, name);
        const count = document.createElement("td");
        count.textContent = t.class_counts[name].toLocaleString();
        row.append(label, count);
        return row;
      })
    );
  }

  // -- state: range, tab, URL ---------------------------------------------------------------------

  function writeUrl(tab) {
    const params = new URLSearchParams({ start_date: startInput.value, end_date: endInput.value, average: averageSelect.value, tab });
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

  let pending = 0;
  async function refresh() {
    if (!startInput.value || !endInput.value) return;
    const ticket = ++pending;
    writeUrl(currentTab());
    $("status").textContent = "Loading…";
    const params = new URLSearchParams({ start_date: startInput.value, end_date: endInput.value, average: averageSelect.value });
    try {
      const answer = await getJson(`/api/metrics?${params}`);
      if (ticket !== pending) return; // a newer range was asked for meanwhile
      state.metrics = answer;
      showError("");
      renderMetrics();
      selectTab(currentTab());
      $("status").textContent = `Updated ${new Date().toLocaleTimeString()}`;
    } catch (err) {
      if (ticket !== pending) return;
      showError(err.message);
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

  async function start() {
    const params = new URLSearchParams(location.search);
    averageSelect.value = ["macro", "weighted", "micro"].includes(params.get("average")) ? params.get("average") : "macro";
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

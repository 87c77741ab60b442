"use strict";
// The dashboard: reads /stats, /stats/series and /stats/recent from this sidecar every
// 5 s while visible, and draws everything itself (no library, no other origin).
(() => {
  const $ = (id) => document.getElementById(id);
  const SVG = "http://www.w3.org/2000/svg";
  const REFRESH_MS = 5000;
  let windowName = "24h";
  let timer = null;
  let models = [];
  let sort = { key: "saved", dir: -1 };
  let lastSeries = null;

  // Money reads the same everywhere: 2 decimals from $1, 4 significant digits below.
  function money(v) {
    if (typeof v !== "number" || !Number.isFinite(v)) return "–";
    const a = Math.abs(v);
    const sign = v < 0 ? "-" : "";
    // Rounded to 4 significant digits it may reach $1: then the $1 rule applies.
    if (a === 0 || Number(a.toPrecision(4)) >= 1) {
      return sign + "$" + a.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    }
    return sign + "$" + a.toLocaleString("en-US", { minimumSignificantDigits: 4, maximumSignificantDigits: 4 });
  }
  const int = (n) => (typeof n === "number" && Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "–");
  const pct = (r) => (Number.isFinite(r) ? (r * 100).toFixed(1) + "%" : "–");
  const total = (values) => (Array.isArray(values) ? values.reduce((s, v) => s + (Number(v) || 0), 0) : 0);
  const add = (a, b) => a.map((v, i) => v + (b[i] || 0));

  function bytes(n) {
    if (typeof n !== "number" || !Number.isFinite(n)) return "–";
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i === 0 ? n.toFixed(0) : n.toFixed(n < 10 ? 1 : 0)) + " " + units[i];
  }

  function ago(iso) {
    if (!iso) return "none";
    const seconds = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
    if (!Number.isFinite(seconds)) return "–";
    if (seconds < 90) return Math.round(seconds) + " s ago";
    if (seconds < 5400) return Math.round(seconds / 60) + " min ago";
    if (seconds < 129600) return Math.round(seconds / 3600) + " h ago";
    return Math.round(seconds / 86400) + " days ago";
  }

  async function get(path) {
    const response = await fetch(path, { cache: "no-store", headers: { accept: "application/json" } });
    if (!response.ok) throw new Error(path + " answered " + response.status);
    return response.json();
  }

  async function refresh() {
    const asked = windowName;
    try {
      const [stats, series, recent] = await Promise.all([
        get("/stats?window=" + encodeURIComponent(asked)),
        get("/stats/series?window=" + encodeURIComponent(asked)),
        get("/stats/recent?limit=50"),
      ]);
      if (asked !== windowName) return; // a newer window was chosen meanwhile
      headline(stats, series);
      lastSeries = series;
      charts(series);
      models = Object.entries(stats.models || {}).map(([name, m]) => ({
        model: name,
        requests: m.requests || 0,
        hits: m.hits || 0,
        // hits / (hits + misses), as /stats defines it; none of either: no ratio, shown as –.
        ratio: (m.hits || 0) + (m.misses || 0) ? m.hit_ratio || 0 : null,
        tokens: (m.input_tokens || 0) + (m.output_tokens || 0),
        spent: m.spent_usd || 0,
        saved: m.saved_usd || 0,
      }));
      modelTable();
      cache(stats);
      recentTable(recent.requests || []);
      const status = $("status");
      status.textContent = "Updated " + new Date().toLocaleTimeString();
      status.classList.remove("down");
    } catch (error) {
      const status = $("status");
      status.textContent = "Cannot read the sidecar's figures: " + error.message;
      status.classList.add("down");
    }
  }

  function headline(stats, series) {
    const cost = stats.cost || {};
    const all = Object.values(stats.models || {});
    const requests = all.reduce((s, m) => s + (m.requests || 0), 0);
    const hits = all.reduce((s, m) => s + (m.hits || 0), 0);
    const misses = all.reduce((s, m) => s + (m.misses || 0), 0);
    $("spent").textContent = money(cost.spent_usd);
    $("saved").textContent = money(cost.saved_usd);
    $("saved-split").textContent = "cache " + money(cost.saved_cache_usd) + " · compression " + money(cost.saved_compression_usd);
    // /stats's definition: of the requests the cache or the upstream answered, the cache's share.
    $("hit-ratio").textContent = hits + misses ? pct(hits / (hits + misses)) : "–";
    $("requests").textContent = int(requests);
    $("tokens-cache").textContent = int(all.reduce((s, m) => s + (m.saved_cache_tokens || 0), 0));
    $("tokens-compression").textContent = int(all.reduce((s, m) => s + (m.saved_compression_tokens || 0), 0));
    const r = series.requests || {};
    $("errors").textContent = int(total(r.error));
    $("rejected").textContent = int(total(r.rejected));
    $("stale").textContent = int(total(r.stale));
    // Reads' savings net of writes' premium: negative while writes have not been read back yet.
    $("provider-cache").textContent = money(cost.saved_provider_cache_usd);
    $("provider-cache-split").textContent =
      "read " + int(all.reduce((s, m) => s + (m.cached_input_tokens || 0), 0)) +
      " · written " + int(all.reduce((s, m) => s + (m.cache_write_input_tokens || 0), 0)) + " tokens";
  }

  // MARK: charts

  function element(name, attributes, parent) {
    const node = document.createElementNS(SVG, name);
    for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
    if (parent) parent.appendChild(node);
    return node;
  }

  function niceCeiling(x) {
    if (!(x > 0)) return 1;
    const power = Math.pow(10, Math.floor(Math.log10(x)));
    for (const m of [1, 2, 2.5, 5, 10]) if (m * power >= x) return m * power;
    return 10 * power;
  }

  function timeLabel(seconds, span) {
    const d = new Date(seconds * 1000);
    const hm = d.toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" });
    if (span <= 86400) return hm;
    const day = d.toLocaleDateString("en-US", { month: "short", day: "numeric" });
    return span > 7 * 86400 ? day : day + " " + hm;
  }

  // The frame every chart shares: grid lines with labels, time labels, and the plot area.
  function frame(svg, times, step, top, format) {
    svg.replaceChildren();
    const width = Math.max(200, Math.round(svg.getBoundingClientRect().width) || 300);
    const height = 170;
    svg.setAttribute("viewBox", "0 0 " + width + " " + height);
    const labels = [0, 0.5, 1].map((f) => [f, format(top * f)]);
    // Room for the longest label at 10 px (about 6 px a character).
    const left = 12 + 6 * Math.max(...labels.map(([, label]) => label.length));
    const area = { left, right: width - 6, top: 8, bottom: height - 20 };
    for (const [f, label] of labels) {
      const y = area.bottom - f * (area.bottom - area.top);
      element("line", { class: "grid", x1: area.left, x2: area.right, y1: y, y2: y }, svg);
      element("text", { x: area.left - 6, y: y + 3, "text-anchor": "end" }, svg).textContent = label;
    }
    const n = times.length;
    if (n > 0) {
      const span = n * step;
      for (const [i, anchor] of [[0, "start"], [Math.floor(n / 2), "middle"], [n - 1, "end"]]) {
        const x = anchor === "start" ? area.left : anchor === "end" ? area.right : area.left + ((i + 0.5) / n) * (area.right - area.left);
        element("text", { x, y: height - 4, "text-anchor": anchor }, svg).textContent = timeLabel(times[i], span);
      }
    }
    return area;
  }

  // Stacked bars, one <path> per layer.
  function bars(svg, series, layers, format) {
    const times = series.time || [];
    const n = times.length;
    const sums = times.map((_, i) => layers.reduce((s, l) => s + (l.values[i] || 0), 0));
    const top = niceCeiling(Math.max(0, ...sums));
    const area = frame(svg, times, series.step || 60, top, format);
    if (n === 0) return;
    const w = (area.right - area.left) / n;
    const gap = w > 3 ? 1 : 0;
    const base = times.map(() => 0);
    for (const layer of layers) {
      let d = "";
      layer.values.forEach((v, i) => {
        if (!(v > 0)) return;
        const h = (v / top) * (area.bottom - area.top);
        const y = area.bottom - base[i] - h;
        d += "M" + (area.left + i * w).toFixed(2) + " " + y.toFixed(2) + "h" + Math.max(0.5, w - gap).toFixed(2) + "v" + h.toFixed(2) + "h" + (-Math.max(0.5, w - gap)).toFixed(2) + "Z";
        base[i] += h;
      });
      element("path", { class: layer.cls, d: d || "M0 0" }, svg);
    }
  }

  // Running sums, the first with its area under it. A sum below zero (the provider's
  // cache before its writes are read) is drawn on the axis.
  function cumulativeLines(svg, series, lines) {
    const times = series.time || [];
    const sums = lines.map((l) => {
      let running = 0;
      return l.values.map((v) => (running += v || 0));
    });
    const top = niceCeiling(Math.max(0, ...sums.flat()));
    const area = frame(svg, times, series.step || 60, top, money);
    if (times.length === 0) return;
    const w = (area.right - area.left) / times.length;
    sums.forEach((values, index) => {
      const points = values.map((v, i) => [area.left + (i + 1) * w, area.bottom - (Math.max(0, v) / top) * (area.bottom - area.top)]);
      const line = "M" + area.left + " " + area.bottom + points.map(([x, y]) => "L" + x.toFixed(2) + " " + y.toFixed(2)).join("");
      if (index === 0) element("path", { class: "area", d: line + "L" + area.right + " " + area.bottom + "Z" }, svg);
      element("path", { class: "line " + lines[index].cls, d: line }, svg);
    });
  }

  function charts(series) {
    const r = series.requests || {};
    const zero = (series.time || []).map(() => 0);
    const of = (name) => (Array.isArray(r[name]) ? r[name] : zero);
    bars($("chart-requests"), series, [
      { cls: "hit", values: add(of("hit"), of("stale")) },
      { cls: "miss", values: add(of("miss"), of("bypass")) },
      { cls: "error", values: add(of("error"), of("rejected")) },
    ], int);
    cumulativeLines($("chart-saved"), series, [
      { cls: "saved", values: add(series.saved_cache_usd || zero, series.saved_compression_usd || zero) },
      { cls: "provider", values: series.saved_provider_cache_usd || zero },
    ]);
    bars($("chart-tokens"), series, [
      { cls: "hit", values: series.saved_cache_tokens || zero },
      { cls: "compression", values: series.saved_compression_tokens || zero },
    ], int);
  }

  // MARK: tables

  function row(cells) {
    const tr = document.createElement("tr");
    for (const [text, cls] of cells) {
      const td = document.createElement("td");
      td.textContent = text;
      if (cls) td.className = cls;
      tr.appendChild(td);
    }
    return tr;
  }

  function emptyRow(columns, text) {
    const tr = document.createElement("tr");
    const td = document.createElement("td");
    td.colSpan = columns;
    td.className = "empty";
    td.textContent = text;
    tr.appendChild(td);
    return tr;
  }

  function modelTable() {
    const { key, dir } = sort;
    const sorted = [...models].sort((a, b) => {
      const x = a[key], y = b[key];
      const order = typeof x === "string" ? x.localeCompare(y) : x - y;
      return dir * order || a.model.localeCompare(b.model);
    });
    const body = $("models").tBodies[0];
    body.replaceChildren(...(sorted.length === 0
      ? [emptyRow(7, "No requests in this window.")]
      : sorted.map((m) => row([
        [m.model], [int(m.requests), "num"], [int(m.hits), "num"], [pct(m.ratio), "num"],
        [int(m.tokens), "num"], [money(m.spent), "num"], [money(m.saved), "num"],
      ]))));
    for (const th of $("models").tHead.rows[0].cells) {
      th.setAttribute("aria-sort", th.dataset.key === key ? (dir > 0 ? "ascending" : "descending") : "none");
    }
  }

  const OUTCOMES = { hit: "HIT", miss: "MISS", stale: "STALE", bypass: "BYPASS", rejected: "rejected", error: "error", local: "LOCAL" };

  function recentTable(requests) {
    const body = $("recent").tBodies[0];
    body.replaceChildren(...(requests.length === 0
      ? [emptyRow(7, "No requests yet.")]
      : requests.map((r) => row([
        [new Date((r.time || 0) * 1000).toLocaleTimeString()],
        [r.route || ""],
        [r.model || ""],
        [OUTCOMES[r.outcome] || String(r.outcome || ""), "o-" + (r.outcome || "")],
        [(Number(r.latency_ms) || 0).toFixed(1) + " ms", "num"],
        [int((r.prompt_tokens || 0) + (r.completion_tokens || 0)), "num"],
        [money(r.saved_usd || 0), "num"],
      ]))));
  }

  function cache(stats) {
    const c = stats.cache || {};
    $("cache-entries").textContent = int(c.entries);
    $("cache-bytes").textContent = bytes(c.bytes) + (c.max_bytes ? " of " + bytes(c.max_bytes) : "");
    const used = c.max_bytes ? Math.min(100, (100 * (c.bytes || 0)) / c.max_bytes) : 0;
    const bar = $("cache-bar");
    bar.setAttribute("aria-valuenow", used.toFixed(1));
    bar.firstElementChild.style.width = used.toFixed(2) + "%";
    $("cache-evictions").textContent = int(c.evictions);
    $("cache-oldest").textContent = ago(c.oldest_entry);
    const shared = stats.shared;
    $("shared-facts").hidden = !shared;
    if (shared) {
      $("shared").textContent = shared.state + " · " + int(shared.hits) + " hits · " + int(shared.misses) + " misses · " + int(shared.errors) + " errors";
    }
  }

  // MARK: wiring

  function schedule() {
    clearInterval(timer);
    timer = document.hidden ? null : setInterval(refresh, REFRESH_MS);
  }

  document.addEventListener("DOMContentLoaded", () => {
    for (const button of document.querySelectorAll("[data-window]")) {
      button.addEventListener("click", () => {
        windowName = button.dataset.window;
        for (const b of document.querySelectorAll("[data-window]")) b.setAttribute("aria-pressed", String(b === button));
        refresh();
      });
    }
    for (const th of $("models").tHead.rows[0].cells) {
      th.querySelector("button").addEventListener("click", () => {
        const key = th.dataset.key;
        sort = sort.key === key ? { key, dir: -sort.dir } : { key, dir: key === "model" ? 1 : -1 };
        modelTable();
      });
    }
    let pending = 0;
    window.addEventListener("resize", () => {
      cancelAnimationFrame(pending);
      pending = requestAnimationFrame(() => lastSeries && charts(lastSeries));
    });
    document.addEventListener("visibilitychange", () => {
      if (!document.hidden) refresh();
      schedule();
    });
    refresh();
    schedule();
  });
})();

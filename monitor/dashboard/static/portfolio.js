// The portfolio view: a region's, brand's or the chain's own locations ranked against their
// competitive sets, worst movers first, and the scope pooled against the combined sets.
// Uses window.VW (app.js). Names and ids from the config enter the page as text nodes only.
"use strict";
(() => {
const { api, el, svg, clear, fmt, pct, signed, status } = VW;
const $ = (id) => document.getElementById(id);
const PAGE = 100;          // rows drawn at a time ("Show more" for the next ones)
const WINDOW_UNITS = { d: ["day", "days"], w: ["week", "weeks"], m: ["month", "months"], y: ["year", "years"] };
const SORT_TITLES = {
  movers: "Locations, worst movers first (biggest drop of the reputation index)",
  index: "Locations, lowest reputation index first",
  comp: "Locations, lowest comp index first",
};

let data = null;
let shown = PAGE;
let wired = false;
let loads = 0;

function windowLabel(w) {
  const m = /^(\d+)([dwmy])$/.exec(w || "");
  if (!m) return w;
  const n = Number(m[1]);
  return n + " " + WINDOW_UNITS[m[2]][n === 1 ? 0 : 1];
}

// A change as text with an arrow; coloured good/bad only where up is better (not mentions).
function change(x, { digits = 1, scale = 1, unit = "", neutral = false } = {}) {
  if (x === null || x === undefined) return el("span", { class: "pf-change none" }, "–");
  const v = x * scale;
  const flat = Math.abs(v) < 0.5 * 10 ** -digits;  // rounds to zero as shown: no change
  const arrow = flat ? "→" : v > 0 ? "▲" : "▼";
  const cls = flat || neutral ? "flat" : v > 0 ? "up" : "down";
  return el("span", { class: "pf-change " + cls }, arrow + " " + (flat ? fmt(0, digits) : signed(v, digits)) + unit);
}

// -- the scope's KPI cards: pooled own locations against the combined sets ----------------
function kpi(label, value, sub, deltaNode, extra) {
  const box = el("div", { class: "kpi pf-kpi" }, el("div", { class: "label" }, label), el("div", { class: "value" }, value));
  if (sub) box.append(el("div", { class: "sub" }, sub));
  if (deltaNode) box.append(el("div", { class: "sub pf-delta" }, deltaNode.label + " ", deltaNode.node));
  if (extra) box.append(extra);
  return box;
}

function renderRollup(d) {
  const u = d.rollup, own = u.own, set = u.set, ch = u.changes;
  const vs = "vs previous " + windowLabel(d.window) + ":";
  const delta = (node) => ({ label: vs, node });
  const sets = u.rivals + (u.rivals === 1 ? " distinct rival" : " distinct rivals");
  clear($("pf-kpis")).append(
    kpi("Reputation index", own.reputation_index === null ? "–" : fmt(own.reputation_index),
      "combined sets " + fmt(set.reputation_index), delta(change(ch.reputation_index)),
      sparkline(u.spark, d.weeks, "pf-rollup-spark", 140, 36)),
    kpi("Comp index", fmt(u.comp_index, 0), "100 = on par with the combined sets (" + sets + ")",
      delta(change(ch.comp_index, { digits: 0 }))),
    kpi("Ahead of their set", u.ahead + " of " + u.locations,
      u.first + " first in their set · " + u.indexed + " with an index"),
    kpi("Rating (0–5)", fmt(own.avg_rating, 2), "combined sets " + fmt(set.avg_rating, 2),
      delta(change(ch.avg_rating, { digits: 2 }))),
    kpi("Net sentiment", fmt(own.net_sentiment, 2), "combined sets " + fmt(set.net_sentiment, 2),
      delta(change(ch.net_sentiment, { digits: 2 }))),
    kpi("Mentions", String(own.mentions), "combined sets " + set.mentions,
      delta(change(ch.mentions, { digits: 0, neutral: true }))),
    kpi("Response rate", pct(own.response_rate), "combined sets " + pct(set.response_rate),
      delta(change(ch.response_rate, { digits: 0, scale: 100, unit: " pts" }))),
  );
}

// -- sparkline: the weekly index, its own scale (at least 10 points tall) ----------------
function sparkline(values, weeks, cls, W = 100, H = 28) {
  const P = 3;
  const known = values.filter((v) => v !== null);
  const box = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "pf-spark " + (cls || ""), role: "img" });
  if (!known.length) {
    box.setAttribute("aria-label", "no weekly index yet");
    box.append(svg("line", { x1: P, x2: W - P, y1: H / 2, y2: H / 2, class: "pf-spark-empty" }));
    return box;
  }
  let lo = Math.min(...known), hi = Math.max(...known);
  if (hi - lo < 10) { const mid = (hi + lo) / 2; lo = mid - 5; hi = mid + 5; }
  const x = (i) => P + (values.length === 1 ? 0.5 : i / (values.length - 1)) * (W - 2 * P);
  const y = (v) => P + (1 - (v - lo) / (hi - lo)) * (H - 2 * P);
  let d = "", pen = "M";
  values.forEach((v, i) => {
    if (v === null) { pen = "M"; return; }
    d += `${pen}${x(i).toFixed(1)},${y(v).toFixed(1)} `;
    pen = "L";
  });
  box.append(svg("path", { d: d.trim(), fill: "none", class: "pf-spark-line" }));
  const last = values.length - 1 - [...values].reverse().findIndex((v) => v !== null);
  box.append(svg("circle", { cx: x(last), cy: y(values[last]), r: 2, class: "pf-spark-dot" }));
  const first = values.findIndex((v) => v !== null);
  const label = `weekly index, ${weeks[first]} ${fmt(values[first])} to ${weeks[last]} ${fmt(values[last])}`;
  box.setAttribute("aria-label", label);
  box.append(svg("title", {}, label));
  return box;
}

// -- the ranked table -----------------------------------------------------------------------
function rankCell(r) {
  const cell = el("td", { class: "num pf-rank" }, r.rank === null ? "–" : r.rank + " / " + r.rank_of);
  if (r.rank !== null && r.rank_previous !== null && r.rank_previous !== r.rank) {
    const cls = r.rank_previous > r.rank ? "pf-change up" : "pf-change down";  // a smaller rank is better
    cell.append(el("div", { class: "pf-was " + cls }, "was " + r.rank_previous));
  }
  return cell;
}

function renderRows() {
  const body = clear($("pf-table").tBodies[0]);
  const rows = data.rows.slice(0, shown);
  const mixed = data.filters.category === "all";
  rows.forEach((r, i) => {
    const cur = r.current, ch = r.changes;
    const link = el("a", { href: VW.href("location", r.id), class: "pf-name" }, r.name);
    const where = el("div", { class: "pf-where" }, [r.region, r.brand].concat(mixed ? [r.category] : []).join(" · "),
      " · ", el("a", { href: VW.href("inbox", null, { location: r.id, sentiment: "negative" }), class: "pf-complaints" },
        "complaints"));
    const index = cur.reputation_index === null
      ? el("span", { class: "empty", title: "fewer than 10 reviews in the window" }, "too few reviews")
      : fmt(cur.reputation_index);
    body.append(el("tr", { class: "pf-row", "data-id": r.id },
      el("td", { class: "num" }, String(i + 1)),
      el("td", {}, link, where),
      el("td", { class: "num pf-index" }, index),
      el("td", { class: "num" }, change(ch.reputation_index)),
      el("td", { class: "num pf-comp" }, fmt(r.comp_index, 0)),
      el("td", { class: "num" }, change(ch.comp_index, { digits: 0 })),
      rankCell(r),
      el("td", { class: "num" }, String(cur.mentions)),
      el("td", { class: "num" }, fmt(cur.avg_rating, 2)),
      el("td", { class: "num" }, fmt(cur.net_sentiment, 2)),
      el("td", { class: "num" }, pct(cur.response_rate)),
      el("td", { class: "pf-spark-cell" }, sparkline(r.spark, data.weeks)),
    ));
  });
  if (!data.rows.length) {
    body.append(el("tr", {}, el("td", { colspan: "12", class: "empty" }, "No locations match these filters.")));
  }
  const more = $("pf-more");
  more.hidden = data.rows.length <= shown;
  more.textContent = `Show ${Math.min(PAGE, data.rows.length - shown)} more of ${data.rows.length - shown}`;
}

// -- filters: filled from the data; the state lives in the hash -----------------------------
function fill(select, items, allValue, allLabel, selected) {
  clear(select);
  select.append(el("option", { value: allValue }, allLabel));
  for (const it of items) select.append(el("option", { value: it.id }, `${it.name || it.id} (${it.count})`));
  select.value = selected;
}

function renderFilters(d) {
  const f = d.filters, o = d.options;
  fill($("pf-category"), o.categories, "all", "all categories", f.category);
  fill($("pf-region"), o.regions, "", "all regions", f.region);
  fill($("pf-brand"), o.brands, "", "all brands", f.brand);
  $("pf-region-label").hidden = o.regions.length < 2;
  $("pf-brand-label").hidden = o.brands.length < 2;
  const win = $("pf-window");
  if (![...win.options].some((o) => o.value === d.window)) win.append(el("option", { value: d.window }, windowLabel(d.window)));
  win.value = d.window;
  $("pf-sort").value = d.sort;
}

function navigate(changed) {
  const p = {};
  const category = $("pf-category").value;
  // a new region or brand gets its own default category, unless every category was asked for
  if (category && (category === "all" || (changed !== "region" && changed !== "brand"))) p.category = category;
  for (const [key, id] of [["region", "pf-region"], ["brand", "pf-brand"]]) if ($(id).value) p[key] = $(id).value;
  if ($("pf-window").value !== "90d") p.window = $("pf-window").value;
  if ($("pf-sort").value !== "movers") p.sort = $("pf-sort").value;
  VW.go("portfolio", null, p);
}

function wire() {
  for (const [id, what] of [["pf-category", "category"], ["pf-region", "region"], ["pf-brand", "brand"],
    ["pf-window", "window"], ["pf-sort", "sort"]]) {
    $(id).addEventListener("change", () => navigate(what));
  }
  $("pf-more").addEventListener("click", () => { shown += PAGE; renderRows(); });
  wired = true;
}

function scopeTitle(scope) {
  if (scope === "all") return "Portfolio: every own location";
  const [kind, value] = scope.split(/:(.*)/s);
  return `Portfolio: ${kind} ${value}`;
}

VW.view("portfolio", {
  available: true,
  async show(_arg, params) {
    if (!wired) wire();
    const q = new URLSearchParams();
    for (const key of ["window", "category", "region", "brand", "sort"]) if (params.get(key)) q.set(key, params.get(key));
    const mine = ++loads;
    // a load that another navigation overtook must not touch the page (nor the status line)
    const stale = () => mine !== loads || $("view-portfolio").hidden;
    status("Loading…");
    let fresh;
    try {
      fresh = await api("/api/portfolio" + (q.toString() ? "?" + q : ""));
    } catch (err) {
      if (stale()) return;
      $("pf-content").hidden = true;
      throw err;
    }
    if (stale()) return;
    data = fresh;
    shown = PAGE;
    renderFilters(data);
    const n = data.rows.length, cat = data.filters.category;
    $("pf-title").textContent = scopeTitle(data.scope);
    $("pf-meta").textContent = `${n} ${n === 1 ? "location" : "locations"} ` +
      `(${cat === "all" ? "all categories" : cat}) · last ${windowLabel(data.window)}, ` +
      `${data.current.start.slice(0, 10)} to ${data.current.end.slice(0, 10)}, against the previous ` +
      `${windowLabel(data.window)} (${data.previous.start.slice(0, 10)} to ${data.previous.end.slice(0, 10)})`;
    $("pf-table-title").textContent = SORT_TITLES[data.sort] || SORT_TITLES.movers;
    $("pf-spark-head").textContent = data.weeks.length + " weeks";
    renderRollup(data);
    renderRows();
    $("pf-content").hidden = false;
    status("");
  },
});
})();

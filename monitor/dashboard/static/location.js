// The location view: one own location against its competitive set. Uses window.VW (app.js).
"use strict";
(() => {
const { api, el, svg, clear, fmt, pct, signed, safeHref, status } = VW;
const $ = (id) => document.getElementById(id);

// -- KPIs --------------------------------------------------------------------------
function kpi(label, value, sub, delta) {
  const box = el("div", { class: "kpi" }, el("div", { class: "label" }, label), el("div", { class: "value" }, value));
  const line = el("div", { class: "sub" }, sub || "");
  if (delta) line.append(" ", el("span", { class: delta.startsWith("-") ? "down" : "up" }, delta));
  box.append(line);
  return box;
}

function renderKpis(b) {
  const cur = b.current, s = b.set_avg, d = b.deltas;
  const index = cur.reputation_index === null ? (cur.index_note || "–") : fmt(cur.reputation_index);
  clear($("kpis")).append(
    kpi("Reputation index", index, "set " + fmt(s.reputation_index), signed(d.reputation_index)),
    kpi("Comp index", fmt(b.comp_index_reputation, 0), "100 = on par with the set"),
    kpi("Rank in set", b.rank === null ? "–" : b.rank + " / " + b.rank_of, s.members + (s.members === 1 ? " rival" : " rivals")),
    kpi("Rating (0–5)", fmt(cur.avg_rating, 2), "set " + fmt(s.avg_rating, 2), signed(d.avg_rating, 2)),
    kpi("Net sentiment", fmt(cur.net_sentiment, 2), "set " + fmt(s.net_sentiment, 2), signed(d.net_sentiment, 2)),
    kpi("Mentions", String(cur.mentions), "share of set " + pct(b.review_share), signed(d.mentions, 0)),
    kpi("Response rate", pct(cur.response_rate), "set " + pct(s.response_rate)),
  );
}

// -- trend chart: own index vs set index per bucket ---------------------------------
function renderTrend(all) {
  const box = clear($("trend"));
  const first = all.findIndex((p) => p.own_index !== null || p.set_index !== null);
  const points = first < 0 ? [] : all.slice(first);  // weeks before the first review say nothing
  const values = points.flatMap((p) => [p.own_index, p.set_index]).filter((v) => v !== null);
  if (!values.length) {
    box.append(el("p", { class: "empty" }, "Not enough reviews yet for a weekly index (needs 10 in 90 days)."));
    return;
  }
  const W = 640, H = 260, L = 36, R = 10, T = 10, B = 28;
  let lo = Math.floor(Math.min(...values) / 10) * 10, hi = Math.ceil(Math.max(...values) / 10) * 10;
  if (hi - lo < 20) { lo = Math.max(0, lo - 10); hi = Math.min(100, hi + 10); }
  const x = (i) => L + (points.length === 1 ? 0.5 : i / (points.length - 1)) * (W - L - R);
  const y = (v) => T + (1 - (v - lo) / (hi - lo)) * (H - T - B);
  const chart = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": "reputation index trend", id: "trend-chart" });
  for (let v = lo; v <= hi; v += 10) {
    chart.append(svg("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), stroke: "#eaeef2" }));
    chart.append(svg("text", { x: L - 6, y: y(v) + 4, "text-anchor": "end" }, String(v)));
  }
  const step = Math.max(1, Math.ceil(points.length / 8));
  points.forEach((p, i) => {
    if (i % step === 0) chart.append(svg("text", { x: x(i), y: H - 8, "text-anchor": "middle" }, p.bucket.slice(5)));
  });
  const line = (key, color, dash, cls) => {
    let d = "", pen = "M";
    points.forEach((p, i) => {
      if (p[key] === null) { pen = "M"; return; }
      d += `${pen}${x(i).toFixed(1)},${y(p[key]).toFixed(1)} `;
      pen = "L";
    });
    chart.append(svg("path", { d: d.trim(), fill: "none", stroke: color, "stroke-width": 2, "stroke-dasharray": dash, class: cls }));
  };
  line("set_index", "#8b949e", "5 4", "set-line");
  line("own_index", "#1f6feb", "none", "own-line");
  points.forEach((p, i) => {
    if (p.own_index === null) return;
    const dot = svg("circle", { cx: x(i), cy: y(p.own_index), r: 3, fill: "#1f6feb", class: "own-point" });
    dot.append(svg("title", {}, `week of ${p.bucket}: ${fmt(p.own_index)} (set ${fmt(p.set_index)}), ${p.own_mentions} mentions`));
    chart.append(dot);
  });
  box.append(chart);
}

// -- aspect chart: diverging bars of net sentiment, own beside set -------------------
function renderAspects(b) {
  const box = clear($("aspects"));
  const set = new Map(b.set_aspects.map((a) => [a.aspect, a]));
  const weak = new Map(b.weakest_aspects.map((g) => [g.aspect, g]));
  const rows = b.current.aspects.filter((a) => a.net_sentiment !== null).slice(0, 8);
  if (!rows.length) {
    box.append(el("p", { class: "empty" }, "No aspects mentioned in this window."));
    return;
  }
  const W = 420, L = 110, R = 64, rowH = 34, H = rows.length * rowH + 20;
  const mid = L + (W - L - R) / 2, half = (W - L - R) / 2;
  const chart = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": "aspect net sentiment", id: "aspect-chart" });
  chart.append(svg("line", { x1: mid, x2: mid, y1: 0, y2: H - 16, stroke: "#d0d7de" }));
  chart.append(svg("text", { x: L, y: H - 4 }, "−1"), svg("text", { x: mid, y: H - 4, "text-anchor": "middle" }, "0"),
    svg("text", { x: W - R, y: H - 4, "text-anchor": "end" }, "+1"));
  rows.forEach((a, i) => {
    const top = i * rowH + 4;
    const label = svg("text", { x: L - 6, y: top + 15, "text-anchor": "end", class: "aspect-label" }, a.aspect);
    if (weak.has(a.aspect)) label.classList.add("weak");
    chart.append(label);
    const bar = (v, yy, color, cls, what) => {
      if (v === null || v === undefined) return;
      const w = Math.abs(v) * half;
      const rect = svg("rect", { x: v >= 0 ? mid : mid - w, y: yy, width: Math.max(w, 1), height: 11, fill: color, class: cls });
      rect.append(svg("title", {}, `${a.aspect} (${what}): ${fmt(v, 2)}`));
      chart.append(rect);
    };
    bar(a.net_sentiment, top + 4, "#1f6feb", "own-bar", `this location, ${a.mentions} mentions`);
    const s = set.get(a.aspect);
    if (s) bar(s.net_sentiment, top + 16, "#8b949e", "set-bar", `set, ${s.mentions} mentions`);
    const g = weak.get(a.aspect);
    if (g) chart.append(svg("text", { x: W - 2, y: top + 15, "text-anchor": "end", class: "weak" }, "gap " + signed(g.gap, 2)));
  });
  box.append(chart);
}

// -- competitive set table and negative mentions ------------------------------------
function renderSet(b) {
  const body = clear($("set").tBodies[0]);
  const row = (name, km, m, cls) => el("tr", cls ? { class: cls } : {},
    el("td", {}, name), el("td", { class: "num" }, km), el("td", { class: "num" }, String(m.mentions)),
    el("td", { class: "num" }, fmt(m.avg_rating, 2)), el("td", { class: "num" }, fmt(m.net_sentiment, 2)),
    el("td", { class: "num" }, m.reputation_index === null ? (m.index_note || "–") : fmt(m.reputation_index)));
  body.append(row(b.location.name + " (you)", "", b.current, "self"));
  for (const m of b.set) body.append(row(m.name, fmt(m.distance_km, 1), m.metrics));
  if (!b.set.length) body.append(el("tr", {}, el("td", { colspan: "6", class: "empty" }, "No competitors configured.")));
}

function renderNegative(data) {
  const list = clear($("negative"));
  if (!data.mentions.length) {
    list.append(el("li", { class: "empty" }, "No negative mentions in this window."));
    return;
  }
  for (const m of data.mentions) {
    const head = el("div", { class: "head" }, (m.published_at || "").slice(0, 10), " · ", m.site, " · ", m.source_id);
    if (m.rating !== null) head.append(" · rating " + fmt(m.rating, 1) + "/5");
    const href = m.url && safeHref(m.url);
    if (href) head.append(" · ", el("a", { href, target: "_blank", rel: "noopener noreferrer nofollow" }, "open"));
    const item = el("li", { class: "mention" }, head);
    if (m.title) item.append(el("strong", {}, m.title));
    const text = el("div", { class: "text" }, m.text);
    // a snippet the site itself cut (the full text was not served or could not be fetched)
    if (m.truncated === true) text.append(" ", el("span", { class: "cut", title: "The site showed only this excerpt" }, "[snippet]"));
    item.append(text);
    list.append(item);
  }
}

async function showLocation(id) {
  const windowArg = encodeURIComponent($("window").value);
  const base = "/api/locations/" + encodeURIComponent(id);
  status("Loading…");
  try {
    const [b, t, n] = await Promise.all([
      api(`${base}/benchmark?window=${windowArg}`),
      api(`${base}/trend?bucket=week&window=365d`),
      api(`${base}/negative?limit=20&window=${windowArg}`),
    ]);
    $("loc-name").textContent = b.location.name;
    $("loc-meta").textContent = `${b.location.brand} · ${b.location.region} · ${b.location.category} · last ${b.window}, ` +
      `${b.current.start.slice(0, 10)} to ${b.current.end.slice(0, 10)}`;
    renderKpis(b);
    renderTrend(t.points);
    renderAspects(b);
    renderSet(b);
    renderNegative(n);
    $("content").hidden = false;
    status("");
  } catch (err) {
    $("content").hidden = true;
    if (err.status === 401) { location.reload(); return; }
    status(err.status === 403 ? "You do not have access to that location." : "Could not load: " + err.message);
  }
}


let wired = false;

VW.view("location", {
  async show(arg) {
    const select = $("location");
    if (!wired) {
      for (const loc of VW.locations) select.append(el("option", { value: loc.id }, `${loc.name} (${loc.region})`));
      select.addEventListener("change", () => VW.go("location", select.value));
      $("window").addEventListener("change", () => showLocation(select.value));
      wired = true;
    }
    const id = arg && VW.locations.some((l) => l.id === arg) ? arg : (arg ? arg : select.value);
    if (VW.locations.some((l) => l.id === id)) select.value = id;
    await showLocation(id);
  },
});
})();

// The location view: one own location against its competitive set. Uses window.VW (app.js).
// Scraped and configured text enters the page only as text nodes (VW.el / VW.svg).
"use strict";
(() => {
const { api, el, svg, clear, fmt, pct, safeHref, status, aspectName } = VW;
const $ = (id) => document.getElementById(id);
const MINUS = "\u2212";
let current = null;  // the location shown: its id, for the links to the inbox

// "+1.2" / "−1.2" (a real minus sign), "" for nothing
function delta(x, digits = 1) {
  if (x === null || x === undefined) return "";
  const text = Math.abs(x).toFixed(digits);
  return (x > 0 ? "+" : x < 0 && Number(text) !== 0 ? MINUS : "±") + text;
}

// the colour of a change: green up / red down where up is better, neutral otherwise
function tone(x, better) {
  if (!better || x === null || x === undefined || x === 0) return "neutral";
  return x > 0 ? "up" : "down";
}

function windowText(w) {
  const m = /^(\d+)([dwmy])$/.exec(w || "");
  if (!m) return w;
  const unit = { d: "day", w: "week", m: "month", y: "year" }[m[2]];
  return m[1] + " " + unit + (m[1] === "1" ? "" : "s");
}

// the inbox of this location and aspect: the inbox lane reads these hash parameters
function openAspect(aspect) { VW.go("inbox", null, { location: current, aspect }); }

function linkTo(node, aspect) {
  node.setAttribute("role", "link");
  node.setAttribute("tabindex", "0");
  node.dataset.aspect = aspect;
  node.classList.add("to-inbox");
  node.addEventListener("click", () => openAspect(aspect));
  node.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); openAspect(aspect); } });
  return node;
}

// -- KPIs --------------------------------------------------------------------------
// value; "set: x" and "gap to set: ±y" (own − set); "vs previous <window>: ±z"
function kpi(o) {
  const box = el("div", { class: "kpi", id: "kpi-" + o.id }, el("div", { class: "label" }, o.label),
    el("div", { class: "value" }, o.value));
  const d = o.digits === undefined ? 1 : o.digits;
  if (o.sub) box.append(el("div", { class: "sub" }, o.sub));
  if (o.set !== undefined) {
    const line = el("div", { class: "sub set" }, "set: " + o.set);
    if (o.gap !== null && o.gap !== undefined) {
      line.append(" · ", el("span", { class: "gap " + tone(o.gap, true) }, "gap to set: " + delta(o.gap, d) + (o.unit || "")));
    }
    box.append(line);
  }
  if (o.change !== null && o.change !== undefined) {
    box.append(el("div", { class: "sub change" }, el("span", { class: tone(o.change, !o.neutral) },
      `vs previous ${windowText(o.window)}: ${delta(o.change, d)}${o.unit || ""}`)));
  }
  return box;
}

const minus = (a, b) => (a === null || a === undefined || b === null || b === undefined ? null : a - b);

function renderKpis(b) {
  const cur = b.current, s = b.set_avg, d = b.deltas, w = b.window;
  const index = cur.reputation_index === null ? (cur.index_note || "–") : fmt(cur.reputation_index);
  clear($("kpis")).append(
    kpi({ id: "index", label: "Reputation index", value: index, set: fmt(s.reputation_index),
      gap: minus(cur.reputation_index, s.reputation_index), change: d.reputation_index, window: w }),
    kpi({ id: "comp", label: "Comp index", value: fmt(b.comp_index_reputation, 0), sub: "100 = on par with the set" }),
    kpi({ id: "rank", label: "Rank in set", value: b.rank === null ? "–" : b.rank + " / " + b.rank_of,
      sub: s.members + (s.members === 1 ? " rival" : " rivals") }),
    kpi({ id: "rating", label: "Rating (0–5)", value: fmt(cur.avg_rating, 2), set: fmt(s.avg_rating, 2),
      gap: minus(cur.avg_rating, s.avg_rating), change: d.avg_rating, window: w, digits: 2 }),
    kpi({ id: "net", label: "Net sentiment", value: fmt(cur.net_sentiment, 2), set: fmt(s.net_sentiment, 2),
      gap: minus(cur.net_sentiment, s.net_sentiment), change: d.net_sentiment, window: w, digits: 2 }),
    // more mentions is neither good nor bad: the change is shown, not coloured
    kpi({ id: "mentions", label: "Mentions", value: String(cur.mentions), sub: "share of set: " + pct(b.review_share),
      change: d.mentions, window: w, digits: 0, neutral: true }),
    // the rate's gap and change in percentage points
    kpi({ id: "response", label: "Response rate", value: pct(cur.response_rate), set: pct(s.response_rate),
      gap: asPoints(minus(cur.response_rate, s.response_rate)), change: asPoints(d.response_rate), window: w, digits: 0,
      unit: " pts" }),
  );
}

const asPoints = (x) => (x === null || x === undefined ? null : x * 100);

// -- a line chart of points with gaps: the shared part of the trend and the aspect tiles --
function linePath(points, key, x, y) {
  let d = "", pen = "M";
  points.forEach((p, i) => {
    if (p[key] === null || p[key] === undefined) { pen = "M"; return; }
    d += `${pen}${x(i).toFixed(1)},${y(p[key]).toFixed(1)} `;
    pen = "L";
  });
  return d.trim();
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
  chart.append(svg("path", { d: linePath(points, "set_index", x, y), fill: "none", stroke: "#8b949e", "stroke-width": 2,
    "stroke-dasharray": "5 4", class: "set-line" }));
  chart.append(svg("path", { d: linePath(points, "own_index", x, y), fill: "none", stroke: "#1f6feb", "stroke-width": 2,
    class: "own-line" }));
  points.forEach((p, i) => {
    if (p.own_index === null) return;
    const dot = svg("circle", { cx: x(i), cy: y(p.own_index), r: 3, fill: "#1f6feb", class: "own-point" });
    dot.append(svg("title", {}, `week of ${p.bucket}: ${fmt(p.own_index)} (set ${fmt(p.set_index)}), ${p.own_mentions} mentions`));
    chart.append(dot);
  });
  box.append(chart);
}

// -- aspect chart: diverging bars of net sentiment, own beside set; a row opens the inbox --
function renderAspects(b) {
  const box = clear($("aspects"));
  const set = new Map(b.set_aspects.map((a) => [a.aspect, a]));
  const weak = new Map(b.weakest_aspects.map((g) => [g.aspect, g]));
  const rows = b.current.aspects.filter((a) => a.net_sentiment !== null).slice(0, 8);
  if (!rows.length) {
    box.append(el("p", { class: "empty" }, "No aspects mentioned in this window."));
    return;
  }
  const W = 440, L = 150, R = 64, rowH = 34, H = rows.length * rowH + 20;
  const mid = L + (W - L - R) / 2, half = (W - L - R) / 2;
  const chart = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": "aspect net sentiment", id: "aspect-chart" });
  chart.append(svg("line", { x1: mid, x2: mid, y1: 0, y2: H - 16, stroke: "#d0d7de" }));
  chart.append(svg("text", { x: L, y: H - 4 }, MINUS + "1"), svg("text", { x: mid, y: H - 4, "text-anchor": "middle" }, "0"),
    svg("text", { x: W - R, y: H - 4, "text-anchor": "end" }, "+1"));
  rows.forEach((a, i) => {
    const top = i * rowH + 4, name = aspectName(a.aspect);
    const row = linkTo(svg("g", { class: "aspect-row", "aria-label": `${name}: open its reviews` }), a.aspect);
    row.append(svg("rect", { x: 0, y: top, width: W, height: rowH - 2, class: "hit" }));
    const label = svg("text", { x: L - 6, y: top + 15, "text-anchor": "end", class: "aspect-label" }, name.length > 24 ? name.slice(0, 23) + "…" : name);
    label.append(svg("title", {}, name));
    if (weak.has(a.aspect)) label.classList.add("weak");
    row.append(label);
    const bar = (v, yy, color, cls, what) => {
      if (v === null || v === undefined) return;
      const w = Math.abs(v) * half;
      const rect = svg("rect", { x: v >= 0 ? mid : mid - w, y: yy, width: Math.max(w, 1), height: 11, fill: color, class: cls });
      rect.append(svg("title", {}, `${name} (${what}): ${fmt(v, 2)}`));
      row.append(rect);
    };
    bar(a.net_sentiment, top + 4, "#1f6feb", "own-bar", `this location, ${a.mentions} mentions`);
    const s = set.get(a.aspect);
    if (s) bar(s.net_sentiment, top + 16, "#8b949e", "set-bar", `set, ${s.mentions} mentions`);
    const g = weak.get(a.aspect);
    if (g) row.append(svg("text", { x: W - 2, y: top + 15, "text-anchor": "end", class: "weak" }, "gap " + delta(g.gap, 2)));
    chart.append(row);
  });
  box.append(chart);
}

// -- trend per aspect: small multiples of weekly net sentiment, own vs set ------------
const TILES = 6;

function renderAspectTrend(data, all = false) {
  const box = clear($("aspect-trend"));
  const aspects = all ? data.aspects : data.aspects.slice(0, TILES);
  if (!aspects.length) {
    box.append(el("p", { class: "empty" }, "No aspects mentioned in the last year."));
    return;
  }
  for (const a of aspects) {
    const all = a.points;
    const first = all.findIndex((p) => p.own_net_sentiment !== null || p.set_net_sentiment !== null);
    const points = first < 0 ? [] : all.slice(first);
    const W = 300, H = 120, L = 26, R = 6, T = 8, B = 18;
    const x = (i) => L + (points.length <= 1 ? 0.5 : i / (points.length - 1)) * (W - L - R);
    const y = (v) => T + (1 - (v + 1) / 2) * (H - T - B);
    const chart = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": `${aspectName(a.aspect)}: weekly net sentiment` });
    for (const v of [-1, 0, 1]) {
      chart.append(svg("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), stroke: v === 0 ? "#d0d7de" : "#eaeef2" }));
      chart.append(svg("text", { x: L - 4, y: y(v) + 4, "text-anchor": "end" }, v > 0 ? "+1" : v < 0 ? MINUS + "1" : "0"));
    }
    if (points.length) {
      chart.append(svg("text", { x: L, y: H - 4 }, points[0].bucket.slice(5)),
        svg("text", { x: W - R, y: H - 4, "text-anchor": "end" }, points[points.length - 1].bucket.slice(5)));
    }
    chart.append(svg("path", { d: linePath(points, "set_net_sentiment", x, y), fill: "none", stroke: "#8b949e",
      "stroke-width": 1.5, "stroke-dasharray": "4 3", class: "set-line" }));
    chart.append(svg("path", { d: linePath(points, "own_net_sentiment", x, y), fill: "none", stroke: "#1f6feb",
      "stroke-width": 1.5, class: "own-line" }));
    points.forEach((p, i) => {
      if (p.own_net_sentiment === null) return;
      const dot = svg("circle", { cx: x(i), cy: y(p.own_net_sentiment), r: 2, fill: "#1f6feb", class: "own-point" });
      dot.append(svg("title", {}, `week of ${p.bucket}: ${fmt(p.own_net_sentiment, 2)} (${p.own_mentions} mentions; ` +
        `set ${fmt(p.set_net_sentiment, 2)})`));
      chart.append(dot);
    });
    const tile = linkTo(el("div", { class: "aspect-tile", "aria-label": `${aspectName(a.aspect)}: open its reviews` }), a.aspect);
    tile.append(el("div", { class: "tile-head" }, el("strong", {}, aspectName(a.aspect)),
      el("span", { class: "muted" }, ` ${a.own_mentions} mentions · set ${a.set_mentions}`)), chart);
    box.append(tile);
  }
  if (data.aspects.length > TILES) {
    const more = el("button", { type: "button", class: "more-aspects" },
      all ? `Only the ${TILES} most mentioned` : `All ${data.aspects.length} aspects`);
    more.addEventListener("click", () => renderAspectTrend(data, !all));
    box.append(more);
  }
}

// -- per site: own vs the competitors on that site ----------------------------------
function gapCell(x, digits, scale = 1) {
  return el("td", { class: "num gap " + tone(x, true) }, x === null ? "–" : delta(x * scale, digits));
}

function renderPlatforms(b) {
  const body = clear($("platforms").tBodies[0]);
  for (const p of b.platforms) {
    const o = p.own, s = p.set;
    const rank = p.rank === null ? "–" : `${p.rank} / ${p.rank_of}`;
    const rankCell = el("td", { class: "num rank" }, rank);
    rankCell.title = p.rank_by === "bayes_rating" ? "ranked by rating (Bayesian, towards the site's mean)" : "ranked by net sentiment (no ratings on this site)";
    // the site's reviews of this location, in the inbox
    const site = o.mentions ? el("a", { href: VW.href("inbox", null, { location: current, site: p.site }), class: "site" }, p.site) : p.site;
    body.append(el("tr", { class: "platform" + (o.mentions ? "" : " absent") },
      el("td", {}, site), el("td", { class: "num" }, String(o.mentions)), el("td", { class: "num" }, String(s.mentions)),
      el("td", { class: "num" }, fmt(o.avg_rating, 2)), el("td", { class: "num" }, fmt(s.avg_rating, 2)), gapCell(p.gap_rating, 2),
      el("td", { class: "num" }, fmt(o.net_sentiment, 2)), el("td", { class: "num" }, fmt(s.net_sentiment, 2)),
      gapCell(p.gap_net_sentiment, 2),
      el("td", { class: "num" }, pct(o.response_rate)), el("td", { class: "num" }, pct(s.response_rate)),
      gapCell(p.gap_response_rate, 0, 100),
      el("td", { class: "num" }, String(p.members)), rankCell));
  }
  if (!b.platforms.length) body.append(el("tr", {}, el("td", { colspan: "14", class: "empty" }, "No mentions in this window.")));
}

// -- rating distribution: share of rated mentions per whole star, own beside set -------
function renderStars(b) {
  const box = clear($("stars"));
  const d = b.rating_distribution;
  if (!d.own_rated && !d.set_rated) {
    box.append(el("p", { class: "empty" }, "No rated mentions in this window."));
    return;
  }
  const W = 420, L = 40, R = 50, rowH = 34, H = 5 * rowH + 4;
  const max = Math.max(0.01, ...d.stars.flatMap((x) => [x.own_share || 0, x.set_share || 0]));
  const chart = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": "rating distribution", id: "stars-chart" });
  [...d.stars].reverse().forEach((x, i) => {
    const top = i * rowH + 4;
    chart.append(svg("text", { x: L - 8, y: top + 16, "text-anchor": "end", class: "star-label" }, x.stars + " ★"));
    for (const [share, n, yy, color, cls, who] of [[x.own_share, x.own, top + 2, "#1f6feb", "own-bar", "this location"],
      [x.set_share, x.set, top + 15, "#8b949e", "set-bar", "set"]]) {
      const w = ((share || 0) / max) * (W - L - R);
      const rect = svg("rect", { x: L, y: yy, width: Math.max(w, share ? 1 : 0), height: 11, fill: color, class: cls,
        "data-stars": x.stars });
      rect.append(svg("title", {}, `${x.stars} stars, ${who}: ${pct(share)} (${n})`));
      chart.append(rect, svg("text", { x: L + w + 4, y: yy + 10, class: "share " + cls.replace("-bar", "") }, pct(share)));
    }
  });
  box.append(chart, el("p", { class: "meta" }, `${d.own_rated} rated mentions (${d.own_unrated} unrated); set ${d.set_rated} rated.`));
}

// -- competitive set table and the latest mentions ------------------------------------
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

const LABELS = new Set(["positive", "neutral", "negative"]);

function renderMentions(listId, data, empty) {
  const list = clear($(listId));
  if (!data.mentions.length) {
    list.append(el("li", { class: "empty" }, empty));
    return;
  }
  for (const m of data.mentions) {
    const head = el("div", { class: "head" }, (m.published_at || "").slice(0, 10), " · ", m.site, " · ", m.source_id, " · ");
    const label = LABELS.has(m.sentiment_label) ? m.sentiment_label : "unlabelled";
    head.append(el("span", { class: "sentiment " + label }, label));
    // the rating beside the label: a reader sees at once when the two disagree
    head.append(" ", el("span", { class: "rating" }, m.rating === null ? "no rating" : "rating " + fmt(m.rating, 1) + "/5"));
    const href = m.url && safeHref(m.url);
    if (href) head.append(" · ", el("a", { href, target: "_blank", rel: "noopener noreferrer nofollow" }, m.is_permalink ? "open review" : "open"));
    const item = el("li", { class: "mention" }, head);
    if (m.title) item.append(el("strong", {}, m.title));
    const text = el("div", { class: "text" }, m.text);
    // a snippet the site itself cut (the full text was not served or could not be fetched)
    if (m.truncated === true) text.append(" ", el("span", { class: "cut", title: "The site showed only this excerpt" }, "[snippet]"));
    item.append(text);
    const aspects = (m.aspects || []).filter((a) => a && typeof a.aspect === "string");
    if (aspects.length) {
      const chips = el("div", { class: "chips" });
      for (const a of aspects) {
        const chip = linkTo(el("span", { class: "chip " + (LABELS.has(a.sentiment) ? a.sentiment : "") }, aspectName(a.aspect)), a.aspect);
        chips.append(chip, " ");
      }
      item.append(chips);
    }
    list.append(item);
  }
}

async function showLocation(id) {
  const windowArg = encodeURIComponent($("window").value);
  const base = "/api/locations/" + encodeURIComponent(id);
  status("Loading…");
  try {
    const [b, t, at, neg, pos] = await Promise.all([
      api(`${base}/benchmark?window=${windowArg}`),
      api(`${base}/trend?bucket=week&window=365d`),
      api(`${base}/aspect-trend?bucket=week&window=365d`),
      api(`${base}/mentions?sentiment=negative&limit=10&window=${windowArg}`),
      api(`${base}/mentions?sentiment=positive&limit=10&window=${windowArg}`),
    ]);
    current = b.location.id;
    $("loc-name").textContent = b.location.name;
    $("loc-meta").textContent = `${b.location.brand} · ${b.location.region} · ${b.location.category} · last ${windowText(b.window)}, ` +
      `${b.current.start.slice(0, 10)} to ${b.current.end.slice(0, 10)}`;
    renderKpis(b);
    renderTrend(t.points);
    renderAspects(b);
    renderAspectTrend(at);
    renderPlatforms(b);
    renderStars(b);
    renderSet(b);
    renderMentions("negative", neg, "No negative mentions in this window.");
    renderMentions("positive", pos, "No positive mentions in this window.");
    for (const sentiment of ["negative", "positive"]) {
      $(sentiment + "-more").setAttribute("href", VW.href("inbox", null, { location: current, sentiment }));
    }
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
      // one group per category: hotels and cafés are not one list
      const groups = new Map();
      for (const loc of VW.locations) {
        if (!groups.has(loc.category)) groups.set(loc.category, el("optgroup", { label: loc.category }));
        groups.get(loc.category).append(el("option", { value: loc.id }, `${loc.name} (${loc.region})`));
      }
      if (groups.size === 1) for (const g of groups.values()) select.append(...g.children);
      else for (const g of groups.values()) select.append(g);
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

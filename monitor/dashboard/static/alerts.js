// The alerts view: the incidents in scope (#/alerts?state=&severity=&kind=&location=&window=)
// and one incident's page (#/alerts/<id>) with acknowledge / assign / resolve, notes and history.
// Alert titles, summaries, quoted mentions, notes and assignees are untrusted: text nodes only.
"use strict";
(() => {
const { api, post, el, clear, status } = VW;
const $ = (id) => document.getElementById(id);

const SEVERITIES = new Set(["info", "warning", "critical"]);
const KIND_NAMES = { negative_spike: "negative spike", negative_share: "negative share", rating_drop: "rating drop",
  viral_post: "viral post", crawl_health: "crawl health" };
const FILTERS = ["state", "severity", "kind", "location", "window"];
const DEFAULT_WINDOW = "90d";

const kindName = (k) => KIND_NAMES[k] || k;
const when = (iso) => (iso ? iso.slice(0, 16).replace("T", " ") + " UTC" : "–");

function hours(h) {
  if (h === null || h === undefined) return "–";
  if (h < 1) return Math.round(h * 60) + " min";
  if (h < 48) return (Math.round(h * 10) / 10) + " h";
  return (Math.round(h / 24 * 10) / 10) + " d";
}

function sevBadge(severity) {
  return el("span", { class: "sev-badge sev-" + (SEVERITIES.has(severity) ? severity : "info") }, severity);
}

function stateBadge(state) {
  return el("span", { class: "state state-" + state.replace(/[^a-z]/g, "") }, state);
}

function where(a) {
  const bits = [];
  if (a.location_name) bits.push(a.location_name);
  else if (a.brand_name) bits.push("brand " + a.brand_name + (a.region ? " · " + a.region : ""));
  else if (a.region) bits.push("region " + a.region);
  if (a.aspect) bits.push(VW.aspectName(a.aspect));
  return bits.join(" · ") || "–";
}

function kpi(label, value, sub) {
  return el("div", { class: "kpi" }, el("div", { class: "label" }, label), el("div", { class: "value" }, value),
    el("div", { class: "sub" }, sub || ""));
}

// -- the list ---------------------------------------------------------------------------
let wired = false;

function wireFilters() {
  if (wired) return;
  const loc = $("alert-location");
  for (const l of VW.locations) loc.append(el("option", { value: l.id }, `${l.name} (${l.region})`));
  for (const name of FILTERS) {
    $("alert-" + name).addEventListener("change", () => {
      const params = {};
      for (const f of FILTERS) {
        const v = $("alert-" + f).value;
        if (v && !(f === "window" && v === DEFAULT_WINDOW)) params[f] = v;
      }
      VW.go("alerts", null, params);
    });
  }
  wired = true;
}

function renderTimes(t, windowName) {
  const span = windowName === "all" ? "all time" : "last " + windowName;
  clear($("alert-times")).append(
    kpi("Median time to acknowledge", hours(t.median_tta_hours), `${t.acknowledged} of ${t.alerts} acknowledged`),
    kpi("Median time to resolve", hours(t.median_ttr_hours),
      `${t.resolved} resolved` + (t.auto_resolved ? `, ${t.auto_resolved} when quiet` : "")),
    kpi("Waiting for acknowledgement", String(t.unacknowledged),
      t.oldest_unacknowledged_hours === null ? "none waiting" : "oldest " + hours(t.oldest_unacknowledged_hours)),
    kpi("Alerts raised", String(t.alerts), span),
  );
  $("alert-times").dataset.tta = t.median_tta_hours === null ? "" : String(t.median_tta_hours);
}

function renderLocationTimes(rows) {
  const body = clear($("alert-loc-times").tBodies[0]);
  for (const r of rows) {
    body.append(el("tr", {}, el("td", {}, r.location_name), el("td", { class: "num" }, String(r.alerts)),
      el("td", { class: "num" }, hours(r.median_tta_hours)), el("td", { class: "num" }, hours(r.median_ttr_hours)),
      el("td", { class: "num" }, String(r.unacknowledged))));
  }
  $("alert-loc-panel").hidden = rows.length < 2;
}

function renderList(data) {
  const body = clear($("alert-table").tBodies[0]);
  for (const a of data.alerts) {
    const link = el("a", { href: VW.href("alerts", a.id), class: "alert-link" }, a.title);
    body.append(el("tr", { class: "alert-row", "data-id": a.id },
      el("td", {}, sevBadge(a.severity)),
      el("td", {}, link, el("div", { class: "kind" }, kindName(a.kind))),
      el("td", {}, where(a)),
      el("td", {}, stateBadge(a.state)),
      el("td", { class: "assignee" }, a.assignee || "–"),
      el("td", { class: "when" }, when(a.first_seen)),
      el("td", { class: "when" }, when(a.last_seen))));
  }
  if (!data.alerts.length) body.append(el("tr", {}, el("td", { colspan: "7", class: "empty" }, "No alerts match.")));
  const shown = data.alerts.length < data.total ? `${data.alerts.length} of ${data.total}` : String(data.total);
  $("alert-count").textContent = `Alerts (${shown}), newest activity first`;
}

async function showList(params) {
  wireFilters();
  const q = new URLSearchParams();
  for (const f of FILTERS) {
    const v = params.get(f) || (f === "window" ? DEFAULT_WINDOW : "");
    const select = $("alert-" + f);
    select.value = v;
    if (select.value !== v) select.value = "";  // a value the page does not offer: the API says why
    if (v) q.set(f, v);
  }
  status("Loading…");
  const data = await api("/api/alerts?" + q.toString());
  renderTimes(data.times.scope, data.window);
  renderLocationTimes(data.times.locations);
  renderList(data);
  $("alert-incident").hidden = true;
  $("alerts-list").hidden = false;
  status("");
}

// -- one incident -----------------------------------------------------------------------
let current = null;

function historyLine(e) {
  const d = e.detail || {};
  switch (e.action) {
    case "acknowledge": return "acknowledged" + (d.from ? ` (was ${d.from})` : "");
    case "resolve": return "resolved" + (d.reason ? ": " + d.reason : "");
    case "assign": return d.assignee ? "assigned to " + d.assignee : "unassigned" + (d.from ? ` (was ${d.from})` : "");
    case "note": return "note";
    default: return e.action;
  }
}

// [["noisy", 5], ["slow", 2]] (top terms, top aspects) reads as "noisy (5), slow (2)"
function detailText(key, v) {
  if (typeof v === "string") return v;
  if (typeof v === "number") return String(Math.round(v * 1000) / 1000);
  if (Array.isArray(v) && v.every((p) => Array.isArray(p) && p.length === 2)) {
    return v.map(([name, n]) => `${key === "top_aspects" ? VW.aspectName(name) : name} (${n})`).join(", ");
  }
  return JSON.stringify(v);
}

function renderIncident(a) {
  current = a;
  $("incident-title").textContent = a.title;
  $("incident-meta").textContent = `${kindName(a.kind)} · ${a.severity} · ${where(a)} · first seen ${when(a.first_seen)}` +
    ` · last seen ${when(a.last_seen)}` + (a.version > 1 ? ` · updated ${a.version - 1}×` : "");
  clear($("incident-state")).append(stateBadge(a.state));
  $("incident-ack").hidden = !a.moves.acknowledge;
  $("incident-resolve").hidden = !a.moves.resolve;
  $("incident-assignee").value = a.assignee || "";
  $("incident-unassign").hidden = !a.assignee;
  clear($("incident-times")).append(
    kpi("Time to acknowledge", hours(a.times.tta_hours), a.times.tta_hours === null ? "not yet" : ""),
    kpi("Time to resolve", hours(a.times.ttr_hours), a.times.auto_resolved ? "resolved when quiet" : (a.times.ttr_hours === null ? "not yet" : "")),
    kpi("Assignee", a.assignee || "nobody", a.work.updated_by ? "by " + a.work.updated_by : ""),
  );

  const summary = clear($("incident-summary"));
  for (const line of a.summary.split("\n")) summary.append(el("p", {}, line));
  const details = clear($("incident-details"));
  for (const [k, v] of Object.entries(a.details || {})) {
    if (k === "fingerprint") continue;
    details.append(el("dt", {}, k.replace(/_/g, " ")), el("dd", {}, detailText(k, v)));
  }
  const links = clear($("incident-links"));
  if (a.location_id && VW.locations.some((l) => l.id === a.location_id)) {
    links.append(el("a", { href: VW.href("location", a.location_id) }, "Location page"));
    const q = { location: a.location_id, sentiment: "negative" };
    if (a.aspect) q.aspect = a.aspect;
    links.append(el("a", { href: VW.href("inbox", null, q) }, a.aspect ? "Negative reviews on " + VW.aspectName(a.aspect) : "Negative reviews"));
  }

  const hist = clear($("incident-history"));
  for (const e of a.history) {
    const item = el("li", { class: "event event-" + e.action.replace(/[^a-z]/g, "") },
      el("div", { class: "head" }, when(e.at), " · ", el("span", { class: "actor" }, e.actor)),
      el("div", { class: "what" }, historyLine(e)));
    if (e.action === "note") item.append(el("div", { class: "note-text" }, (e.detail && e.detail.text) || ""));
    hist.append(item);
  }
  if (!a.history.length) hist.append(el("li", { class: "empty" }, "Nothing recorded yet."));

  const list = clear($("incident-mentions"));
  for (const m of a.mentions) {
    const head = el("div", { class: "head" }, [when(m.published_at), m.source_id, m.why].filter(Boolean).join(" · "));
    if (m.engagement) head.append(` · ${m.engagement} interactions`);
    const href = m.url && VW.safeHref(m.url);
    if (href) head.append(" · ", el("a", { href, target: "_blank", rel: "noopener noreferrer nofollow" }, "open"));
    list.append(el("li", { class: "mention" }, head, el("div", { class: "text" }, m.text)));
  }
  if (!a.mentions.length) list.append(el("li", { class: "empty" }, "This alert quotes no mentions."));
}

async function write(action, body) {
  if (!current) return;
  status("Saving…");
  try {
    renderIncident(await post(`/api/alerts/${encodeURIComponent(current.id)}/${action}`, body));
    status("");
  } catch (err) {
    if (err.status === 401) { location.reload(); return; }
    status(err.status === 403 ? "You do not have access to that alert." : "Not saved: " + err.message);
  }
}

let incidentWired = false;

function wireIncident() {
  if (incidentWired) return;
  $("incident-ack").addEventListener("click", () => write("acknowledge", {}));
  $("incident-resolve").addEventListener("click", () => write("resolve", {}));
  $("incident-unassign").addEventListener("click", () => write("assign", { unassign: true }));
  $("incident-assign").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const who = $("incident-assignee").value.trim();
    if (who) write("assign", { assignee: who });
  });
  $("incident-note").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const text = $("incident-note-text").value.trim();
    if (!text) return;
    await write("notes", { text });
    if (!$("status").textContent) $("incident-note-text").value = "";
  });
  incidentWired = true;
}

async function showIncident(id) {
  wireIncident();
  $("alerts-list").hidden = true;
  $("alert-incident").hidden = true;
  status("Loading…");
  try {
    renderIncident(await api("/api/alerts/" + encodeURIComponent(id)));
  } catch (err) {
    current = null;
    if (err.status === 403) { status("You do not have access to that alert."); return; }
    if (err.status === 404) { status("There is no such alert."); return; }
    throw err;
  }
  $("alert-incident").hidden = false;
  status("");
}

VW.view("alerts", {
  available: true,
  async show(arg, params) {
    if (arg) await showIncident(arg);
    else await showList(params);
  },
});
})();

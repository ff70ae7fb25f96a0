// The review inbox: every mention of the own locations in scope, filtered by the hash's
// params (#/inbox?location=x&aspect=y), each with its work item: assign, set a status, add a
// note, see who did what when. Uses window.VW (app.js). Review text, replies, notes and
// assignees are untrusted: they only enter the page as text nodes.
"use strict";
(() => {
const { api, post, el, clear, fmt, pct, safeHref, status } = VW;
const $ = (id) => document.getElementById(id);

const PAGE = 25;
const STATUSES = ["new", "assigned", "answered", "resolved"];
const SENTIMENTS = new Set(["positive", "neutral", "negative"]);
// the filters the bar edits; every other hash param (aspect_sentiment, offset) is kept as it is
const FILTERS = ["location", "window", "source", "site", "min_rating", "max_rating", "sentiment", "aspect",
  "language", "replied", "status", "assignee", "unassigned"];
const DEFAULT_WINDOW = "90d";
let params = new URLSearchParams();
let wired = false;

const when = (iso) => (iso ? iso.slice(0, 16).replace("T", " ") : "–");

function hours(h) {
  if (h === null || h === undefined) return "–";
  return h < 48 ? fmt(h, h < 10 ? 1 : 0) + " h" : fmt(h / 24, 1) + " d";
}

function locationName(id) {
  const loc = VW.locations.find((l) => l.id === id);
  return loc ? loc.name : id;
}

// -- the filter bar <-> the hash ------------------------------------------------------
function options(select, values, label) {
  const keep = select.value;
  while (select.options.length > 1) select.remove(1);
  for (const v of values) select.append(el("option", { value: v }, label ? label(v) : v));
  select.value = keep;
}

function wire() {
  options($("inbox-location"), VW.locations.map((l) => l.id), locationName);
  for (const id of ["inbox-min-rating", "inbox-max-rating"]) options($(id), ["1", "2", "3", "4", "5"], (v) => v + " ★");
  const aspects = Object.keys((VW.me && VW.me.aspects) || {});
  aspects.sort((a, b) => VW.aspectName(a).localeCompare(VW.aspectName(b)));
  options($("inbox-aspect"), aspects, VW.aspectName);
  const form = $("inbox-filters");
  form.addEventListener("change", (ev) => { if (ev.target.name) apply(); });
  form.addEventListener("submit", (ev) => { ev.preventDefault(); apply(); });
  $("inbox-clear").addEventListener("click", () => VW.go("inbox", null, {}));
  $("inbox-prev").addEventListener("click", () => page(-1));
  $("inbox-next").addEventListener("click", () => page(1));
  wired = true;
}

function readForm() {
  const next = new URLSearchParams(params);
  for (const name of FILTERS) next.delete(name);
  next.delete("offset");  // new filters: back to the first page
  for (const name of FILTERS) {
    const input = $("inbox-filters").elements[name];
    const value = input.type === "checkbox" ? (input.checked ? input.value : "") : input.value.trim();
    if (value && !(name === "window" && value === DEFAULT_WINDOW)) next.set(name, value);
  }
  return next;
}

function apply() { VW.go("inbox", null, readForm()); }

function page(step) {
  const next = new URLSearchParams(params);
  const offset = Math.max(0, Number(params.get("offset") || 0) + step * PAGE);
  if (offset) next.set("offset", String(offset)); else next.delete("offset");
  VW.go("inbox", null, next);
}

function fillForm() {
  const form = $("inbox-filters");
  for (const name of FILTERS) {
    const input = form.elements[name];
    const value = params.get(name) || (name === "window" ? DEFAULT_WINDOW : "");
    if (input.type === "checkbox") { input.checked = value === input.value; continue; }
    if (input.tagName === "SELECT" && value && ![...input.options].some((o) => o.value === value)) {
      input.append(el("option", { value }, name === "aspect" ? VW.aspectName(value) : value));
    }
    input.value = value;
  }
}

// The query string of the inbox's filters (no paging) for the API and the export.
function filterQuery() {
  const q = new URLSearchParams(params);
  q.delete("offset");
  q.delete("limit");
  if (!q.has("window")) q.set("window", DEFAULT_WINDOW);
  return q;
}

// -- header: time to answer and to resolve -----------------------------------------------
function kpi(label, value, sub) {
  return el("div", { class: "kpi" }, el("div", { class: "label" }, label), el("div", { class: "value" }, value),
    el("div", { class: "sub" }, sub));
}

function renderWorkflow(w) {
  const t = w.total;
  const one = w.locations.length === 1 ? w.locations[0].name : `${w.locations.length} locations`;
  $("inbox-meta").textContent = `${one} · ` + (w.since === null ? `every mention up to ${w.until.slice(0, 10)}`
    : `mentions published in the last ${w.window}, ${w.since.slice(0, 10)} to ${w.until.slice(0, 10)}`);
  clear($("inbox-kpis")).append(
    kpi("Answered", pct(t.answered_share), `${t.answered} of ${t.mentions}: ${t.answered_on_site} replied on the site, ` +
      `${t.answered_by_status} marked answered/resolved`),
    kpi("Time to answer", hours(t.median_answer_hours), `median · p90 ${hours(t.p90_answer_hours)} · ${t.answer_timed} timed`),
    kpi("Time to resolve", hours(t.median_resolve_hours), `median · p90 ${hours(t.p90_resolve_hours)} · ${t.resolved} resolved`),
    kpi("Unanswered negatives", String(t.unanswered_negatives),
      t.oldest_unanswered_negative_hours === null ? `of ${t.negatives} negative` : `oldest waiting ${hours(t.oldest_unanswered_negative_hours)}`),
  );
  $("inbox-kpis").lastChild.classList.toggle("inbox-alarm", t.unanswered_negatives > 0);
}

// -- the list ----------------------------------------------------------------------------
function describe(e) {
  const d = e.detail || {};
  if (e.action === "note") return ["note: ", el("span", { class: "inbox-note" }, String(d.text ?? ""))];
  if (e.action === "assign") return [d.assignee ? `assigned to ${d.assignee}` : `unassigned (was ${d.from ?? "nobody"})`];
  if (e.action === "status") return [`status ${d.from ?? "new"} → ${d.to}`];
  return [e.action];
}

function renderEvents(box, events) {
  const list = clear(box);
  if (!events.length) { list.append(el("li", { class: "empty" }, "Nothing recorded yet.")); return; }
  for (const e of events) {
    list.append(el("li", { class: "inbox-event", "data-action": e.action },
      el("time", { datetime: e.at || "" }, when(e.at)), " · ", el("span", { class: "inbox-actor" }, e.actor), " · ",
      ...describe(e)));
  }
}

async function write(row, m, path, body) {
  status("");
  try {
    const detail = await post(`/api/mentions/${encodeURIComponent(m.fingerprint)}/${path}`, body);
    const fresh = renderRow(detail);
    const history = fresh.querySelector("details.inbox-history");
    renderEvents(fresh.querySelector(".inbox-events"), detail.events);
    history.dataset.loaded = "1";
    history.open = path === "notes" || row.querySelector("details.inbox-history").open;
    row.replaceWith(fresh);
    if (detail.work.assignee) addAssignee(detail.work.assignee);
    loadWorkflow().catch(() => {});
    refreshCounts().catch(() => {});
    return true;
  } catch (err) {
    status(err.status === 403 ? "You may not change that review: " + err.message : "Not saved: " + err.message);
    return false;
  }
}

function addAssignee(name) {
  const list = $("inbox-assignees");
  if (![...list.options].some((o) => o.value === name)) list.append(el("option", { value: name }));
}

function renderRow(m) {
  const row = el("li", { class: "inbox-row", "data-fingerprint": m.fingerprint, "data-status": m.work.status });
  const head = el("div", { class: "head" },
    el("time", { datetime: m.published_at || "" }, when(m.published_at)), " · ", m.site, " · ",
    el("span", { class: "inbox-loc" }, locationName(m.location_id)));
  if (m.rating !== null) head.append(" · ", el("span", { class: "inbox-rating" }, fmt(m.rating, 1) + "/5 ★"));
  const label = SENTIMENTS.has(m.sentiment_label) ? m.sentiment_label : "unlabelled";
  head.append(" · ", el("span", { class: "inbox-sentiment s-" + label }, m.sentiment_label ? label : "not labelled"));
  if (m.language) head.append(" · ", m.language);
  row.append(head);

  if (m.aspects && m.aspects.length) {
    const tags = el("div", { class: "inbox-aspects" });
    for (const a of m.aspects) {
      const s = SENTIMENTS.has(a.sentiment) ? a.sentiment : "neutral";
      tags.append(el("span", { class: "inbox-aspect s-" + s, title: a.sentiment || "" }, VW.aspectName(a.aspect)));
    }
    row.append(tags);
  }
  if (m.title) row.append(el("strong", { class: "inbox-title" }, m.title));
  const text = el("div", { class: "text" }, m.text || "(rating only, no text)");
  if (m.truncated === true) text.append(" ", el("span", { class: "cut", title: "The site showed only this excerpt" }, "[snippet]"));
  row.append(text);
  if (m.reply_text) {
    row.append(el("div", { class: "inbox-reply" },
      el("span", { class: "inbox-reply-head" }, "Owner reply on " + m.site + (m.reply_at ? " · " + when(m.reply_at) : "") + ": "),
      el("span", { class: "inbox-reply-text" }, m.reply_text)));
  }
  const href = m.url && safeHref(m.url);
  const facts = el("div", { class: "inbox-facts" });
  if (href) {
    facts.append(el("a", { class: "inbox-link", href, target: "_blank", rel: "noopener noreferrer nofollow" },
      m.is_permalink ? "open on " + m.site : "page it was read from (" + m.site + ")"));
  }
  facts.append(el("span", { class: "inbox-answered" + (m.answered.on_site || m.answered.by_status ? " yes" : "") },
    m.answered.on_site ? (m.answered.by_status ? "replied on the site · marked " + m.work.status : "replied on the site")
      : (m.answered.by_status ? "marked " + m.work.status + " (no reply on the site)" : "no reply on the site")));
  if (m.work.updated_by) {
    facts.append(el("span", { class: "inbox-who" }, `last change ${when(m.work.updated_at)} by ${m.work.updated_by}`));
  }
  row.append(facts);
  row.append(renderActions(row, m));
  return row;
}

function renderActions(row, m) {
  const actions = el("div", { class: "inbox-actions" });
  // status
  const select = el("select", { class: "inbox-set-status", "aria-label": "status" });
  for (const s of STATUSES) select.append(el("option", { value: s }, s));
  select.value = m.work.status;
  select.addEventListener("change", () => write(row, m, "work", { status: select.value }));
  actions.append(el("label", {}, "Status ", select));
  // assign: free text, with the assignees already used offered
  const who = el("input", { class: "inbox-assign-to", list: "inbox-assignees", maxlength: "120",
    placeholder: "department or person", "aria-label": "assign to" });
  who.value = m.work.assignee || "";
  const assign = el("button", { type: "button", class: "inbox-assign" }, "Assign");
  assign.addEventListener("click", () => { if (who.value.trim()) write(row, m, "work", { assignee: who.value }); });
  who.addEventListener("keydown", (ev) => { if (ev.key === "Enter") { ev.preventDefault(); assign.click(); } });
  actions.append(el("span", { class: "inbox-assign-box" }, who, assign));
  if (m.work.assignee) {
    const un = el("button", { type: "button", class: "inbox-unassign" }, "Unassign");
    un.addEventListener("click", () => write(row, m, "work", { unassign: true }));
    actions.append(un);
  }
  // note
  const note = el("textarea", { class: "inbox-note-text", rows: "1", maxlength: "2000", placeholder: "add a note",
    "aria-label": "note" });
  const add = el("button", { type: "button", class: "inbox-add-note" }, "Add note");
  add.addEventListener("click", async () => {
    if (!note.value.trim()) return;
    await write(row, m, "notes", { text: note.value });
  });
  actions.append(el("span", { class: "inbox-note-box" }, note, add));
  // history, loaded when opened
  const history = el("details", { class: "inbox-history" }, el("summary", {}, "History"));
  const events = el("ol", { class: "inbox-events" });
  history.append(events);
  history.addEventListener("toggle", async () => {
    if (!history.open || history.dataset.loaded) return;
    try {
      const detail = await api(`/api/mentions/${encodeURIComponent(m.fingerprint)}`);
      renderEvents(events, detail.events);
      history.dataset.loaded = "1";
    } catch (err) { status("Could not load the history: " + err.message); }
  });
  actions.append(history);
  return actions;
}

function renderCounts(counts) {
  const box = clear($("inbox-counts"));
  for (const s of STATUSES) box.append(el("span", { class: "inbox-count-" + s }, `${s} ${counts[s]}`));
}

// After a write: the counts by status move; the rows stay where they are until the next load.
async function refreshCounts() {
  const q = filterQuery();
  q.set("limit", "1");
  renderCounts((await api("/api/inbox?" + q.toString())).counts);
}

function renderList(data) {
  const list = clear($("inbox-list"));
  for (const m of data.mentions) list.append(renderRow(m));
  if (!data.mentions.length) list.append(el("li", { class: "empty" }, "No reviews match these filters."));
  const first = data.total ? data.offset + 1 : 0, last = data.offset + data.mentions.length;
  $("inbox-count").textContent = `${first}–${last} of ${data.total}`;
  $("inbox-page").textContent = data.total ? `page ${Math.floor(data.offset / PAGE) + 1} of ${Math.ceil(data.total / PAGE)}` : "";
  $("inbox-prev").disabled = data.offset === 0;
  $("inbox-next").disabled = last >= data.total;
  renderCounts(data.counts);
  const datalist = clear($("inbox-assignees"));
  for (const a of data.assignees) datalist.append(el("option", { value: a }));
  options($("inbox-source"), data.facets.source.map((f) => f.value));
  options($("inbox-site"), data.facets.site.map((f) => f.value));
  options($("inbox-language"), data.facets.language.map((f) => f.value));
  fillForm();  // a value the facets did not offer (a link from elsewhere) stays selected
}

function renderExport() {
  for (const a of document.querySelectorAll("#inbox-export a")) {
    const q = filterQuery();
    q.set("format", a.dataset.format);
    a.setAttribute("href", "/api/export/mentions?" + q.toString());
  }
}

async function loadWorkflow() {
  const q = new URLSearchParams();
  for (const lid of (params.get("location") || "").split(",").filter(Boolean)) q.append("location", lid);
  q.set("window", params.get("window") || DEFAULT_WINDOW);
  renderWorkflow(await api("/api/workflow?" + q.toString()));
}

VW.view("inbox", {
  available: true,
  async show(_arg, hashParams) {
    if (!wired) wire();
    params = new URLSearchParams(hashParams);
    fillForm();
    renderExport();
    status("Loading…");
    const q = filterQuery();
    q.set("limit", String(PAGE));
    if (params.get("offset")) q.set("offset", params.get("offset"));
    const [data] = await Promise.all([api("/api/inbox?" + q.toString()), loadWorkflow()]);
    renderList(data);
    status("");
  },
});
})();

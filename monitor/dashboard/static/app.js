// vocwatch dashboard. Scraped and configured text is untrusted: it only ever enters the
// page as text nodes (textContent / createTextNode), never as HTML; links only for http(s).
"use strict";

const SVG_NS = "http://www.w3.org/2000/svg";
const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

function clear(node) { node.replaceChildren(); return node; }

const fmt = (x, digits = 1) => (x === null || x === undefined ? "–" : Number(x).toFixed(digits));
const pct = (x) => (x === null || x === undefined ? "–" : Math.round(x * 100) + "%");
const signed = (x, digits = 1) => (x === null || x === undefined ? "" : (x >= 0 ? "+" : "") + Number(x).toFixed(digits));

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function api(path) {
  const res = await fetch(path, { credentials: "same-origin", headers: { Accept: "application/json" } });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new ApiError(res.status, body.error || res.statusText);
  return body;
}

// A write: JSON body, the session's CSRF token in X-CSRF-Token (from /api/me).
async function post(path, data) {
  const res = await fetch(path, {
    method: "POST", credentials: "same-origin",
    headers: { Accept: "application/json", "Content-Type": "application/json", "X-CSRF-Token": VW.me.csrf || "" },
    body: JSON.stringify(data || {}),
  });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new ApiError(res.status, body.error || res.statusText);
  return body;
}

function safeHref(url) {
  try {
    const u = new URL(url);
    return u.protocol === "http:" || u.protocol === "https:" ? u.href : null;
  } catch { return null; }
}

function status(text) { $("status").textContent = text; }

// -- crawl health (administrators only: the API refuses other scopes) -----------------
const SEVERITIES = new Set(["info", "warning", "critical"]);

function renderHealth(data) {
  const body = clear($("health").tBodies[0]);
  for (const s of data.sources) {
    const where = `${s.source_id} (${s.kind}, ${s.location_name})`;
    const when = s.run_id === null ? "never checked" : `#${s.run_id} ${(s.finished_at || "").slice(0, 16).replace("T", " ")}`;
    if (!s.findings.length) {
      body.append(el("tr", { class: "health-row" }, el("td", {}, where), el("td", {}, when),
        el("td", { class: "sev-ok" }, s.run_id === null ? "–" : "ok"), el("td", {}, "")));
    }
    for (const f of s.findings) {
      const sev = SEVERITIES.has(f.severity) ? f.severity : "info";
      body.append(el("tr", { class: "health-row" }, el("td", {}, where), el("td", {}, when),
        el("td", { class: "sev-" + sev }, f.severity), el("td", {}, f.problem + ": " + f.message)));
    }
  }
  if (!data.sources.length) body.append(el("tr", {}, el("td", { colspan: "4", class: "empty" }, "No sources configured.")));
  $("health-panel").hidden = false;
}

// -- views and the hash router: #/<view>/<arg>?k=v ------------------------------------
const VIEWS = {};

function view(name, impl) { VIEWS[name] = impl; }

function parseHash() {
  const legacy = /^#loc=(.+)$/.exec(location.hash);  // links from before the router
  if (legacy) return { name: "location", arg: decodeURIComponent(legacy[1]), params: new URLSearchParams() };
  const m = /^#\/([a-z]+)(?:\/([^?]*))?(?:\?(.*))?$/.exec(location.hash);
  if (!m || !VIEWS[m[1]]) return null;
  return { name: m[1], arg: m[2] ? decodeURIComponent(m[2]) : null, params: new URLSearchParams(m[3] || "") };
}

function href(name, arg, params) {
  let h = "#/" + name + (arg ? "/" + encodeURIComponent(arg) : "");
  const q = params ? new URLSearchParams(params).toString() : "";
  return q ? h + "?" + q : h;
}

function go(name, arg, params) { location.hash = href(name, arg, params); }

function aspectName(id) {
  const names = (VW.me && VW.me.aspects && VW.me.aspects[id]) || null;
  if (!names) return id;
  return (navigator.language || "en").toLowerCase().startsWith("zh") ? names.zh || names.en : names.en;
}

let routeSeq = 0;  // a view shown after a newer navigation must not write over the newer one's status

async function route() {
  const seq = ++routeSeq;
  VW.current = seq;
  const target = parseHash() || { name: VW.defaultView, arg: null, params: new URLSearchParams() };
  for (const section of document.querySelectorAll("section.view")) section.hidden = section.id !== "view-" + target.name;
  for (const a of document.querySelectorAll("#nav a")) a.classList.toggle("active", a.dataset.view === target.name);
  status("");
  try {
    await VIEWS[target.name].show(target.arg, target.params);
  } catch (err) {
    if (err.status === 401) { location.reload(); return; }
    if (seq !== routeSeq) return;
    status(err.status === 403 ? "You do not have access to that." : "Could not load: " + err.message);
  }
}

async function start() {
  let me;
  try {
    me = await api("/api/me");
  } catch (err) {
    if (err.status !== 401) { status("Could not reach the server: " + err.message); $("dash").hidden = false; return; }
    $("login").hidden = false;
    $("login-error").hidden = !new URLSearchParams(location.search).has("login");
    $("token").focus();
    return;
  }
  VW.me = me;
  $("scope").textContent = "Signed in: " + me.scope + (me.label ? " (" + me.label + ")" : "");
  $("logout").hidden = false;
  $("nav").hidden = false;
  $("dash").hidden = false;
  if (location.search) history.replaceState(null, "", "/" + location.hash);
  if (me.admin) api("/api/health").then(renderHealth).catch((err) => status("Could not load crawl health: " + err.message));
  const { locations } = await api("/api/locations");
  VW.locations = locations;
  if (!locations.length) { status("This token sees no locations."); return; }
  const many = locations.length > 1 && VIEWS.portfolio && VIEWS.portfolio.available;
  $("nav-portfolio").hidden = !many;
  VW.defaultView = many ? "portfolio" : "location";
  window.addEventListener("hashchange", route);
  await route();
}

const VW = { api, post, el, svg, clear, fmt, pct, signed, safeHref, status, view, go, href, aspectName, start,
  ApiError, me: null, locations: [], defaultView: "location" };
window.VW = VW;

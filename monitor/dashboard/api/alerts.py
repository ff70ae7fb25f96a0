"""Dashboard API: the alerts in scope, one incident page, and the writes that close the loop.

``GET /api/alerts`` lists the incidents this token sees (``monitor.incidents.visible``: the
one scope rule), newest activity first, with each one's assignee, and the scope's and each
location's times to acknowledge / resolve (``monitor.alert_metrics``). ``GET
/api/alerts/<id>`` is the incident page: the alert, the mentions it quotes, its work item
and its history. The writes (``acknowledge``, ``resolve``, ``assign``, ``notes``) are
checked exactly like the reads (403 and nothing written for an alert outside the scope),
move the state only forward (409 with the reason), and are recorded with ``req.actor``.
"""

from __future__ import annotations

from datetime import datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

from config.model import ALERT_KINDS, ALERT_SEVERITIES
from crawlers.store.alerts import STATES, Alert, AlertStoreError, moves_to
from crawlers.store.workflow import MAX_ASSIGNEE_CHARS, MAX_NOTE_CHARS, WorkflowError
from monitor import incidents
from monitor.alert_metrics import clocks, response_times
from monitor.dashboard.api.location import iso
from monitor.dashboard.routes import HTTPError, Request, route
from monitor.metrics import parse_window

MAX_ALERTS = 500
SCAN = 5000
"""At most this many alerts of the window are read per list (newest activity first), then
scoped and filtered: incidents are few (one per watch and cooldown), not mentions."""
OPEN = "open"
"""The ``state`` filter for every alert not yet resolved."""


# -- reading ---------------------------------------------------------------------------
def _since(req: Request, default: str) -> tuple[str, datetime | None]:
    window = req.param("window", default)
    if window == "all":
        return window, None
    return window, req.now - parse_window(req.window(default))


def _choice(req: Request, name: str, choices: tuple[str, ...]) -> str | None:
    value = req.param(name) or None
    if value is not None and value not in choices:
        raise HTTPError(HTTPStatus.BAD_REQUEST, f"bad {name} {value!r}: use {', '.join(choices)}")
    return value


def _get(req: Request, alert_id: str) -> Alert:
    """The alert if this token sees it: 404 unknown, 403 outside the scope (before any write)."""
    alert = req.dashboard.store.alerts.get(alert_id)
    if alert is None:
        raise HTTPError(HTTPStatus.NOT_FOUND, f"no alert with id {alert_id!r}")
    if not incidents.visible(alert, req.scope, req.dashboard.config):
        raise HTTPError(HTTPStatus.FORBIDDEN, f"alert {alert_id!r} is outside this token's scope")
    return alert


def _where(req: Request, a: Alert) -> dict[str, Any]:
    config = req.dashboard.config
    loc = config.locations.get(a.location_id or "")
    brand = config.brands.get(a.brand or "")
    return {"location_id": a.location_id, "location_name": loc.name if loc else None, "brand": a.brand,
            "brand_name": brand.name if brand else a.brand, "region": a.region, "aspect": a.aspect}


def _row(req: Request, a: Alert, assignee: str | None) -> dict[str, Any]:
    return {"id": a.id, "kind": a.kind, "severity": a.severity, "state": a.state, "title": a.title,
            **_where(req, a), "first_seen": iso(a.first_seen), "last_seen": iso(a.last_seen),
            "version": a.version, "assignee": assignee}


def _link(url: Any) -> str | None:
    text = str(url or "")
    return text if urlsplit(text).scheme in ("http", "https") else None


def _moves(a: Alert) -> dict[str, bool]:
    out = {}
    for state, action in incidents.ACTIONS.items():
        try:
            out[action] = moves_to(a, state)
        except AlertStoreError:
            out[action] = False
    return out


@route("GET", r"/api/alerts")
def list_alerts(req: Request) -> dict[str, Any]:
    """Alerts in scope, newest activity first. Filters: ``state`` (one of the states or
    ``open``), ``kind``, ``severity``, ``location``, ``window`` (by last activity; ``all``),
    ``limit``. ``times``: the response times of the alerts first raised in the window that
    match the kind, severity and location filters (the state filter would bias them)."""
    config, store = req.dashboard.config, req.dashboard.store
    window, since = _since(req, "90d")
    state = _choice(req, "state", (*STATES, OPEN))
    kind = _choice(req, "kind", ALERT_KINDS)
    severity = _choice(req, "severity", ALERT_SEVERITIES)
    lid = req.param("location") or None
    if lid is not None:
        req.check_location(lid)
    limit = req.whole("limit", 100, 1, MAX_ALERTS)
    rows = [a for a in store.alerts.list(since=since, limit=SCAN)
            if incidents.visible(a, req.scope, config)
            and (kind is None or a.kind == kind) and (severity is None or a.severity == severity)
            and (lid is None or incidents.alert_locations(a, config) == {lid})]
    events = incidents.state_events(store, [a.id for a in rows])
    scope_times, per_loc = response_times(rows, events, now=req.now, since=since or min(
        (a.first_seen for a in rows), default=req.now))
    shown = [a for a in rows if state is None or a.state == state or (state == OPEN and a.state != "resolved")]
    items = store.workflow.get_many("alert", [a.id for a in shown[:limit]])
    return {
        "window": window, "total": len(shown),
        "alerts": [_row(req, a, items[a.id].assignee if a.id in items else None) for a in shown[:limit]],
        "times": {"scope": scope_times.to_dict(),
                  "locations": [{"location_id": k, "location_name": config.locations[k].name, **v.to_dict()}
                                for k, v in per_loc.items() if k in config.locations]},
        "choices": {"state": [*STATES, OPEN], "kind": list(ALERT_KINDS), "severity": list(ALERT_SEVERITIES)},
    }


def incident(req: Request, a: Alert) -> dict[str, Any]:
    """The incident page's data: the alert, what it quotes, who works on it, what happened."""
    store = req.dashboard.store
    item = incidents.work_item(store, a)
    history = incidents.history(store, a.id)
    clock = clocks([a], [e for e in history if e.action in incidents.ACTIONS.values()])[a.id]
    return {
        **_row(req, a, item.assignee), "summary": a.summary, "details": a.details,
        "mentions": [{"text": m.get("text") or "", "url": _link(m.get("url")), "published_at": m.get("published_at"),
                      "source_id": m.get("source_id"), "engagement": m.get("engagement"), "why": m.get("why")}
                     for m in a.mentions],
        "work": {"assignee": item.assignee, "updated_at": iso(item.updated_at), "updated_by": item.updated_by},
        "history": [{"at": iso(e.at), "actor": e.actor, "action": e.action, "detail": e.detail} for e in history],
        "moves": _moves(a),
        "times": {"tta_hours": clock.tta_hours, "ttr_hours": clock.ttr_hours, "auto_resolved": clock.auto_resolved},
        "limits": {"note": MAX_NOTE_CHARS, "assignee": MAX_ASSIGNEE_CHARS},
    }


@route("GET", r"/api/alerts/([^/]+)")
def get_alert(req: Request) -> dict[str, Any]:
    (alert_id,) = req.params
    return incident(req, _get(req, alert_id))


# -- writes ----------------------------------------------------------------------------
def _move(req: Request, state: str) -> dict[str, Any]:
    (alert_id,) = req.params
    alert = _get(req, alert_id)
    store = req.dashboard.store
    try:
        incidents.check_move(alert, state)
        alert, _ = incidents.set_state(store, alert_id, state, actor=req.actor, now=req.now)
    except AlertStoreError as exc:
        raise HTTPError(HTTPStatus.CONFLICT, str(exc)) from None
    return incident(req, alert)


@route("POST", r"/api/alerts/([^/]+)/acknowledge")
def acknowledge(req: Request) -> dict[str, Any]:
    return _move(req, "acknowledged")


@route("POST", r"/api/alerts/([^/]+)/resolve")
def resolve(req: Request) -> dict[str, Any]:
    return _move(req, "resolved")


@route("POST", r"/api/alerts/([^/]+)/assign")
def assign(req: Request) -> dict[str, Any]:
    """``{"assignee": "Front office"}`` or ``{"unassign": true}``."""
    (alert_id,) = req.params
    alert = _get(req, alert_id)
    unassign = req.body.get("unassign", False)
    if not isinstance(unassign, bool):
        raise HTTPError(HTTPStatus.BAD_REQUEST, "'unassign' must be true or false")
    assignee = None if unassign else req.field("assignee", max_chars=MAX_ASSIGNEE_CHARS)
    if unassign and req.body.get("assignee") is not None:
        raise HTTPError(HTTPStatus.BAD_REQUEST, "give an assignee or unassign, not both")
    try:
        incidents.assign(req.dashboard.store, alert, actor=req.actor, now=req.now, assignee=assignee,
                         unassign=unassign)
    except WorkflowError as exc:
        raise HTTPError(HTTPStatus.BAD_REQUEST, str(exc)) from None
    return incident(req, alert)


@route("POST", r"/api/alerts/([^/]+)/notes")
def add_note(req: Request) -> dict[str, Any]:
    """``{"text": "..."}``: a note on the incident's history (shown as text)."""
    (alert_id,) = req.params
    alert = _get(req, alert_id)
    text = req.field("text", max_chars=MAX_NOTE_CHARS) or ""
    try:
        incidents.note(req.dashboard.store, alert, actor=req.actor, now=req.now, text=text)
    except WorkflowError as exc:
        raise HTTPError(HTTPStatus.BAD_REQUEST, str(exc)) from None
    return incident(req, alert)

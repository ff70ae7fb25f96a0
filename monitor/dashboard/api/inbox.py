"""Dashboard API: the review inbox (every mention of the own locations in scope, with its
work item) and the writes that work it: assign, set a status, add a note.

Every read and every write goes through :meth:`Request.mention_query` or
:func:`_scoped_mention`, so a store manager can neither list nor touch another location's
review, and a competitor's review is in nobody's inbox. Writes are recorded with
``req.actor`` in the store's append-only audit log (``store.workflow``).
"""

from __future__ import annotations

import threading
from dataclasses import replace
from http import HTTPStatus
from typing import Any

from crawlers.items import Mention
from crawlers.store.base import MentionQuery
from crawlers.store.workflow import (
    MAX_NOTE_CHARS,
    WORK_STATUSES,
    WorkEvent,
    WorkflowError,
    WorkItem,
    apply_change,
    note_event,
)
from monitor.dashboard.api.location import iso, mention_json
from monitor.dashboard.routes import HTTPError, Request, route
from monitor.metrics import parse_window
from monitor.workflow_metrics import location_workflow

KIND = "mention"
MAX_EVENTS = 200
_WRITE_LOCK = threading.Lock()
"""One read-change-write of a work item at a time (the server is threaded): two people
assigning the same review at once must not both start from the old state."""


def work_json(item: WorkItem | None) -> dict[str, Any]:
    """A mention's work item as the page shows it (``new`` when there is none)."""
    if item is None:
        return {"status": "new", "assignee": None, "updated_at": None, "updated_by": None,
                "answered_at": None, "resolved_at": None}
    return {"status": item.status, "assignee": item.assignee, "updated_at": iso(item.updated_at),
            "updated_by": item.updated_by, "answered_at": iso(item.answered_at), "resolved_at": iso(item.resolved_at)}


def event_json(e: WorkEvent) -> dict[str, Any]:
    return {"id": e.id, "at": iso(e.at), "actor": e.actor, "action": e.action, "detail": e.detail}


def row_json(m: Mention, item: WorkItem | None) -> dict[str, Any]:
    """One inbox row: the mention, its work item, and both facts behind "answered"."""
    work = work_json(item)
    return {**mention_json(m), "work": work,
            "answered": {"on_site": bool(m.reply_text), "by_status": work["status"] in ("answered", "resolved")}}


def _statuses(req: Request) -> tuple[str, ...] | None:
    wanted = req.params_list("status")
    bad = [s for s in wanted if s not in WORK_STATUSES]
    if bad:
        raise HTTPError(HTTPStatus.BAD_REQUEST, f"bad status {bad[0]!r}: use {', '.join(WORK_STATUSES)}")
    return tuple(dict.fromkeys(wanted)) or None


def _with_workflow(q: MentionQuery, items: list[WorkItem], statuses: tuple[str, ...] | None,
                   assignee: str | None, unassigned: bool) -> MentionQuery:
    """``q`` narrowed to the mentions whose work item passes the status/assignee filters.

    A mention without a work item is ``new`` and nobody's, so: when ``new`` is wanted (or no
    status filter) and no assignee is asked for, the query keeps every mention except the
    items that fail; otherwise only the items that pass."""

    def passes(i: WorkItem) -> bool:
        return ((statuses is None or i.status in statuses) and (assignee is None or i.assignee == assignee)
                and (not unassigned or i.assignee is None))

    if statuses is None and assignee is None and not unassigned:
        return q
    if assignee is None and (statuses is None or "new" in statuses):
        failing = tuple(i.item_id for i in items if not passes(i))
        return replace(q, exclude_fingerprints=failing or None)
    return replace(q, fingerprints=tuple(i.item_id for i in items if passes(i)))


def _workflow_filters(req: Request) -> tuple[tuple[str, ...] | None, str | None, bool]:
    """``status`` (repeatable), ``assignee`` (spaces folded as assignments store them) and
    ``unassigned=yes`` of the query string."""
    unassigned = req.param("unassigned")
    if unassigned not in ("", "yes", "no"):
        raise HTTPError(HTTPStatus.BAD_REQUEST, f"bad unassigned {unassigned!r}: use yes or no")
    return _statuses(req), " ".join(req.param("assignee").split()) or None, unassigned == "yes"


def inbox_query(req: Request, *, limit: int = 50) -> MentionQuery:
    """The whole query of the inbox's filters (scope, mention filters, status, assignee):
    what ``GET /api/export/mentions`` should read too, so a download holds what the page lists."""
    base = req.mention_query(limit=limit)
    items = req.dashboard.store.workflow.list(KIND, location_ids=base.location_ids)
    return _with_workflow(base, items, *_workflow_filters(req))


@route("GET", r"/api/inbox")
def inbox(req: Request) -> dict[str, Any]:
    """One page of the inbox (newest first), its total, counts by status for the same
    filters, the assignees already used in scope, and what the filters can offer."""
    base = req.mention_query(limit=50)
    statuses, assignee, unassigned = _workflow_filters(req)
    store = req.dashboard.store
    items = store.workflow.list(KIND, location_ids=base.location_ids)
    q = _with_workflow(base, items, statuses, assignee, unassigned)
    page = store.query_mentions(q)
    work = store.workflow.get_many(KIND, [m.fingerprint for m in page])
    by_status = {s: store.count_matching(_with_workflow(base, items, (s,), assignee, unassigned))
                 for s in WORK_STATUSES}
    return {
        "total": store.count_matching(q), "limit": q.limit, "offset": q.offset,
        "counts": by_status,
        "mentions": [row_json(m, work.get(m.fingerprint)) for m in page],
        "assignees": sorted({i.assignee for i in items if i.assignee}, key=str.casefold),
        "facets": _facets(req, base),
    }


def _facets(req: Request, q: MentionQuery) -> dict[str, list[dict[str, Any]]]:
    """Sources, sites and languages with mentions in the scope and window (for the filter
    bar), with their counts: one rollup over the whole window."""
    from crawlers.store.base import WHOLE_RANGE

    counts: dict[str, dict[str, int]] = {"source": {}, "site": {}, "language": {}}
    if q.location_ids:
        for row in req.dashboard.store.rollup(bucket=WHOLE_RANGE, group_by=("source_id", "site", "language"),
                                              since=q.since, until=q.until, location_ids=q.location_ids):
            for name, value in zip(("source", "site", "language"), row.keys, strict=True):
                key = value or ""
                counts[name][key] = counts[name].get(key, 0) + row.mentions
    return {name: [{"value": k, "mentions": n} for k, n in sorted(c.items(), key=lambda kv: (-kv[1], kv[0])) if k]
            for name, c in counts.items()}


def _scoped_mention(req: Request) -> Mention:
    """The mention in the path if this token may see it: 404 unknown, 403 outside the scope
    (a competitor's review is in no inbox, not even an administrator's)."""
    (fingerprint,) = req.params
    m = req.dashboard.store.get_mention(fingerprint)
    if m is None:
        raise HTTPError(HTTPStatus.NOT_FOUND, "no such mention")
    if m.location_id not in req.allowed:
        raise HTTPError(HTTPStatus.FORBIDDEN, "this mention's location is outside this token's scope")
    return m


def _detail(req: Request, m: Mention) -> dict[str, Any]:
    wf = req.dashboard.store.workflow
    events = wf.events(kind=KIND, item_id=m.fingerprint, limit=MAX_EVENTS)
    return {**row_json(m, wf.get(KIND, m.fingerprint)), "events": [event_json(e) for e in events]}


@route("GET", r"/api/mentions/([^/]+)")
def mention(req: Request) -> dict[str, Any]:
    """One mention, its work item and its event log, newest event first."""
    return _detail(req, _scoped_mention(req))


@route("POST", r"/api/mentions/([^/]+)/work")
def mention_work(req: Request) -> dict[str, Any]:
    """Change a mention's status and/or assignee: ``{status?, assignee?, unassign?}``."""
    m = _scoped_mention(req)
    unknown = sorted(set(req.body) - {"status", "assignee", "unassign"})
    if unknown:
        raise HTTPError(HTTPStatus.BAD_REQUEST, f"unknown field {unknown[0]!r}: send status, assignee or unassign")
    status, assignee, unassign = req.body.get("status"), req.body.get("assignee"), req.body.get("unassign", False)
    if status is not None and status not in WORK_STATUSES:
        raise HTTPError(HTTPStatus.BAD_REQUEST, f"bad status {status!r}: use {', '.join(WORK_STATUSES)}")
    if assignee is not None and not isinstance(assignee, str):
        raise HTTPError(HTTPStatus.BAD_REQUEST, "'assignee' must be text")
    if not isinstance(unassign, bool) or (unassign and assignee is not None):
        raise HTTPError(HTTPStatus.BAD_REQUEST, "'unassign' is true or false, and not sent with an assignee")
    if status is None and assignee is None and not unassign:
        raise HTTPError(HTTPStatus.BAD_REQUEST, "nothing to change: send status, assignee or unassign")
    wf = req.dashboard.store.workflow
    with _WRITE_LOCK:
        item = wf.get(KIND, m.fingerprint) or WorkItem(kind=KIND, item_id=m.fingerprint, location_id=m.location_id)
        try:
            new, events = apply_change(item, now=req.now, actor=req.actor, status=status, assignee=assignee,
                                       unassign=unassign)
        except WorkflowError as exc:
            raise HTTPError(HTTPStatus.BAD_REQUEST, str(exc)) from None
        if events:
            wf.save(new, events)
    return _detail(req, m)


@route("POST", r"/api/mentions/([^/]+)/notes")
def mention_note(req: Request) -> dict[str, Any]:
    """Add a note to a mention's log: ``{text}`` (shown as text, never as markup)."""
    m = _scoped_mention(req)
    text = req.field("text", max_chars=MAX_NOTE_CHARS)
    wf = req.dashboard.store.workflow
    item = wf.get(KIND, m.fingerprint) or WorkItem(kind=KIND, item_id=m.fingerprint, location_id=m.location_id)
    try:
        event = note_event(item, now=req.now, actor=req.actor, text=text or "")
    except WorkflowError as exc:
        raise HTTPError(HTTPStatus.BAD_REQUEST, str(exc)) from None
    wf.record(event)
    return _detail(req, m)


@route("GET", r"/api/workflow")
def workflow(req: Request) -> dict[str, Any]:
    """Time to answer and to resolve per own location in scope over the window (see
    :mod:`monitor.workflow_metrics` for the definitions)."""
    lids = req.params_list("location")
    for lid in lids:
        req.check_location(lid)
    locations = lids or list(req.allowed)
    window = req.param("window", "90d")
    since = None if window == "all" else req.now - parse_window(req.window("90d"))
    store = req.dashboard.store
    items = {i.item_id: i for i in store.workflow.list(KIND, location_ids=locations)}
    mentions = store.iter_mentions(location_ids=locations, since=since, until=req.now) if locations else iter(())
    per, total = location_workflow(mentions, items, locations=locations, since=since, now=req.now)
    names = req.allowed
    return {"window": window, "since": iso(since), "until": iso(req.now),
            "locations": [{"location_id": lid, "name": names[lid].name, **per[lid].to_dict(req.now)} for lid in locations],
            "total": total.to_dict(req.now)}
